//! Conversion between [`TokenData`] and the JSON objects the files hold, with errors
//! that name the field at fault and never show a value.

use globus_app_core::TokenData;
use serde_json::{Map, Value};

/// The fields of the Python `TokenStorageData`, which `TokenData::extra` must not shadow.
const KNOWN_FIELDS: [&str; 7] = TokenData::FIELD_NAMES;

/// What the stored value of one field must be.
enum Kind {
    String,
    OptionalString,
    Integer,
}

const FIELD_KINDS: [(&str, Kind); 7] = [
    ("resource_server", Kind::String),
    ("identity_id", Kind::OptionalString),
    ("scope", Kind::String),
    ("access_token", Kind::String),
    ("refresh_token", Kind::OptionalString),
    ("expires_at_seconds", Kind::Integer),
    ("token_type", Kind::OptionalString),
];

/// Names a token data entry in error messages: `resource server "x" in namespace "y"`.
pub(crate) fn describe_entry(namespace: &str, resource_server: &str) -> String {
    format!("the token data of resource server {resource_server:?} in namespace {namespace:?}")
}

/// Converts a stored JSON value to token data, checking every known field's type as
/// the Python SDK does. The error names the entry and the field, never a value.
pub(crate) fn token_from_value(
    value: Value,
    namespace: &str,
    resource_server: &str,
) -> Result<TokenData, String> {
    read_token_value(value)
        .map_err(|problem| format!("{}: {problem}", describe_entry(namespace, resource_server)))
}

/// [`token_from_value`] without naming the entry: the error says what is wrong
/// (e.g. `field "scope" is missing`), never showing a value.
pub(crate) fn read_token_value(value: Value) -> Result<TokenData, String> {
    let Value::Object(object) = &value else {
        return Err(format!("it is {}, not an object", kind_of(&value)));
    };
    for (field, kind) in &FIELD_KINDS {
        let found = object.get(*field);
        let ok = match kind {
            Kind::String => matches!(found, Some(Value::String(_))),
            Kind::OptionalString => matches!(found, None | Some(Value::Null | Value::String(_))),
            Kind::Integer => found.and_then(Value::as_i64).is_some(),
        };
        if !ok {
            let expected = match kind {
                Kind::String => "a string",
                Kind::OptionalString => "a string or null",
                Kind::Integer => "an integer (seconds since 1970)",
            };
            let problem = match found {
                None => "is missing".to_owned(),
                Some(v) => format!("is {}", kind_of(v)),
            };
            return Err(format!("field {field:?} {problem}, expected {expected}"));
        }
    }
    // The checks above cover every way the conversion can fail; the fallback message
    // still shows no value, as serde's messages may quote one.
    serde_json::from_value(value).map_err(|_| "it cannot be read as token data".to_owned())
}

/// Parses the JSON text of a stored entry (the `token_data_json` column of a SQLite
/// row) into token data. The error names the entry and what is wrong, never a value.
///
/// Kept free of `rusqlite` so that it builds, and is fuzzed, without the `sqlite`
/// feature.
pub(crate) fn token_from_json_text(
    text: &[u8],
    namespace: &str,
    resource_server: &str,
) -> Result<TokenData, String> {
    read_token_json_text(text)
        .map_err(|problem| format!("{}: {problem}", describe_entry(namespace, resource_server)))
}

/// [`token_from_json_text`] without naming the entry.
pub(crate) fn read_token_json_text(text: &[u8]) -> Result<TokenData, String> {
    // serde_json's syntax errors give a position, never the text.
    let value = serde_json::from_slice(text)
        .map_err(|e| format!("token_data_json is not valid JSON ({e})"))?;
    read_token_value(value)
}

