//! Placeholders (`__kind-N__`) and the matching of a recorded value against what an
//! operation asked: a placeholder matches any non-empty text and is then bound to it.

use serde_json::Value;
use std::collections::BTreeMap;

/// What each placeholder stands for, learnt as the replay goes.
pub(super) type Bindings = BTreeMap<String, String>;

/// Whether `text` is exactly one placeholder.
pub(super) fn is_placeholder(text: &str) -> bool {
    matches!(segments(text).as_slice(), [Segment::Placeholder(_)])
}

/// A placeholder's name is lower-case letters, digits and dashes, with a dash
/// before a trailing number: `__access-token-1__`.
fn is_name(name: &str) -> bool {
    let Some((kind, number)) = name.rsplit_once('-') else {
        return false;
    };
    !kind.is_empty()
        && kind.starts_with(|c: char| c.is_ascii_lowercase())
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

/// The placeholder for the `n`th secret of a kind.
pub(super) fn placeholder(kind: &str, n: usize) -> String {
    format!("__{kind}-{n}__")
}

#[derive(Debug, PartialEq)]
enum Segment<'a> {
    Literal(&'a str),
    Placeholder(&'a str),
}

fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut literal_start = 0;
    let mut offset = 0;
    while let Some(open) = rest.find("__") {
        let after = &rest[open + 2..];
        let found = after
            .find("__")
            .map(|close| &after[..close])
            .filter(|name| is_name(name));
        match found {
            Some(name) => {
                let start = offset + open;
                if start > literal_start {
                    out.push(Segment::Literal(&text[literal_start..start]));
                }
                out.push(Segment::Placeholder(name));
                let consumed = open + 2 + name.len() + 2;
                offset += consumed;
                literal_start = offset;
                rest = &rest[consumed..];
            }
            None => {
                offset += open + 1;
                rest = &rest[open + 1..];
            }
        }
    }
    if literal_start < text.len() {
        out.push(Segment::Literal(&text[literal_start..]));
    }
    out
}

/// Replaces `from` by `to` in the text between placeholders, never inside one (so
/// that redacting a redacted transcript changes nothing).
pub(super) fn replace_outside_placeholders(text: &str, from: &str, to: &str) -> String {
    segments(text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Literal(s) => s.replace(from, to),
            Segment::Placeholder(name) => format!("__{name}__"),
        })
        .collect()
}

/// Replaces every bound placeholder in `text` by its value; unbound ones stay.
pub(super) fn substitute(text: &str, bindings: &Bindings) -> String {
    segments(text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Literal(s) => s.to_owned(),
            Segment::Placeholder(name) => bindings
                .get(name)
                .cloned()
                .unwrap_or_else(|| format!("__{name}__")),
        })
        .collect()
}

/// Substitutes bound placeholders in every string of a JSON value.
pub(super) fn substitute_value(value: &mut Value, bindings: &Bindings) {
    match value {
        Value::String(s) => *s = substitute(s, bindings),
        Value::Array(items) => items.iter_mut().for_each(|v| substitute_value(v, bindings)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute_value(v, bindings)),
        _ => {}
    }
}

/// Matches `actual` against the recorded `pattern`, binding its placeholders. On a
/// mismatch, returns nothing and leaves `bindings` as they were.
fn match_str(pattern: &str, actual: &str, bindings: &mut Bindings) -> bool {
    let segments = segments(pattern);
    let mut trial = bindings.clone();
    if match_segments(&segments, actual, &mut trial) {
        *bindings = trial;
        true
    } else {
        false
    }
}

fn match_segments(segments: &[Segment<'_>], actual: &str, bindings: &mut Bindings) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        return actual.is_empty();
    };
    match first {
        Segment::Literal(literal) => actual
            .strip_prefix(literal)
            .is_some_and(|tail| match_segments(rest, tail, bindings)),
        Segment::Placeholder(name) => {
            if let Some(value) = bindings.get(*name).cloned() {
                return actual
                    .strip_prefix(value.as_str())
                    .is_some_and(|tail| match_segments(rest, tail, bindings));
            }
            // Unbound: try each non-empty prefix, shortest first.
            for (end, _) in actual.char_indices().skip(1).chain([(actual.len(), ' ')]) {
                let mut trial = bindings.clone();
                trial.insert((*name).to_owned(), actual[..end].to_owned());
                if match_segments(rest, &actual[end..], &mut trial) {
                    *bindings = trial;
                    return true;
                }
            }
            false
        }
    }
}

