//! Requests per second per API key, as AfterShip counts them: fixed one-second windows, each
//! answer telling the ceiling, what is left of the window and when it resets
//! (`as-ratelimit-limit`, `as-ratelimit-remaining`, `as-ratelimit-reset`, with AfterShip's
//! 2024-07 `x-ratelimit-*` spellings beside them), and a 429 beyond it. In memory: per process
//! on `serve`, per warm instance on AWS (where API Gateway's throttling bounds the whole).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// Keys remembered before those of past windows are forgotten.
const MAX_KEYS: usize = 100_000;

/// The windows of every key seen, by the digest of the key (keys are never kept).
#[derive(Default)]
pub struct KeyLimiter {
    windows: Mutex<HashMap<[u8; 32], (i64, u32)>>,
}

/// What one request found of its key's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The ceiling per second.
    pub limit: u32,
    /// Requests left in this window after this one.
    pub remaining: u32,
    /// When the window resets, in Unix seconds.
    pub reset: i64,
    /// Whether this request may go on.
    pub allowed: bool,
}

impl KeyLimiter {
    /// Counts a request with `key` at `now`, allowing `per_second` (at least 1) a second.
    pub fn check(&self, key: &str, per_second: u32, now: DateTime<Utc>) -> Verdict {
        let per_second = per_second.max(1);
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let second = now.timestamp();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_KEYS && !windows.contains_key(&digest) {
            windows.retain(|_, (window, _)| *window == second);
        }
        let (window, count) = windows.entry(digest).or_insert((second, 0));
        if *window != second {
            (*window, *count) = (second, 0);
        }
        let allowed = *count < per_second;
        if allowed {
            *count += 1;
        }
        Verdict { limit: per_second, remaining: per_second.saturating_sub(*count), reset: second + 1, allowed }
    }
}

impl Verdict {
    /// The headers every answer carries; a refusal adds `retry-after`.
    pub fn write(&self, headers: &mut HeaderMap) {
        let pairs = [
            ("as-ratelimit-limit", self.limit.to_string()),
            ("as-ratelimit-remaining", self.remaining.to_string()),
            ("as-ratelimit-reset", self.reset.to_string()),
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", self.reset.to_string()),
        ];
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        if !self.allowed {
            headers.insert(axum::http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_its_own_second() {
        let limiter = KeyLimiter::default();
        let at = |ms: i64| DateTime::from_timestamp_millis(1_700_000_000_000 + ms).expect("time");
        let first = limiter.check("plk_a", 2, at(0));
        assert_eq!((first.allowed, first.remaining, first.reset), (true, 1, 1_700_000_001));
        assert!(limiter.check("plk_a", 2, at(300)).allowed);
        let third = limiter.check("plk_a", 2, at(900));
        assert_eq!((third.allowed, third.remaining), (false, 0), "the third in one second");
        assert!(limiter.check("plk_b", 2, at(900)).allowed, "another key is counted apart");
        let next = limiter.check("plk_a", 2, at(1000));
        assert_eq!((next.allowed, next.remaining, next.reset), (true, 1, 1_700_000_002), "a new window");
        let mut headers = HeaderMap::new();
        third.write(&mut headers);
        assert_eq!(headers["as-ratelimit-remaining"], "0");
        assert_eq!(headers["retry-after"], "1");
    }
}
