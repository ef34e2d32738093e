//! Sealing secrets at rest: the deployment's 256-bit key, ChaCha20-Poly1305, nonces and keys
//! from the operating system's random generator.
//!
//! A [`SecretBox`] is a keyring: it seals with its current key and opens with the current key
//! or any previous one, so that a key can be rotated without downtime. Rotation adds the new key
//! as current and keeps the old one as previous; [`crate::app::rotation::reseal_all`] then
//! re-seals what is stored, and links already sent (sealed tokens in emails) keep opening until
//! the old key is dropped. A box made with [`SecretBox::watching`] follows its key file: a
//! running `serve` takes up a key `porchlight secrets rotate` wrote before its next seal or open.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};

use crate::domain::DomainError;

/// What [`SecretBox::open`] was handed did not open with any of this box's keys (another key,
/// or damaged).
#[derive(Debug, thiserror::Error)]
#[error("sealed data does not open with this key")]
pub struct SealError;

/// The keys: the first seals, every one opens.
struct Keyring(Vec<ChaCha20Poly1305>);

/// A key file followed for changes.
struct Watched {
    path: PathBuf,
    seen: Mutex<Option<SystemTime>>,
}

/// Seals with the deployment's current key and opens with it or a previous one. `Debug` never
/// shows a key. Clones share their keys.
#[derive(Clone)]
pub struct SecretBox {
    keys: Arc<RwLock<Keyring>>,
    watched: Option<Arc<Watched>>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBox(<{} keys>)", self.read().0.len())
    }
}

/// Where a sealed secret opened: with the current key, or with a previous one (so it should
/// be sealed again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenedWith {
    /// The current key.
    Current,
    /// A previous key.
    Previous,
}

impl SecretBox {
    /// A box with `key` alone.
    pub fn new(key: [u8; 32]) -> Self {
        SecretBox::with_keys(&[key])
    }

    fn with_keys(keys: &[[u8; 32]]) -> Self {
        let ring = Keyring(keys.iter().map(|key| ChaCha20Poly1305::new(&(*key).into())).collect());
        SecretBox { keys: Arc::new(RwLock::new(ring)), watched: None }
    }

    /// A box with a key written as 64 hexadecimal characters.
    pub fn from_hex(hex: &str) -> Result<Self, DomainError> {
        Ok(SecretBox::with_keys(&[parse_key(hex)?]))
    }

    /// A box whose current key is `current` and which also opens with each of `previous`.
    pub fn with_previous(current: &str, previous: &[&str]) -> Result<Self, DomainError> {
        let keys = std::iter::once(current).chain(previous.iter().copied()).map(parse_key);
        Ok(SecretBox::with_keys(&keys.collect::<Result<Vec<_>, _>>()?))
    }

    /// A box from a key file's text: one key a line, the current first, then previous ones
    /// (blank lines and `#` comments skipped).
    pub fn from_key_file(text: &str) -> Result<Self, DomainError> {
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        let (current, previous) =
            lines.split_first().ok_or_else(|| DomainError::invalid("secret_key", "the key file holds no key"))?;
        SecretBox::with_previous(current, previous)
    }

