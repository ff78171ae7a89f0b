//! Finding a DUT's capacity: the highest offered rate it carries with at most a given loss, by bisection between
//! nothing and what the generator can send flat out, sans IO (the trials are the caller's).
//!
//! Offering a DUT everything at once measures how it behaves in overload, which for many is receive livelock (its
//! receive path takes the core and it delivers a fraction of what it could); so the flood is the first trial and
//! its result is kept, but the figure a test reports is the bisected rate. The first probe is what the DUT
//! delivered in the flood, usually close to the answer.

use serde::{Deserialize, Serialize};

/// How to search.
#[derive(Clone, Copy, Debug)]
pub struct SearchConfig {
    /// Trials after the flood, at most.
    pub steps: u32,
    /// Loss a passing trial may have (0.001 is 0.1 %).
    pub loss_threshold: f64,
    /// Stop once the interval is this narrow relative to its top (0.05: within 5 %).
    pub resolution: f64,
}

/// One trial of the search.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Target rate (0: the flood).
    pub rate: u64,
    /// Offered packets per second.
    pub offered_pps: f64,
    /// Delivered packets per second.
    pub delivered_pps: f64,
    /// Loss ratio.
    pub loss: f64,
}

/// The search's state.
#[derive(Clone, Debug)]
pub struct RateSearch {
    config: SearchConfig,
    /// Highest rate that passed.
    pass: Option<u64>,
    /// Lowest rate that failed (starts at what the generator reached flat out).
    fail: u64,
    next: Option<u64>,
    steps: u32,
    trials: Vec<Trial>,
}

impl RateSearch {
    /// Starts from the flood trial. When the DUT kept up with the flood there is nothing to search.
    pub fn new(config: SearchConfig, flood: Trial) -> Self {
        let fail = flood.offered_pps.max(1.0) as u64;
        let kept_up = flood.loss <= config.loss_threshold;
        let first = (flood.delivered_pps as u64).clamp(1, fail.saturating_sub(1).max(1));
        Self {
            config,
            pass: None,
            fail,
            next: (!kept_up && config.steps > 0).then_some(first),
            steps: 0,
            trials: vec![flood],
        }
    }

    /// The rate of the next trial, or `None` when the search is over.
    pub fn next_rate(&self) -> Option<u64> {
        self.next
    }

    /// Records the trial run at [`RateSearch::next_rate`].
    pub fn record(&mut self, trial: Trial) {
        self.trials.push(trial);
        self.steps += 1;
        if trial.loss <= self.config.loss_threshold {
            self.pass = Some(self.pass.map_or(trial.rate, |p| p.max(trial.rate)));
        } else {
            self.fail = self.fail.min(trial.rate);
        }
        let low = self.pass.unwrap_or(0);
        let narrow =
            (self.fail.saturating_sub(low) as f64) <= self.config.resolution * self.fail as f64;
        self.next = if self.steps >= self.config.steps || narrow || self.fail <= low + 1 {
            None
        } else {
            Some(low + (self.fail - low) / 2)
        };
    }

    /// Whether the DUT carried the generator's whole flood.
    pub fn kept_up(&self) -> bool {
        self.trials
            .first()
            .is_some_and(|flood| flood.loss <= self.config.loss_threshold)
    }

    /// The highest rate that passed.
    pub fn best(&self) -> Option<u64> {
        self.pass
    }

    /// Every trial, the flood first.
    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: SearchConfig = SearchConfig {
        steps: 8,
        loss_threshold: 0.001,
        resolution: 0.05,
    };

    /// A DUT that carries up to `capacity` and, when flooded, only `livelock` of that.
    fn trial(rate: u64, capacity: f64, livelock: f64) -> Trial {
        let offered = if rate == 0 { 600_000.0 } else { rate as f64 };
        let delivered = if rate == 0 {
            capacity * livelock
        } else {
            offered.min(capacity)
        };
        Trial {
            rate,
            offered_pps: offered,
            delivered_pps: delivered,
            loss: 1.0 - delivered / offered,
        }
    }

    fn search(capacity: f64, livelock: f64) -> RateSearch {
        let mut s = RateSearch::new(CONFIG, trial(0, capacity, livelock));
        while let Some(rate) = s.next_rate() {
            s.record(trial(rate, capacity, livelock));
        }
        s
    }

    #[test]
    fn converges_below_the_capacity_within_the_resolution() {
        for (capacity, livelock) in [
            (200_000.0, 1.0),
            (200_000.0, 0.1),
            (37_000.0, 0.02),
            (590_000.0, 0.9),
        ] {
            let s = search(capacity, livelock);
            let best = s.best().expect("some rate passes") as f64;
            assert!(best <= capacity, "{best} above the capacity {capacity}");
            assert!(
                best >= capacity * (1.0 - 2.0 * CONFIG.resolution) || s.trials().len() == 9,
                "capacity {capacity} (livelock {livelock}): found {best} in {} trials",
                s.trials().len()
            );
            assert!(s.trials().len() <= 9, "flood plus 8 steps at most");
            assert!(!s.kept_up());
        }
    }

    #[test]
    fn a_dut_that_keeps_up_needs_no_search_and_one_that_delivers_nothing_ends() {
        let s = search(1e9, 1.0);
        assert!(s.kept_up());
        assert_eq!(s.next_rate(), None);
        assert_eq!(s.best(), None);
        let dead = search(0.0, 0.0);
        assert_eq!(dead.best(), None, "nothing ever passes");
        assert!(dead.trials().len() <= 9);
    }
}