/// Converts token data to the JSON object stored in files.
///
/// Absent optional fields are omitted, as the Python SDK does. An `extra` key that
/// would shadow a known field is dropped, so the real field always wins.
pub(crate) fn token_to_value(token: &TokenData) -> Value {
    let shadowed = token
        .extra
        .keys()
        .any(|k| KNOWN_FIELDS.contains(&k.as_str()));
    let mut map = Map::new();
    map.insert(
        "resource_server".into(),
        Value::String(token.resource_server.clone()),
    );
    if let Some(identity_id) = &token.identity_id {
        map.insert("identity_id".into(), Value::String(identity_id.clone()));
    }
    map.insert("scope".into(), Value::String(token.scope.clone()));
    map.insert(
        "access_token".into(),
        Value::String(token.access_token.secret().to_owned()),
    );
    if let Some(refresh_token) = &token.refresh_token {
        map.insert(
            "refresh_token".into(),
            Value::String(refresh_token.secret().to_owned()),
        );
    }
    map.insert(
        "expires_at_seconds".into(),
        Value::from(token.expires_at_seconds),
    );
    if let Some(token_type) = &token.token_type {
        map.insert("token_type".into(), Value::String(token_type.clone()));
    }
    for (key, value) in &token.extra {
        if !shadowed || !KNOWN_FIELDS.contains(&key.as_str()) {
            map.insert(key.clone(), value.clone());
        }
    }
    Value::Object(map)
}

/// Describes the JSON type of a value without showing it.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() => "an integer",
        Value::Number(n) if n.is_u64() => "an integer out of range",
        Value::Number(_) => "a non-integer number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "resource_server": "rs", "identity_id": null, "scope": "s",
            "access_token": "SECRET-AT", "refresh_token": null,
            "expires_at_seconds": 5, "token_type": "Bearer", "other": [1]
        })
    }

    #[test]
    fn reads_and_writes_like_python() {
        let token = token_from_value(sample(), "ns", "rs").expect("valid");
        assert_eq!(token.identity_id, None);
        assert_eq!(token.extra["other"], json!([1]));
        // None fields are omitted, extra fields kept.
        assert_eq!(
            token_to_value(&token),
            json!({"resource_server": "rs", "scope": "s", "access_token": "SECRET-AT",
                   "expires_at_seconds": 5, "token_type": "Bearer", "other": [1]})
        );
    }

    #[test]
    fn wrong_types_name_the_field_not_the_value() {
        let cases = [
            (
                "access_token",
                json!(12),
                "\"access_token\" is an integer, expected a string",
            ),
            ("access_token", Value::Null, "\"access_token\" is null"),
            ("expires_at_seconds", json!("SECRET-X"), "is a string"),
            ("expires_at_seconds", json!(1.5), "is a non-integer number"),
            ("expires_at_seconds", json!(u64::MAX), "out of range"),
            ("refresh_token", json!(["SECRET-RT"]), "is an array"),
            ("identity_id", json!(true), "is a boolean"),
        ];
        for (field, value, expected) in cases {
            let mut v = sample();
            v[field] = value;
            let err = token_from_value(v, "ns", "rs").expect_err(field);
            assert!(err.contains(expected), "{err}");
            assert!(err.contains("namespace \"ns\""), "{err}");
            assert!(!err.contains("SECRET"), "{err}");
        }
        let mut v = sample();
        v.as_object_mut().expect("object").remove("scope");
        let err = token_from_value(v, "ns", "rs").expect_err("missing");
        assert!(err.contains("\"scope\" is missing"), "{err}");
        let err = token_from_value(json!("SECRET-AT"), "ns", "rs").expect_err("string");
        assert!(err.contains("is a string, not an object"), "{err}");
        assert!(!err.contains("SECRET"), "{err}");
    }

    #[test]
    fn extra_cannot_shadow_known_fields() {
        let mut token = token_from_value(sample(), "ns", "rs").expect("valid");
        token.extra.insert("access_token".into(), json!("SHADOW"));
        let value = token_to_value(&token);
        assert_eq!(value["access_token"], "SECRET-AT");
        assert_eq!(value["other"], json!([1]));
    }
}
