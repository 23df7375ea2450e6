//! id_tokens (RS256 JWTs), the JWKs document, and small encodings they share with the
//! rest of the server.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::rsa;
use crate::server::lock;

/// base64url without padding.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signatures already computed, by signing input: RSA in an unoptimized test build
/// takes tens of milliseconds, and tests repeat identical logins.
fn signature_cache() -> &'static Mutex<HashMap<String, String>> {
    static CACHE: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Encodes and signs `claims` as an RS256 JWT.
pub(crate) fn encode(claims: &Value) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": rsa::KEY_ID});
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let cached = lock(signature_cache()).get(&signing_input).cloned();
    let signature = match cached {
        Some(signature) => signature,
        None => {
            let signature = b64url(&rsa::sign(signing_input.as_bytes()));
            let mut cache = lock(signature_cache());
            if cache.len() >= 4096 {
                cache.clear();
            }
            cache.insert(signing_input.clone(), signature.clone());
            signature
        }
    };
    format!("{signing_input}.{signature}")
}

/// The JWKs document: the public half of the signing key.
pub(crate) fn jwks() -> Value {
    json!({
        "keys": [{
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": rsa::KEY_ID,
            "n": b64url(rsa::modulus()),
            "e": b64url(&rsa::PUBLIC_EXPONENT),
        }]
    })
}

/// A UUID-shaped id derived from a name (stable across runs), for scope and
/// resource-server client ids the fake has to invent.
pub(crate) fn stable_uuid(name: &str) -> String {
    let d = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_slice()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50; // version 5-like
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SS.000000+00:00` (the consents API's format).
pub(crate) fn iso8601(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm), for days since 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000000+00:00",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_has_three_parts_and_decodes() {
        let token = encode(&json!({"sub": "x"}));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header["alg"], "RS256");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(claims["sub"], "x");
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).expect("b64").len(), 256);
    }

    #[test]
    fn jwt_signature_verifies_and_is_cached() {
        let claims = json!({"sub": "signed", "iat": 1});
        let token = encode(&claims);
        assert_eq!(token, encode(&claims), "same claims, same (cached) token");
        let (signing_input, signature) = token.rsplit_once('.').expect("three parts");
        let signature = URL_SAFE_NO_PAD.decode(signature).expect("b64");
        let em = rsa::pow_mod_be(&signature, &rsa::PUBLIC_EXPONENT, rsa::modulus());
        assert_eq!(
            &em[em.len() - 32..],
            Sha256::digest(signing_input.as_bytes()).as_slice()
        );
    }

    #[test]
    fn formats_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000+00:00");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00.000000+00:00");
        assert_eq!(iso8601(1_663_780_214), "2022-09-21T17:10:14.000000+00:00");
    }

    #[test]
    fn stable_uuids_look_like_uuids() {
        let id = stable_uuid("transfer.api.globus.org");
        assert_eq!(id.len(), 36);
        assert_eq!(id, stable_uuid("transfer.api.globus.org"));
        assert_ne!(id, stable_uuid("other"));
        assert_eq!(&id[14..15], "5");
    }
}