/// Matches a recorded JSON value against the actual one. On a mismatch, the path
/// of the first difference (`body.json.scope`) with both sides.
pub(super) fn match_value(
    pattern: &Value,
    actual: &Value,
    path: &str,
    bindings: &mut Bindings,
) -> Result<(), String> {
    let here = |p: &Value, a: &Value| {
        format!(
            "at {}: the transcript has {p}, the operation has {a}",
            if path.is_empty() { "the top" } else { path }
        )
    };
    match (pattern, actual) {
        (Value::String(p), Value::String(a)) => {
            if match_str(p, a, bindings) {
                Ok(())
            } else {
                Err(here(pattern, actual))
            }
        }
        (Value::Array(p), Value::Array(a)) => {
            if p.len() != a.len() {
                return Err(format!(
                    "{} ({} items against {})",
                    here(pattern, actual),
                    p.len(),
                    a.len()
                ));
            }
            for (i, (p, a)) in p.iter().zip(a).enumerate() {
                match_value(p, a, &format!("{path}[{i}]"), bindings)?;
            }
            Ok(())
        }
        (Value::Object(p), Value::Object(a)) => {
            for key in p.keys().chain(a.keys()) {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (p.get(key), a.get(key)) {
                    (Some(p), Some(a)) => match_value(p, a, &at, bindings)?,
                    (Some(p), None) => {
                        return Err(format!(
                            "at {at}: the transcript has {p}, the operation has nothing"
                        ));
                    }
                    (None, Some(a)) => {
                        return Err(format!(
                            "at {at}: the transcript has nothing, the operation has {a}"
                        ));
                    }
                    (None, None) => {}
                }
            }
            Ok(())
        }
        (p, a) if p == a => Ok(()),
        _ => Err(here(pattern, actual)),
    }
}

/// A line diff of two texts: `-` for the transcript's lines, `+` for the
/// operation's, two spaces for lines both have.
pub(super) fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // Longest common subsequence, by table (transcript steps are small).
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn segments_find_only_well_formed_placeholders() {
        assert_eq!(
            segments("a=__code-1__&b=__init__&c=__x-y-12__"),
            vec![
                Segment::Literal("a="),
                Segment::Placeholder("code-1"),
                Segment::Literal("&b=__init__&c="),
                Segment::Placeholder("x-y-12"),
            ]
        );
        assert!(is_placeholder("__random-1__"));
        assert!(!is_placeholder("__random__"));
        assert!(!is_placeholder("x__random-1__"));
        assert!(!is_placeholder("__-1__"));
    }

    #[test]
    fn a_placeholder_binds_then_stands_for_its_value() {
        let mut b = Bindings::new();
        assert!(match_str(
            "code=__code-1__&state=__state-1__",
            "code=abc&state=xyz",
            &mut b
        ));
        assert_eq!(b["code-1"], "abc");
        assert_eq!(b["state-1"], "xyz");
        assert!(match_str("s=__state-1__", "s=xyz", &mut b));
        assert!(!match_str("s=__state-1__", "s=other", &mut b));
        assert_eq!(
            substitute("q=__state-1__&c=__code-2__", &b),
            "q=xyz&c=__code-2__"
        );
    }

    #[test]
    fn replacing_leaves_placeholders_whole() {
        assert_eq!(
            replace_outside_placeholders("code=__code-1__&x=code", "code", "__c-1__"),
            "__c-1__=__code-1__&x=__c-1__"
        );
    }

    #[test]
    fn a_failed_match_binds_nothing() {
        let mut b = Bindings::new();
        assert!(!match_str("a=__t-1__&b=1", "a=x&b=2", &mut b));
        assert!(b.is_empty());
    }

    #[test]
    fn values_report_the_path_of_the_first_difference() {
        let mut b = Bindings::new();
        let err = match_value(
            &json!({"body": {"json": {"scope": "a", "n": [1, 2]}}}),
            &json!({"body": {"json": {"scope": "a", "n": [1, 3]}}}),
            "",
            &mut b,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "at body.json.n[1]: the transcript has 2, the operation has 3"
        );
        let err = match_value(&json!({"a": 1}), &json!({"a": 1, "b": 2}), "", &mut b).unwrap_err();
        assert_eq!(err, "at b: the transcript has nothing, the operation has 2");
    }

    #[test]
    fn line_diff_marks_both_sides() {
        assert_eq!(line_diff("a\nb\nc", "a\nx\nc"), "  a\n- b\n+ x\n  c\n");
    }
}
