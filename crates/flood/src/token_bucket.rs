//! The rate limit: a token bucket on a caller-supplied clock, so it is tested on simulated time.

use core::time::Duration;

/// Tokens (datagrams) earned at `rate` per second, at most `burst` saved up.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Duration,
}

impl TokenBucket {
    /// A bucket earning `rate` tokens per second (`rate > 0`), holding at most `burst` (at least 1), empty at `now`.
    pub fn new(rate: u64, burst: u64, now: Duration) -> Self {
        Self {
            rate: rate.max(1) as f64,
            burst: burst.max(1) as f64,
            tokens: 0.0,
            last: now,
        }
    }

    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = self.last.max(now);
    }

    /// Takes up to `want` whole tokens at `now`; returns how many were taken.
    pub fn take(&mut self, now: Duration, want: u64) -> u64 {
        self.refill(now);
        let taken = (self.tokens.floor() as u64).min(want);
        self.tokens -= taken as f64;
        taken
    }

    /// How long after `now` until `want` tokens (capped at the burst) are there.
    pub fn wait_for(&mut self, now: Duration, want: u64) -> Duration {
        self.refill(now);
        let want = (want as f64).min(self.burst);
        let missing = (want - self.tokens).max(0.0);
        Duration::from_secs_f64(missing / self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn starts_empty_and_earns_at_the_rate() {
        let mut bucket = TokenBucket::new(1000, 64, ms(0));
        assert_eq!(bucket.take(ms(0), 64), 0);
        assert_eq!(bucket.take(ms(10), 64), 10);
        assert_eq!(bucket.take(ms(10), 64), 0);
        assert_eq!(bucket.wait_for(ms(10), 5), ms(5));
        assert_eq!(bucket.take(ms(15), 64), 5);
    }

    #[test]
    fn an_idle_gap_saves_at_most_one_burst() {
        let mut bucket = TokenBucket::new(1000, 64, ms(0));
        assert_eq!(bucket.take(ms(60_000), 10_000), 64);
        assert_eq!(bucket.take(ms(60_000), 10_000), 0);
    }

    #[test]
    fn over_simulated_time_the_total_follows_the_rate() {
        // A sender polling at uneven intervals for 10 s of simulated time at 12 345 per second.
        let rate = 12_345;
        let mut bucket = TokenBucket::new(rate, 64, ms(0));
        let mut now = Duration::ZERO;
        let mut sent = 0;
        let mut step = 1u64;
        while now < Duration::from_secs(10) {
            sent += bucket.take(now, 64);
            // Never ahead of the rate by more than one burst at any instant.
            assert!(
                sent as f64 <= now.as_secs_f64() * rate as f64 + 64.0,
                "{sent} at {now:?}"
            );
            step = step * 7 % 13 + 1;
            now += Duration::from_micros(step * 397);
        }
        let expected = 10 * rate;
        assert!(
            sent + 64 >= expected && sent <= expected + 64,
            "{sent} for {expected}"
        );
    }

    #[test]
    fn a_clock_that_goes_back_earns_nothing() {
        let mut bucket = TokenBucket::new(1000, 64, ms(100));
        assert_eq!(bucket.take(ms(50), 64), 0);
        assert_eq!(bucket.take(ms(110), 64), 10);
    }
}
