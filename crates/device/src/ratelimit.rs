//! Per-source-IP token bucket for handshake messages while under load (wireguard-go: 20 per second, burst 5).
//!
//! Tokens are kept in nanoseconds of "credit": each message costs `1 s / rate`, the bucket holds at most
//! `burst` messages' worth, and credit accrues with elapsed time. IPv6 sources are bucketed by /64, since one
//! host usually owns a whole /64 and could otherwise rotate addresses to escape the limit.

use core::net::IpAddr;
use core::time::Duration;
use std::collections::HashMap;

/// Entries idle this long are full again and can be forgotten.
const IDLE_FORGET: Duration = Duration::from_secs(1);
/// Garbage collection runs at most this often.
const GC_INTERVAL: Duration = Duration::from_secs(1);
/// Bound on tracked sources; beyond it new sources are refused until idle entries are collected.
pub const MAX_TRACKED_SOURCES: usize = 1 << 16;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    credit_ns: u64,
    last: Duration,
}

/// The ratelimiter. Not synchronized: the device wraps it in a mutex (handshake rate, not packet rate).
#[derive(Debug)]
pub struct RateLimiter {
    cost_ns: u64,
    max_ns: u64,
    buckets: HashMap<u128, Bucket>,
    last_gc: Duration,
}

impl RateLimiter {
    /// `rate` messages per second sustained, `burst` at once (both at least 1).
    pub fn new(rate: u32, burst: u32) -> Self {
        let cost_ns = 1_000_000_000 / u64::from(rate.max(1));
        Self {
            cost_ns,
            max_ns: cost_ns * u64::from(burst.max(1)),
            buckets: HashMap::new(),
            last_gc: Duration::ZERO,
        }
    }

    /// Whether a message from `source` may be processed at `now`; takes a token if so.
    pub fn allow(&mut self, source: IpAddr, now: Duration) -> bool {
        self.collect_if_due(now);
        let key = bucket_key(source);
        let full = self.buckets.len() >= MAX_TRACKED_SOURCES;
        let bucket = match self.buckets.get_mut(&key) {
            Some(b) => b,
            None if full => return false,
            None => self.buckets.entry(key).or_insert(Bucket {
                credit_ns: self.max_ns,
                last: now,
            }),
        };
        let elapsed = now.saturating_sub(bucket.last).as_nanos();
        let elapsed = u64::try_from(elapsed).unwrap_or(u64::MAX);
        bucket.credit_ns = bucket.credit_ns.saturating_add(elapsed).min(self.max_ns);
        bucket.last = now;
        if bucket.credit_ns >= self.cost_ns {
            bucket.credit_ns -= self.cost_ns;
            true
        } else {
            false
        }
    }

    /// [`collect`](Self::collect) if the last collection is a second old (called from the timer thread, so the
    /// table shrinks even when no handshake arrives).
    pub fn collect_if_due(&mut self, now: Duration) {
        if now.saturating_sub(self.last_gc) >= GC_INTERVAL {
            self.collect(now);
        }
    }

    /// Forget sources idle for a second (their bucket would be full again anyway).
    pub fn collect(&mut self, now: Duration) {
        self.buckets
            .retain(|_, b| now.saturating_sub(b.last) < IDLE_FORGET);
        self.last_gc = now;
    }

    /// Sources currently tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

/// IPv4 (and IPv4-mapped) addresses by address, IPv6 by /64, in one key space.
fn bucket_key(source: IpAddr) -> u128 {
    match source.to_canonical() {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => (u128::from(a) & !((1u128 << 64) - 1)) | 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn burst_then_refill_at_rate() {
        let mut rl = RateLimiter::new(20, 5);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t = Duration::from_secs(10);
        for _ in 0..5 {
            assert!(rl.allow(ip, t));
        }
        assert!(!rl.allow(ip, t));
        // 50 ms buys exactly one message at 20/s.
        assert!(!rl.allow(ip, t + ms(49)));
        assert!(rl.allow(ip, t + ms(50)));
        assert!(!rl.allow(ip, t + ms(50)));
        // Another source has its own bucket.
        assert!(rl.allow("192.0.2.2".parse().unwrap(), t));
        // A long pause refills to the burst, not beyond.
        let later = t + Duration::from_secs(60);
        for _ in 0..5 {
            assert!(rl.allow(ip, later));
        }
        assert!(!rl.allow(ip, later));
    }

    #[test]
    fn ipv6_sources_share_their_slash_64_and_mapped_v4_is_v4() {
        let mut rl = RateLimiter::new(20, 1);
        let t = Duration::from_secs(1);
        assert!(rl.allow("2001:db8::1".parse().unwrap(), t));
        assert!(!rl.allow("2001:db8::2".parse().unwrap(), t));
        assert!(rl.allow("2001:db8:0:1::1".parse().unwrap(), t));
        assert!(rl.allow("192.0.2.9".parse().unwrap(), t));
        assert!(!rl.allow("::ffff:192.0.2.9".parse().unwrap(), t));
    }

    #[test]
    fn idle_sources_are_collected() {
        let mut rl = RateLimiter::new(20, 5);
        rl.allow("192.0.2.1".parse().unwrap(), Duration::from_secs(1));
        assert_eq!(rl.tracked(), 1);
        rl.allow("192.0.2.2".parse().unwrap(), Duration::from_secs(3));
        assert_eq!(rl.tracked(), 1);
    }
}
