//! Property tests of scope parsing: no input panics the parser, and generated
//! scope trees survive display -> parse -> display, equal to an independent
//! model of Globus Auth's merging.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use std::collections::BTreeMap;

use globus_app_core::scopes::{self, Scope, ScopeParseError};
use proptest::prelude::*;

// ---------------------------------------------------------------- invariants

/// Checks what must hold for any input: errors point inside the input at the
/// text they quote; successes are merged and re-parse to themselves.
fn check_any_input(input: &str) -> Result<(), TestCaseError> {
    match scopes::parse(input) {
        Err(err) => check_error(input, &err)?,
        Ok(parsed) => {
            check_merged(&parsed)?;
            let shown = scopes::serialize(&parsed);
            let again = scopes::parse(&shown);
            prop_assert_eq!(again.as_ref(), Ok(&parsed), "input {:?}", input);
            prop_assert_eq!(again.map(scopes::serialize), Ok(shown));
        }
    }
    // the one-scope entry point never panics either, and agrees with `parse`
    match input.parse::<Scope>() {
        Ok(one) => prop_assert_eq!(scopes::parse(input), Ok(vec![one])),
        Err(err) => check_error(input, &err)?,
    }
    Ok(())
}

fn check_error(input: &str, err: &ScopeParseError) -> Result<(), TestCaseError> {
    let position = err.position();
    prop_assert!(input.is_char_boundary(position), "{err} in {input:?}");
    let found = err.found().strip_suffix('…').unwrap_or(err.found());
    prop_assert!(
        input[position..].starts_with(found),
        "{} does not quote {:?} at {}",
        err,
        input,
        position
    );
    let at_byte = format!("at byte {position}");
    prop_assert!(err.to_string().contains(&at_byte));
    Ok(())
}

/// The parse result is merged: no scope lists the same dependency twice, and
/// every occurrence of a name has the same dependencies.
fn check_merged(parsed: &[Scope]) -> Result<(), TestCaseError> {
    fn walk<'a>(
        scope: &'a Scope,
        seen: &mut BTreeMap<&'a str, String>,
    ) -> Result<(), TestCaseError> {
        let deps = scopes::serialize(scope.dependencies());
        let first = seen.entry(scope.name()).or_insert_with(|| deps.clone());
        prop_assert_eq!(&*first, &deps, "two different nodes named {}", scope.name());
        let mut names: Vec<&str> = scope.dependencies().iter().map(Scope::name).collect();
        names.sort_unstable();
        names.dedup();
        prop_assert_eq!(names.len(), scope.dependencies().len());
        scope
            .dependencies()
            .iter()
            .try_for_each(|dep| walk(dep, seen))
    }
    let mut seen = BTreeMap::new();
    let mut roots: Vec<&str> = parsed.iter().map(Scope::name).collect();
    roots.sort_unstable();
    roots.dedup();
    prop_assert_eq!(roots.len(), parsed.len(), "duplicate top-level scopes");
    parsed.iter().try_for_each(|scope| walk(scope, &mut seen))
}

// ---------------------------------------------------------------- model

/// Globus Auth's merge, written directly over trees: one node per name whose
/// dependencies are the union (in order of first appearance) of its
/// dependencies everywhere; an edge or top-level scope is required if any of
/// its occurrences is.
fn model_merge(roots: &[Scope]) -> Vec<Scope> {
    type Edges = Vec<(String, bool)>;
    fn add(list: &mut Edges, name: &str, optional: bool) {
        match list.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 &= optional,
            None => list.push((name.to_owned(), optional)),
        }
    }
    fn record(scope: &Scope, edges: &mut BTreeMap<String, Edges>) {
        for dep in scope.dependencies() {
            add(
                edges.entry(scope.name().to_owned()).or_default(),
                dep.name(),
                dep.is_optional(),
            );
            record(dep, edges);
        }
    }
    fn build(name: &str, optional: bool, edges: &BTreeMap<String, Edges>) -> Scope {
        let deps = edges.get(name).into_iter().flatten();
        Scope::new(name)
            .expect("generated names are valid")
            .optional(optional)
            .with_dependencies(deps.map(|(dep, opt)| build(dep, *opt, edges)))
    }

    let mut top = Edges::new();
    let mut edges = BTreeMap::new();
    for root in roots {
        add(&mut top, root.name(), root.is_optional());
        record(root, &mut edges);
    }
    top.iter()
        .map(|(name, optional)| build(name, *optional, &edges))
        .collect()
}

// ---------------------------------------------------------------- strategies

