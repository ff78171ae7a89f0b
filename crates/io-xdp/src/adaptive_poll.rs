//! The spin-then-sleep policy of a worker: busy-poll the rings while packets flow, block in `poll()` once they
//! stop. Spinning keeps latency and per-packet cost low under load; sleeping keeps an idle worker's CPU near zero.

/// What the worker should do after a round that found no work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollStep {
    /// Check the rings again right away.
    Spin,
    /// Block in `poll()` until a packet arrives or the timeout passes.
    Sleep,
}

/// Counts consecutive empty rounds and decides when spinning has stopped paying off.
#[derive(Clone, Debug)]
pub struct AdaptivePoll {
    spin_rounds: u32,
    empty_rounds: u32,
}

impl AdaptivePoll {
    /// Sleeps after `spin_rounds` consecutive empty rounds; 0 sleeps at the first empty round.
    pub fn new(spin_rounds: u32) -> Self {
        Self {
            spin_rounds,
            empty_rounds: 0,
        }
    }

    /// Records a round that found work: the next empty rounds spin again.
    pub fn worked(&mut self) {
        self.empty_rounds = 0;
    }

    /// Records an empty round and says whether to spin or sleep.
    pub fn idle(&mut self) -> PollStep {
        self.empty_rounds = self.empty_rounds.saturating_add(1);
        if self.empty_rounds > self.spin_rounds {
            PollStep::Sleep
        } else {
            PollStep::Spin
        }
    }

    /// Consecutive empty rounds so far.
    pub fn empty_rounds(&self) -> u32 {
        self.empty_rounds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spins_k_rounds_then_sleeps_and_work_resets_it() {
        let mut poll = AdaptivePoll::new(3);
        let steps: Vec<_> = (0..5).map(|_| poll.idle()).collect();
        assert_eq!(
            steps,
            [
                PollStep::Spin,
                PollStep::Spin,
                PollStep::Spin,
                PollStep::Sleep,
                PollStep::Sleep
            ]
        );
        poll.worked();
        assert_eq!(poll.empty_rounds(), 0);
        assert_eq!(poll.idle(), PollStep::Spin);
    }

    #[test]
    fn zero_spin_rounds_sleeps_at_once() {
        assert_eq!(AdaptivePoll::new(0).idle(), PollStep::Sleep);
    }
}
