//! Replacing the secrets of a transcript by placeholders.

use super::matching::placeholder;
use super::wire::{Asked, Given, Payload, Transcript};
use serde_json::Value;
use std::collections::BTreeMap;

/// The secrets found, in order of first appearance, each with its kind.
#[derive(Default)]
struct Secrets {
    order: Vec<(String, String)>,
    known: BTreeMap<String, usize>,
}

impl Secrets {
    fn add(&mut self, kind: &str, value: &str) {
        if value.is_empty() || super::matching::is_placeholder(value) {
            return;
        }
        if !self.known.contains_key(value) {
            self.known.insert(value.to_owned(), self.order.len());
            self.order.push((kind.to_owned(), value.to_owned()));
        }
    }

    fn form(&mut self, text: &str, names: &[(&str, &str)]) {
        for (key, value) in url::form_urlencoded::parse(text.as_bytes()) {
            if let Some((_, kind)) = names.iter().find(|(name, _)| *name == key) {
                self.add(kind, &value);
            }
        }
    }

    fn url(&mut self, url: &str) {
        if let Some((_, query)) = url.split_once('?') {
            self.form(query, URL_PARAMETERS);
        }
    }

    fn json(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("access_token", Value::String(s)) => self.add("access-token", s),
                        ("refresh_token", Value::String(s)) => self.add("refresh-token", s),
                        ("id_token", Value::String(jwt)) => {
                            if let Some((_, signature)) = jwt.rsplit_once('.') {
                                self.add("id-token-signature", signature);
                            }
                        }
                        _ => self.json(value),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.json(v)),
            _ => {}
        }
    }

    fn header(&mut self, value: &str) {
        if let Some(token) = value.strip_prefix("Bearer ") {
            self.add("access-token", token);
        } else if let Some(credentials) = value.strip_prefix("Basic ") {
            self.add("client-credentials", credentials);
        } else {
            self.add("authorization", value);
        }
    }
}

/// Form fields and query parameters that hold secrets, with their kinds.
const FORM_FIELDS: &[(&str, &str)] = &[
    ("code", "code"),
    ("code_verifier", "code-verifier"),
    ("refresh_token", "refresh-token"),
    ("client_secret", "client-secret"),
    ("token", "token"),
];
const URL_PARAMETERS: &[(&str, &str)] = &[
    ("state", "state"),
    ("code_challenge", "code-challenge"),
    ("code", "code"),
];

fn payload(secrets: &mut Secrets, body: Option<&Payload>) {
    match body {
        Some(Payload::Json(json)) => secrets.json(json),
        Some(Payload::Text(text)) => secrets.form(text, FORM_FIELDS),
        _ => {}
    }
}

fn collect(transcript: &Transcript) -> Secrets {
    let mut secrets = Secrets::default();
    for exchange in transcript.operations.iter().flat_map(|o| &o.exchanges) {
        match &exchange.asked {
            Asked::Send {
                url, headers, body, ..
            } => {
                if let Some(value) = headers.get("authorization") {
                    secrets.header(value);
                }
                secrets.url(url);
                payload(&mut secrets, body.as_ref());
            }
            Asked::Store { tokens } | Asked::StoreFenced { tokens, .. } => {
                tokens.iter().for_each(|t| secrets.json(t));
            }
            Asked::Authorize { url, state } => {
                secrets.url(url);
                secrets.add("state", state);
            }
            Asked::Done { ok: Some(ok), .. } => {
                if let Some(Value::String(header)) = ok.get("authorization") {
                    secrets.header(header);
                }
            }
            _ => {}
        }
        match &exchange.given {
            Some(Given::Response { body, .. }) => payload(&mut secrets, body.as_ref()),
            Some(Given::Loaded { tokens } | Given::LoadedPartly { tokens, .. }) => {
                tokens.iter().for_each(|t| secrets.json(t));
            }
            Some(Given::Redirect { query, .. }) => secrets.form(query, URL_PARAMETERS),
            Some(Given::LoginPrepared { random, .. }) => secrets.add("random", random),
            _ => {}
        }
    }
    secrets
}

/// Every string of a JSON value, each secret (and its URL-encoded form) replaced.
fn replace(value: &mut Value, replacements: &[(String, String)]) {
    match value {
        Value::String(s) => {
            for (secret, placeholder) in replacements {
                if s.contains(secret.as_str()) {
                    *s = super::matching::replace_outside_placeholders(s, secret, placeholder);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| replace(v, replacements)),
        // The tags that name steps and inputs are not data.
        Value::Object(map) => map
            .iter_mut()
            .filter(|(key, v)| {
                !(v.is_string() && matches!(key.as_str(), "step" | "given" | "kind"))
            })
            .for_each(|(_, v)| replace(v, replacements)),
        _ => {}
    }
}

impl Transcript {
    /// A copy with every secret replaced by a placeholder: access and refresh tokens
    /// (in bodies, headers, stored and loaded tokens and outputs), authorization
    /// codes, PKCE verifiers and challenges, `state`s, client credentials (HTTP Basic
    /// or a `client_secret` field), revoked tokens, id_token signatures (their claims
    /// stay: the core reads them) and the login's random bytes. The same secret gets
    /// the same placeholder wherever it appears, URL-encoded or not; each kind is
    /// numbered in order of appearance (`__access-token-1__`, `__access-token-2__`).
    ///
    /// Secrets are found where the protocol puts them, then replaced by value
    /// everywhere; a secret of yours elsewhere (in an error message of your
    /// storage, say) needs [`redact_values`](Self::redact_values).
    pub fn redacted(&self) -> Transcript {
        let secrets = collect(self);
        let mut counters: BTreeMap<&str, usize> = BTreeMap::new();
        let pairs: Vec<(String, String)> = secrets
            .order
            .iter()
            .map(|(kind, value)| {
                let n = counters.entry(kind.as_str()).or_insert(0);
                *n += 1;
                (value.clone(), placeholder(kind, *n))
            })
            .collect();
        self.with_replacements(pairs)
    }

    /// A copy with each of `values` replaced by a placeholder of its kind
    /// (`("access-token", "…")` → `__access-token-N__`, numbered after those the
    /// transcript already has). Kinds are lower-case words joined by dashes.
    pub fn redact_values<'a>(
        &self,
        values: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Transcript {
        let text = self.to_json();
        let mut counters: BTreeMap<String, usize> = BTreeMap::new();
        let mut pairs = Vec::new();
        for (kind, value) in values {
            if value.is_empty() || pairs.iter().any(|(v, _)| v == value) {
                continue;
            }
            let n = counters.entry(kind.to_owned()).or_insert_with(|| {
                (1..)
                    .find(|n| !text.contains(&placeholder(kind, *n)))
                    .unwrap_or(1)
                    - 1
            });
            *n += 1;
            pairs.push((value.to_owned(), placeholder(kind, *n)));
        }
        self.with_replacements(pairs)
    }

    fn with_replacements(&self, mut pairs: Vec<(String, String)>) -> Transcript {
        // Encoded forms too (a token in a form body or a query).
        let encoded: Vec<(String, String)> = pairs
            .iter()
            .filter_map(|(value, placeholder)| {
                let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
                (form != *value).then(|| (form, placeholder.clone()))
            })
            .collect();
        pairs.extend(encoded);
        // Longest first, so that a secret inside another is not replaced first.
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        let mut value = serde_json::to_value(self).unwrap_or_default();
        replace(&mut value, &pairs);
        // Only data strings changed, so the shape still reads; were it not to, an
        // empty transcript is safer to commit than the original.
        serde_json::from_value(value).unwrap_or_default()
    }
}
