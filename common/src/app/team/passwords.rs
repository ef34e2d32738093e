//! Passwords as argon2id PHC strings (the crate's default parameters: 19 MiB, two passes, one
//! lane), hashed and checked off the async threads.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::app::AppError;

/// `password`'s PHC string, with a fresh salt. `Invalid` outside the length limits.
pub(super) async fn hash(password: &str) -> Result<String, AppError> {
    crate::domain::check_password(password)?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))?
}

/// Whether `password` matches `hash`. Without a hash (an unknown address, a member without a
/// password) a hash of a random password is checked instead, so the answer takes as long.
pub(super) async fn verify(password: &str, hash: Option<&str>) -> bool {
    if password.chars().count() > crate::domain::MAX_PASSWORD_CHARS {
        return false;
    }
    let (password, hash) = (password.to_owned(), hash.map(str::to_owned));
    tokio::task::spawn_blocking(move || {
        let stand_in = hash.is_none();
        let hash = hash.unwrap_or_else(|| stand_in_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&hash) else { return false };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && !stand_in
    })
    .await
    .unwrap_or(false)
}

/// The hash checked when there is none to check: of a random password, made once.
fn stand_in_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let random = hex::encode(crate::secrets::random_bytes::<16>());
        Argon2::default().hash_password(random.as_bytes()).map(|h| h.to_string()).unwrap_or_default()
    })
}
