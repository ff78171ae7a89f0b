//! Pacing: how many packets are due at a given time for a target rate, sans IO (time is an argument), so its
//! accuracy is tested on simulated time.
//!
//! The schedule is absolute (packet `k` is due at `start + k / rate`), so rounding never accumulates. A sender
//! that falls behind may catch up by at most `backlog` packets; anything owed beyond that is written off and
//! counted as lag, rather than sent in one burst that would say nothing about the DUT at the target rate.

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// The pacing state of one sender.
#[derive(Clone, Debug)]
pub struct Pacer {
    /// Packets per second; 0 sends flat out.
    rate: u64,
    /// Most packets handed out by one [`Pacer::due`].
    max_burst: u64,
    /// Most packets that may be owed before the excess is written off.
    backlog: u64,
    start_ns: u64,
    /// Packets accounted for: sent, or written off.
    accounted: u64,
    written_off: u64,
}

impl Pacer {
    /// A pacer for `rate` packets per second (0: flat out) handing out at most `max_burst` at a time and letting
    /// at most `backlog` (at least `max_burst`) pile up; the schedule starts at `start_ns`.
    pub fn new(rate: u64, max_burst: u64, backlog: u64, start_ns: u64) -> Self {
        let max_burst = max_burst.max(1);
        Self {
            rate,
            max_burst,
            backlog: backlog.max(max_burst),
            start_ns,
            accounted: 0,
            written_off: 0,
        }
    }

    /// Packets the schedule has due by `now_ns`, counted from the start.
    fn scheduled(&self, now_ns: u64) -> u64 {
        let elapsed = u128::from(now_ns.saturating_sub(self.start_ns));
        u64::try_from(elapsed * u128::from(self.rate) / NANOS_PER_SEC).unwrap_or(u64::MAX)
    }

    /// How many packets may be sent at `now_ns` (then report them with [`Pacer::sent`]).
    pub fn due(&mut self, now_ns: u64) -> u64 {
        if self.rate == 0 {
            return self.max_burst;
        }
        let owed = self.scheduled(now_ns).saturating_sub(self.accounted);
        if owed > self.backlog {
            let excess = owed - self.backlog;
            self.written_off += excess;
            self.accounted += excess;
        }
        owed.min(self.backlog).min(self.max_burst)
    }

    /// `n` packets were sent.
    pub fn sent(&mut self, n: u64) {
        self.accounted += n;
    }

    /// When the next packet is due (`None` when flat out: always).
    pub fn next_due_ns(&self) -> Option<u64> {
        if self.rate == 0 {
            return None;
        }
        // Smallest t with floor((t - start) * rate / 1e9) >= accounted + 1.
        let next = u128::from(self.accounted + 1) * NANOS_PER_SEC;
        let offset = next.div_ceil(u128::from(self.rate));
        Some(
            self.start_ns
                .saturating_add(u64::try_from(offset).unwrap_or(u64::MAX)),
        )
    }

    /// Packets written off because the sender fell too far behind.
    pub fn written_off(&self) -> u64 {
        self.written_off
    }

    /// The schedule time of packet `k` relative to the start, in ns (0 when flat out): the timestamp an ingress
    /// payload carries.
    pub fn schedule_offset_ns(rate: u64, k: u64) -> u64 {
        if rate == 0 {
            return 0;
        }
        u64::try_from(u128::from(k) * NANOS_PER_SEC / u128::from(rate)).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Drives a pacer on simulated time with irregular ticks, sending everything it allows.
    fn simulate(
        rate: u64,
        seconds: u64,
        tick_ns: std::ops::Range<u64>,
        seed: u64,
    ) -> (Pacer, u64, u64) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let start = 1_000;
        let mut pacer = Pacer::new(rate, 64, 4096, start);
        let mut now = start;
        let mut sent = 0;
        let mut largest = 0;
        while now < start + seconds * 1_000_000_000 {
            let n = pacer.due(now);
            largest = largest.max(n);
            pacer.sent(n);
            sent += n;
            now += rng.gen_range(tick_ns.clone());
        }
        (pacer, sent, largest)
    }

    #[test]
    fn rate_is_met_within_one_tick_over_simulated_seconds() {
        for (rate, seed) in [(1_000, 1), (123_457, 2), (2_000_000, 3), (10, 4)] {
            let (pacer, sent, largest) = simulate(rate, 3, 1_000..20_000, seed);
            let expected = rate * 3;
            // The last tick may be up to 20 us short of the end: at most rate * 20us + 1 packets missing.
            let slack = rate * 20 / 1_000_000 + 1;
            assert!(
                sent <= expected && sent + slack >= expected,
                "rate {rate}: sent {sent}, expected {expected} (slack {slack})"
            );
            assert!(largest <= 64, "burst {largest}");
            assert_eq!(pacer.written_off(), 0);
        }
    }

    #[test]
    fn a_stall_is_caught_up_only_up_to_the_backlog() {
        let start = 0;
        let mut pacer = Pacer::new(1_000_000, 64, 1_000, start);
        // 10 ms of stall: 10 000 packets owed, 1 000 may still go out, the rest is written off.
        let now = 10_000_000;
        let mut sent = 0;
        loop {
            let n = pacer.due(now);
            if n == 0 {
                break;
            }
            pacer.sent(n);
            sent += n;
        }
        assert_eq!(sent, 1_000);
        assert_eq!(pacer.written_off(), 9_000);
        // Back on schedule afterwards: 1 us later exactly one more packet is due.
        assert_eq!(pacer.due(now + 1_000), 1);
    }

    #[test]
    fn next_due_is_the_exact_schedule_and_flat_out_always_sends() {
        let mut pacer = Pacer::new(3, 8, 8, 100);
        assert_eq!(pacer.due(100), 0);
        let next = pacer.next_due_ns().unwrap();
        assert_eq!(next, 100 + 333_333_334);
        assert_eq!(pacer.due(next - 1), 0);
        assert_eq!(pacer.due(next), 1);
        let mut flat = Pacer::new(0, 32, 0, 0);
        assert_eq!(flat.due(0), 32);
        assert_eq!(flat.next_due_ns(), None);
        assert_eq!(Pacer::schedule_offset_ns(1_000, 5), 5_000_000);
        assert_eq!(Pacer::schedule_offset_ns(0, 5), 0);
    }
}