/// A scope at `level` whose name comes from a pool of three names for that
/// level, so trees repeat names (and need merging) but stay acyclic.
fn leveled_scope(level: usize, max_levels: usize) -> BoxedStrategy<Scope> {
    let name = prop_oneof![
        Just(format!("urn:globus:auth:scope:l{level}:all")),
        Just(format!("https://auth.globus.org/scopes/l{level}/x")),
        Just(format!("\u{e9}{level}")),
    ];
    let deps = if level + 1 < max_levels {
        prop::collection::vec(leveled_scope(level + 1, max_levels), 0..3).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (name, any::<bool>(), deps)
        .prop_map(|(name, optional, deps)| {
            Scope::new(name)
                .expect("a valid name")
                .optional(optional)
                .with_dependencies(deps)
        })
        .boxed()
}

fn leveled_forest() -> impl Strategy<Value = Vec<Scope>> {
    prop::collection::vec(leveled_scope(0, 4), 0..4)
}

/// A tree with arbitrary valid names, made unique by a counter suffix so that
/// nothing merges.
fn unique_forest() -> impl Strategy<Value = Vec<Scope>> {
    let leaf = ("[^\\s\\[\\]*\\p{Cc}]{1,10}", any::<bool>()).prop_map(|(name, optional)| {
        Scope::new(name)
            .expect("the regex only makes valid names")
            .optional(optional)
    });
    let tree = leaf.prop_recursive(4, 40, 3, |inner| {
        (
            "[^\\s\\[\\]*\\p{Cc}]{1,10}",
            any::<bool>(),
            prop::collection::vec(inner, 1..4),
        )
            .prop_map(|(name, optional, deps)| {
                Scope::new(name)
                    .expect("the regex only makes valid names")
                    .optional(optional)
                    .with_dependencies(deps)
            })
    });
    prop::collection::vec(tree, 0..4).prop_map(|forest| {
        fn rename(scope: &Scope, counter: &mut usize) -> Scope {
            *counter += 1;
            let name = format!("{}~{counter}", scope.name());
            let deps: Vec<Scope> = scope
                .dependencies()
                .iter()
                .map(|dep| rename(dep, counter))
                .collect();
            Scope::new(name)
                .expect("a valid name")
                .optional(scope.is_optional())
                .with_dependencies(deps)
        }
        let mut counter = 0;
        forest.iter().map(|s| rename(s, &mut counter)).collect()
    })
}

/// Strings over the grammar's alphabet, where structure errors and cycles are
/// common.
fn grammar_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a"),
        Just("b"),
        Just("c"),
        Just("urn:x:y"),
        Just("\u{e9}"),
        Just("*"),
        Just("["),
        Just("]"),
        Just(" "),
        Just("\t"),
        Just("\0"),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

// ---------------------------------------------------------------- properties

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        check_any_input(&input)?;
    }

    #[test]
    fn grammar_soup_never_panics(input in grammar_soup()) {
        check_any_input(&input)?;
    }

    #[test]
    fn unique_trees_round_trip_exactly(forest in unique_forest()) {
        let shown = scopes::serialize(&forest);
        let parsed = scopes::parse(&shown);
        prop_assert_eq!(parsed.as_ref(), Ok(&forest));
        prop_assert_eq!(parsed.map(scopes::serialize), Ok(shown));
    }

    #[test]
    fn repeated_names_round_trip_after_merging(forest in leveled_forest()) {
        let shown = scopes::serialize(&forest);
        let parsed = scopes::parse(&shown).expect("leveled trees are acyclic");
        prop_assert_eq!(&parsed, &model_merge(&forest));

        let normal = scopes::serialize(&parsed);
        let again = scopes::parse(&normal).expect("a normal form parses");
        prop_assert_eq!(&again, &parsed);
        prop_assert_eq!(scopes::serialize(&again), normal);
        prop_assert_eq!(scopes::merge(&forest), Ok(parsed));
    }

    #[test]
    fn single_scopes_round_trip(forest in unique_forest()) {
        for scope in &forest {
            let parsed = scope.to_string().parse::<Scope>();
            prop_assert_eq!(parsed.as_ref(), Ok(scope));
        }
    }

    #[test]
    fn new_accepts_exactly_valid_names(name in any::<String>()) {
        let valid = !name.is_empty()
            && !name.chars().any(|c| c.is_whitespace() || c.is_control() || "[]*".contains(c));
        prop_assert_eq!(Scope::new(name.as_str()).is_ok(), valid);
        if valid {
            prop_assert_eq!(name.parse::<Scope>().map(|s| s.name().to_owned()), Ok(name));
        }
    }
}
