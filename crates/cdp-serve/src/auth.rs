//! Bearer tokens. A presented token is hashed (SHA-256) and compared with the
//! hash of every configured token in constant time, all of them every time:
//! neither the time taken nor the lengths compared say how much of a guess
//! was right, or which token it was close to.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// The accepted tokens, as hashes (the tokens themselves are not kept).
#[derive(Clone)]
pub struct Tokens {
    hashes: Vec<[u8; 32]>,
}

/// Why a request was refused; said to the client, never with the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    NotBearer,
    Unknown,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Self::Missing => "missing Authorization header: send `Authorization: Bearer <token>`",
            Self::NotBearer => "the Authorization header is not `Bearer <token>`",
            Self::Unknown => "the bearer token is not valid",
        }
    }
}

impl Tokens {
    pub fn new<S: AsRef<str>>(tokens: &[S]) -> Self {
        Self {
            hashes: tokens
                .iter()
                .map(|t| Sha256::digest(t.as_ref().as_bytes()).into())
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Checks an `Authorization` header value.
    pub fn check(&self, header: Option<&[u8]>) -> Result<(), Refusal> {
        let header = header.ok_or(Refusal::Missing)?;
        let token = header
            .strip_prefix(b"Bearer ")
            .or_else(|| header.strip_prefix(b"bearer "))
            .ok_or(Refusal::NotBearer)?;
        let presented: [u8; 32] = Sha256::digest(token.trim_ascii()).into();
        let mut matched = Choice::from(0);
        for h in &self.hashes {
            matched |= h.ct_eq(&presented);
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(Refusal::Unknown)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_configured_bearer_token_passes() {
        let tokens = Tokens::new(&["token-one-0123456789", "token-two-0123456789"]);
        assert_eq!(tokens.check(Some(b"Bearer token-two-0123456789")), Ok(()));
        assert_eq!(tokens.check(Some(b"bearer token-one-0123456789")), Ok(()));
        assert_eq!(tokens.check(None), Err(Refusal::Missing));
        assert_eq!(
            tokens.check(Some(b"Basic dXNlcjpwYXNz")),
            Err(Refusal::NotBearer)
        );
        assert_eq!(
            tokens.check(Some(b"Bearer token-one-012345678")),
            Err(Refusal::Unknown)
        );
        assert_eq!(tokens.check(Some(b"Bearer ")), Err(Refusal::Unknown));
        assert_eq!(
            Tokens::new::<&str>(&[]).check(Some(b"Bearer x")),
            Err(Refusal::Unknown)
        );
    }
}
