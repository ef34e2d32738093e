//! Lookups per client address: a generic cell rate limiter (GCRA) in memory, one cell per
//! address (an IPv6 client by its /64, which one household holds).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses remembered before the idle ones are forgotten.
const MAX_CLIENTS: usize = 100_000;

/// Allows `per_minute` lookups a minute per address, all of them at once if saved up.
pub struct Limiter {
    interval: Duration,
    burst: Duration,
    clients: Mutex<HashMap<IpAddr, Instant>>,
}

impl Limiter {
    /// A limiter allowing `per_minute` (at least 1) lookups a minute per address.
    pub fn per_minute(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        Limiter {
            interval: Duration::from_secs(60) / per_minute,
            burst: Duration::from_secs(60),
            clients: Mutex::default(),
        }
    }

    /// Counts a lookup from `client`: `Err` with the seconds to wait when it is over its rate.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        let client = household(client);
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let theoretical = clients.get(&client).copied().unwrap_or(now).max(now);
        let next = theoretical + self.interval;
        if next.duration_since(now) > self.burst {
            let wait = (next - self.burst).duration_since(now);
            return Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        }
        if clients.len() >= MAX_CLIENTS {
            clients.retain(|_, at| *at > now);
        }
        clients.insert(client, next);
        Ok(())
    }
}

/// The address a limit applies to: IPv4 as it is, IPv6 by its /64 prefix.
fn household(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_one_per_interval_per_household() {
        let limiter = Limiter::per_minute(30);
        let start = Instant::now();
        let shopper: IpAddr = "203.0.113.7".parse().expect("ip");
        for _ in 0..30 {
            assert_eq!(limiter.check_at(shopper, start), Ok(()));
        }
        assert_eq!(limiter.check_at(shopper, start), Err(2), "one more every 2 s");
        assert_eq!(limiter.check_at("203.0.113.8".parse().expect("ip"), start), Ok(()), "others unaffected");
        assert_eq!(limiter.check_at(shopper, start + Duration::from_secs(2)), Ok(()));
        assert!(limiter.check_at(shopper, start + Duration::from_secs(2)).is_err());
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let one = Limiter::per_minute(1);
        assert_eq!(one.check_at(a, start), Ok(()));
        assert_eq!(one.check_at(b, start), Err(60), "the same /64 shares a limit");
    }
}
