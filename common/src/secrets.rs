//! Sealing secrets at rest: the deployment's 256-bit key, ChaCha20-Poly1305, nonces and keys
//! from the operating system's random generator.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};

use crate::domain::DomainError;

/// What [`SecretBox::open`] was handed did not open with this key (another key, or damaged).
#[derive(Debug, thiserror::Error)]
#[error("sealed data does not open with this key")]
pub struct SealError;

/// Seals and opens secrets with the deployment's 256-bit key. `Debug` never shows the key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(<key>)")
    }
}

impl SecretBox {
    /// A box with `key`.
    pub fn new(key: [u8; 32]) -> Self {
        SecretBox { cipher: ChaCha20Poly1305::new(&key.into()) }
    }

    /// A box with a key written as 64 hexadecimal characters.
    pub fn from_hex(hex: &str) -> Result<Self, DomainError> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex.trim(), &mut key)
            .map_err(|_| DomainError::invalid("secret_key", "must be 64 hexadecimal characters (32 bytes)"))?;
        Ok(SecretBox::new(key))
    }

    /// A fresh key from the OS random generator, as 64 hexadecimal characters.
    pub fn generate_hex() -> String {
        hex::encode(random_bytes::<32>())
    }

    /// `nonce || ciphertext` of `plaintext`, under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = random_bytes::<12>();
        let nonce = Nonce::from(nonce_bytes);
        let ciphertext = self.cipher.encrypt(&nonce, plaintext).expect("encryption of a small buffer cannot fail");
        [&nonce_bytes[..], &ciphertext].concat()
    }

    /// Opens what [`SecretBox::seal`] made with the same key; an error for anything else.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let fail = || SealError;
        if sealed.len() < 12 {
            return Err(fail());
        }
        let (nonce, ciphertext) = sealed.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| fail())?;
        self.cipher.decrypt(&Nonce::from(nonce), ciphertext).map_err(|_| fail())
    }
}

/// `N` bytes from the OS random generator. A machine without one cannot keep secrets, so its
/// absence is a fault, not an error to handle.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random generator is available");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_hide_the_plaintext() {
        let key = SecretBox::generate_hex();
        let sealed_box = SecretBox::from_hex(&key).expect("key");
        let sealed = sealed_box.seal(b"client_secret=hunter2");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"), "ciphertext only");
        assert_ne!(sealed, sealed_box.seal(b"client_secret=hunter2"), "fresh nonce each time");
        assert_eq!(sealed_box.open(&sealed).expect("opens"), b"client_secret=hunter2");
        let other = SecretBox::from_hex(&SecretBox::generate_hex()).expect("key");
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().expect("bytes") ^= 1;
        assert!(sealed_box.open(&tampered).is_err());
        assert!(SecretBox::from_hex("abc").is_err());
        assert!(!format!("{sealed_box:?}").contains(&key));
    }
}
