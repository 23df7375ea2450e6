//! Globus Auth Requirements Errors: a service's answer that says which login would
//! let the request succeed.

use crate::oauth::AuthorizationParameters;
use serde_json::{Map, Value};

/// Reads the login requirements out of a Globus service's error body (usually a
/// 403), if it states any.
///
/// Understands the Globus Auth Requirements Error (`{"code": …,
/// "authorization_parameters": {…}}`) and the legacy shapes services still send:
/// Transfer's `ConsentRequired` with `required_scopes`, action providers'
/// `ConsentRequired` with `required_scope`, bare `authorization_parameters`
/// (with comma-separated lists), and Auth's `dependent_consent_required`; at the
/// top level or inside the `errors` array. Returns `None` for anything else,
/// never panics.
///
/// ```
/// use globus_app_core::app::parse_authorization_requirements;
/// let body = br#"{"code": "ConsentRequired", "message": "Missing required data_access consent",
///   "required_scopes": ["urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/C/data_access]"]}"#;
/// let params = parse_authorization_requirements(body).unwrap();
/// assert_eq!(params.required_scopes.len(), 1);
/// assert_eq!(params.session_message.as_deref(), Some("Missing required data_access consent"));
/// assert!(parse_authorization_requirements(b"<html>").is_none());
/// ```
pub fn parse_authorization_requirements(body: &[u8]) -> Option<AuthorizationParameters> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    if let Some(params) = from_document(object) {
        return Some(params);
    }
    object
        .get("errors")?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .find_map(from_document)
}

fn from_document(doc: &Map<String, Value>) -> Option<AuthorizationParameters> {
    let code = doc.get("code").and_then(Value::as_str);
    // The GARE and the legacy authorization-parameters error.
    if let Some(params) = doc
        .get("authorization_parameters")
        .and_then(Value::as_object)
    {
        let mut parsed = authorization_parameters(params)?;
        if parsed.session_message.is_none() && code == Some("ConsentRequired") {
            parsed.session_message = text(doc.get("description"));
        }
        if let Some(scope) = doc.get("required_scope").and_then(Value::as_str) {
            parsed.required_scopes.push(scope.to_owned());
        }
        return Some(parsed);
    }
    if code == Some("ConsentRequired") {
        // Transfer: a list of scopes and a message.
        if let Some(scopes) = string_list(doc.get("required_scopes")) {
            return Some(AuthorizationParameters {
                required_scopes: scopes,
                session_message: text(doc.get("message")),
                ..AuthorizationParameters::default()
            });
        }
        // Action providers: one scope and a description.
        if let Some(scope) = doc.get("required_scope").and_then(Value::as_str) {
            return Some(AuthorizationParameters {
                required_scopes: vec![scope.to_owned()],
                session_message: text(doc.get("description")),
                ..AuthorizationParameters::default()
            });
        }
    }
    if doc.get("error").and_then(Value::as_str) == Some("dependent_consent_required") {
        let first = doc.get("errors")?.as_array()?.first()?.as_object()?;
        return Some(AuthorizationParameters {
            required_scopes: string_list(first.get("unapproved_scopes")).unwrap_or_default(),
            ..AuthorizationParameters::default()
        });
    }
    None
}

fn authorization_parameters(params: &Map<String, Value>) -> Option<AuthorizationParameters> {
    let prompt = text(params.get("prompt"));
    if prompt.as_deref().is_some_and(|p| p != "login") {
        return None;
    }
    let parsed = AuthorizationParameters {
        required_scopes: string_list(params.get("required_scopes")).unwrap_or_default(),
        session_message: text(params.get("session_message")),
        session_required_identities: string_list(params.get("session_required_identities"))
            .unwrap_or_default(),
        session_required_single_domain: string_list(params.get("session_required_single_domain"))
            .unwrap_or_default(),
        session_required_policies: string_list(params.get("session_required_policies"))
            .unwrap_or_default(),
        session_required_mfa: params.get("session_required_mfa").and_then(Value::as_bool),
        prompt,
    };
    // An empty parameters object states no requirement.
    (!parsed.is_empty()).then_some(parsed)
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

/// A list of strings, or one comma-separated string (a legacy form).
fn string_list(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Option<AuthorizationParameters> {
        parse_authorization_requirements(body.as_bytes())
    }

    #[test]
    fn gare_at_top_level_and_in_errors() {
        let gare = r#"{"code": "AuthorizationRequired", "authorization_parameters": {
            "session_message": "Log in with your campus identity",
            "session_required_single_domain": ["uchicago.edu"],
            "session_required_identities": ["id-1"], "session_required_mfa": true,
            "session_required_policies": ["p1"], "prompt": "login",
            "required_scopes": ["urn:globus:auth:scope:transfer.api.globus.org:all"]}}"#;
        let p = parse(gare).unwrap();
        assert_eq!(p.session_required_single_domain, ["uchicago.edu"]);
        assert_eq!(p.session_required_identities, ["id-1"]);
        assert_eq!(p.session_required_policies, ["p1"]);
        assert_eq!(p.session_required_mfa, Some(true));
        assert_eq!(p.prompt.as_deref(), Some("login"));
        assert_eq!(p.required_scopes.len(), 1);
        let nested = format!(r#"{{"errors": [{{"code": "Other"}}, {gare}]}}"#);
        assert_eq!(parse(&nested), Some(p));
    }

    #[test]
    fn legacy_shapes() {
        let comma = r#"{"authorization_parameters": {"session_required_policies": "a,b", "session_message": "m"}}"#;
        assert_eq!(parse(comma).unwrap().session_required_policies, ["a", "b"]);
        let ap = r#"{"code": "ConsentRequired", "required_scope": "s", "description": "d"}"#;
        let p = parse(ap).unwrap();
        assert_eq!(
            (p.required_scopes, p.session_message.as_deref()),
            (vec!["s".to_owned()], Some("d"))
        );
        let auth = r#"{"error": "dependent_consent_required", "errors": [{"unapproved_scopes": ["x", "y"]}]}"#;
        assert_eq!(parse(auth).unwrap().required_scopes, ["x", "y"]);
    }

    #[test]
    fn not_requirements() {
        for body in [
            "",
            "[]",
            "null",
            r#"{"code": "PermissionDenied"}"#,
            r#"{"code": "ConsentRequired"}"#,
            r#"{"authorization_parameters": {}}"#,
            r#"{"authorization_parameters": {"prompt": "none"}}"#,
            r#"{"code": "ConsentRequired", "required_scopes": [1]}"#,
            r#"{"error": "dependent_consent_required", "errors": []}"#,
            r#"{"errors": "x"}"#,
        ] {
            assert_eq!(parse(body), None, "{body}");
        }
    }
}