    /// A box read from the key file at `path` that reads it again whenever it changes.
    pub fn watching(path: &Path) -> std::io::Result<Self> {
        let modified = std::fs::metadata(path)?.modified().ok();
        let text = std::fs::read_to_string(path)?;
        let mut secrets = SecretBox::from_key_file(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.reason))?;
        secrets.watched = Some(Arc::new(Watched { path: path.to_owned(), seen: Mutex::new(modified) }));
        Ok(secrets)
    }

    /// A fresh key from the OS random generator, as 64 hexadecimal characters.
    pub fn generate_hex() -> String {
        hex::encode(random_bytes::<32>())
    }

    /// How many keys open (the current one and the previous ones).
    pub fn key_count(&self) -> usize {
        self.refresh();
        self.read().0.len()
    }

    /// `nonce || ciphertext` of `plaintext` under the current key and a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        self.refresh();
        let nonce_bytes = random_bytes::<12>();
        let nonce = Nonce::from(nonce_bytes);
        let ciphertext = self.read().0[0].encrypt(&nonce, plaintext).expect("encryption of a small buffer cannot fail");
        [&nonce_bytes[..], &ciphertext].concat()
    }

    /// Opens what [`SecretBox::seal`] made with one of this box's keys; an error for anything
    /// else.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        self.open_telling(sealed).map(|(plain, _)| plain)
    }

    /// Opens `sealed` and tells which key opened it.
    pub fn open_telling(&self, sealed: &[u8]) -> Result<(Vec<u8>, OpenedWith), SealError> {
        self.refresh();
        let (nonce, ciphertext) = sealed.split_at_checked(12).ok_or(SealError)?;
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SealError)?;
        let keys = self.read();
        keys.0
            .iter()
            .enumerate()
            .find_map(|(i, key)| {
                let plain = key.decrypt(&Nonce::from(nonce), ciphertext).ok()?;
                Some((plain, if i == 0 { OpenedWith::Current } else { OpenedWith::Previous }))
            })
            .ok_or(SealError)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keyring> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the watched key file again if it changed since it was last read. A file that
    /// cannot be read or holds no valid key leaves the keys as they were.
    fn refresh(&self) {
        let Some(watched) = &self.watched else { return };
        let modified = std::fs::metadata(&watched.path).and_then(|m| m.modified()).ok();
        let mut seen = watched.seen.lock().unwrap_or_else(|p| p.into_inner());
        if modified.is_none() || *seen == modified {
            return;
        }
        match std::fs::read_to_string(&watched.path).ok().and_then(|text| SecretBox::from_key_file(&text).ok()) {
            Some(fresh) => {
                let ring =
                    std::mem::replace(&mut *fresh.keys.write().unwrap_or_else(|p| p.into_inner()), Keyring(Vec::new()));
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = ring;
                *seen = modified;
                tracing::info!(keys = self.read().0.len(), "secret key file read again");
            }
            None => tracing::warn!("secret key file changed but holds no valid key; keeping the keys in use"),
        }
    }
}

fn parse_key(hex: &str) -> Result<[u8; 32], DomainError> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex.trim(), &mut key)
        .map_err(|_| DomainError::invalid("secret_key", "must be 64 hexadecimal characters (32 bytes)"))?;
    Ok(key)
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

    #[test]
    fn a_rotated_box_seals_with_the_new_key_and_opens_with_both() {
        let (old, new) = (SecretBox::generate_hex(), SecretBox::generate_hex());
        let before = SecretBox::from_hex(&old).expect("key").seal(b"token");
        let rotated = SecretBox::from_key_file(&format!("{new}\n# previous\n{old}\n")).expect("keys");
        assert_eq!(rotated.open_telling(&before).expect("opens"), (b"token".to_vec(), OpenedWith::Previous));
        let after = rotated.seal(b"token");
        assert_eq!(rotated.open_telling(&after).expect("opens").1, OpenedWith::Current);
        assert!(SecretBox::from_hex(&old).expect("key").open(&after).is_err(), "sealed with the new key");
        assert!(SecretBox::from_key_file("# nothing\n").is_err());
    }

    #[test]
    fn a_watching_box_takes_up_a_rewritten_key_file() {
        let folder = std::env::temp_dir().join(format!("porchlight-keys-{}", SecretBox::generate_hex()));
        std::fs::create_dir_all(&folder).expect("folder");
        let path = folder.join("p.db.key");
        let (old, new) = (SecretBox::generate_hex(), SecretBox::generate_hex());
        std::fs::write(&path, &old).expect("write");
        let watching = SecretBox::watching(&path).expect("reads");
        let by_old = watching.seal(b"x");
        // A later modification time, as a rewrite seconds later would have.
        std::fs::write(&path, format!("{new}\n{old}\n")).expect("rewrite");
        let later = SystemTime::now() + std::time::Duration::from_secs(2);
        std::fs::File::options().write(true).open(&path).expect("open").set_modified(later).expect("mtime");
        let by_new = watching.seal(b"x");
        assert!(SecretBox::from_hex(&new).expect("key").open(&by_new).is_ok(), "the new key seals");
        assert_eq!(watching.open_telling(&by_old).expect("old still opens").1, OpenedWith::Previous);
        assert_eq!(watching.key_count(), 2);
        std::fs::remove_dir_all(&folder).expect("cleanup");
    }
}
