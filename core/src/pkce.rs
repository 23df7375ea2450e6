//! PKCE (RFC 7636) verifiers and S256 challenges.

use crate::CodeVerifier;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A PKCE verifier and its S256 challenge.
///
/// ```
/// use globus_app_core::{CodeVerifier, Pkce};
/// // The example of RFC 7636, appendix B.
/// let pkce = Pkce::from_verifier(CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).unwrap();
/// assert_eq!(pkce.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkce {
    verifier: CodeVerifier,
    challenge: String,
}

impl Pkce {
    /// Makes a verifier from 32 random bytes (base64url, 43 characters), as the
    /// reference does. The caller supplies the randomness.
    pub fn from_random_bytes(bytes: &[u8; 32]) -> Pkce {
        let verifier = CodeVerifier::new(URL_SAFE_NO_PAD.encode(bytes));
        let challenge = challenge_of(&verifier);
        Pkce {
            verifier,
            challenge,
        }
    }

    /// Uses a given verifier.
    ///
    /// # Errors
    /// [`PkceError`] unless the verifier is 43 to 128 characters of `[A-Za-z0-9-._~]`.
    pub fn from_verifier(verifier: CodeVerifier) -> Result<Pkce, PkceError> {
        let v = verifier.secret();
        if !(43..=128).contains(&v.len()) {
            return Err(PkceError::Length(v.len()));
        }
        if !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return Err(PkceError::Characters);
        }
        let challenge = challenge_of(&verifier);
        Ok(Pkce {
            verifier,
            challenge,
        })
    }

    /// Returns the verifier, sent with the code exchange.
    pub fn verifier(&self) -> &CodeVerifier {
        &self.verifier
    }

    /// Returns the S256 challenge, sent in the authorize URL.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

fn challenge_of(verifier: &CodeVerifier) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.secret().as_bytes()))
}

/// A PKCE verifier that RFC 7636 does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkceError {
    /// The verifier is shorter than 43 or longer than 128 characters.
    #[error("a PKCE code verifier must be 43 to 128 characters long, not {0}")]
    Length(usize),
    /// The verifier has characters outside `[A-Za-z0-9-._~]`.
    #[error("a PKCE code verifier may only contain A-Z, a-z, 0-9, '-', '.', '_' and '~'")]
    Characters,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_make_a_valid_verifier() {
        let pkce = Pkce::from_random_bytes(&[7; 32]);
        assert_eq!(pkce.verifier().secret().len(), 43);
        assert!(Pkce::from_verifier(pkce.verifier().clone()).is_ok());
    }

    #[test]
    fn bad_verifiers() {
        assert_eq!(
            Pkce::from_verifier(CodeVerifier::new("short")),
            Err(PkceError::Length(5))
        );
        assert_eq!(
            Pkce::from_verifier(CodeVerifier::new("a".repeat(129))),
            Err(PkceError::Length(129))
        );
        assert_eq!(
            Pkce::from_verifier(CodeVerifier::new(format!("{}!", "a".repeat(43)))),
            Err(PkceError::Characters)
        );
    }
}
