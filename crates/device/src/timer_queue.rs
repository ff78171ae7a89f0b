//! Which peers have timer work when: a wake-up of the timer thread costs the peers that are due, not all peers.
//!
//! An ordered set of (deadline, peer id) holding at most one entry per peer: the one at
//! `TimerSlot::scheduled`. The invariant, kept under each peer's lock: whenever a peer's tunnel has a next
//! deadline `D`, its entry is at `scheduled` <= `D`.
//!
//! It is kept by [`TimerQueue::after_change`], which the peer's lock guard runs when it is released (see
//! `Peer::lock`), so every code path that changes a tunnel keeps it without knowing about it. That check is two
//! comparisons; it touches the set only when the deadline moved EARLIER than the one scheduled (the entry then
//! moves). A deadline that moves later (a keepalive cancelled, a handshake completed) leaves the entry where it
//! is: when it comes due the peer is re-examined (its real deadline compared with `now`) and scheduled again at
//! its real deadline. So a busy peer costs at most one move per timer wake-up, never work per packet, and the
//! set never holds more entries than peers.
//!
//! The same release hook lists peers that hold staged packets, so that a flush (a session became usable while
//! packets waited) visits those peers only.

use core::time::Duration;
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

use wgxdp_noise::Tunnel;

use crate::peer::{PeerId, PeerState};

/// A peer's bookkeeping in the queue, part of its locked state.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TimerSlot {
    /// Deadline of the peer's entry in the queue, if it has one.
    scheduled: Option<Duration>,
    /// The peer is in the staged list.
    staged_listed: bool,
}

/// The device's timer entries and staged list. Lock order: a peer's lock, then these (never the other way).
#[derive(Default)]
pub(crate) struct TimerQueue {
    entries: Mutex<BTreeSet<(Duration, PeerId)>>,
    staged: Mutex<Vec<PeerId>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl TimerQueue {
    /// Restores the invariant for peer `id` after a change of its state, with its lock held.
    pub fn after_change(&self, id: PeerId, st: &mut PeerState) {
        if st.removed {
            // A removed peer has no timers: its entry goes now rather than when it comes due.
            if let Some(at) = st.timer.scheduled.take() {
                lock(&self.entries).remove(&(at, id));
            }
            return;
        }
        if let Some(deadline) = st.tunnel.as_ref().and_then(Tunnel::next_deadline) {
            if st.timer.scheduled.map_or(true, |s| deadline < s) {
                let mut entries = lock(&self.entries);
                if let Some(at) = st.timer.scheduled.replace(deadline) {
                    entries.remove(&(at, id));
                }
                entries.insert((deadline, id));
            }
        }
        if !st.staged.is_empty() && !st.timer.staged_listed {
            st.timer.staged_listed = true;
            lock(&self.staged).push(id);
        }
    }

    /// Removes and returns every entry due at `now`, in peer id order.
    pub fn take_due(&self, now: Duration) -> Vec<(PeerId, Duration)> {
        let mut due = Vec::new();
        {
            let mut entries = lock(&self.entries);
            while let Some(&(at, id)) = entries.first() {
                if at > now {
                    break;
                }
                entries.pop_first();
                due.push((id, at));
            }
        }
        due.sort_unstable();
        due
    }

    /// The earliest entry's deadline (it may be earlier than the peer's real one: waking for it is harmless).
    pub fn earliest(&self) -> Option<Duration> {
        lock(&self.entries).first().map(|&(at, _)| at)
    }

    /// Takes the list of peers that had staged packets, in id order.
    pub fn take_staged(&self) -> Vec<PeerId> {
        let mut list = std::mem::take(&mut *lock(&self.staged));
        list.sort_unstable();
        list
    }

    /// Entries (for tests and statistics): at most one per peer.
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}

impl TimerSlot {
    /// The entry at `at` was taken from the queue for this peer: unless the peer was scheduled again since
    /// (earlier), it is unscheduled until its lock is released, which schedules it at its real deadline.
    pub fn taken(&mut self, at: Duration) {
        if self.scheduled == Some(at) {
            self.scheduled = None;
        }
    }

    /// The peer was taken from the staged list.
    pub fn unlisted(&mut self) {
        self.staged_listed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::Peer;
    use std::sync::Arc;
    use wgxdp_noise::{LocalStatic, PrivateKey};

    fn peer(id: PeerId, queue: &Arc<TimerQueue>, keepalive_at: Duration) -> Peer {
        let local = LocalStatic::new(PrivateKey::from_bytes([1; 32]));
        let remote = PrivateKey::from_bytes([2; 32]).public_key();
        // A persistent keepalive is due at once: the tunnel's deadline is `keepalive_at`.
        let tunnel = Tunnel::new(
            &local,
            remote,
            None,
            Some(Duration::from_secs(25)),
            keepalive_at,
        );
        Peer::new(id, remote, Some(tunnel), 1, Arc::clone(queue))
    }

    #[test]
    fn releasing_the_lock_schedules_only_earlier_deadlines() {
        let queue = Arc::new(TimerQueue::default());
        let p = peer(7, &queue, Duration::from_secs(100));
        drop(p.lock());
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.earliest(), Some(Duration::from_secs(100)));
        // Nothing changed: no new entry, however often the lock is taken.
        for _ in 0..10 {
            drop(p.lock());
        }
        assert_eq!(queue.len(), 1);
        // The deadline moves later (keepalive sent at 100 s: next one at 125 s): the old entry stays.
        {
            let mut st = p.lock();
            if let Some(t) = st.tunnel.as_mut() {
                t.on_sent(Duration::from_secs(100), true, Duration::ZERO);
            }
        }
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.take_due(Duration::from_secs(99)), vec![]);
        let due = queue.take_due(Duration::from_secs(100));
        assert_eq!(due, vec![(7, Duration::from_secs(100))]);
        {
            let mut st = p.lock();
            st.timer.taken(Duration::from_secs(100));
        }
        // Re-examined: scheduled again at its real deadline, the pending "rekey on send" check at 100 s.
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.earliest(), Some(Duration::from_secs(100)));
    }

    #[test]
    fn a_busy_peer_keeps_one_entry() {
        // Each round: data sent (its "rekey on send" check is due at once, earlier than scheduled), then the
        // tick that takes the entry and polls the timers. Entries move; they do not pile up.
        let queue = Arc::new(TimerQueue::default());
        let p = peer(1, &queue, Duration::from_secs(10));
        for round in 0..1000u64 {
            let t = Duration::from_secs(10) + Duration::from_millis(round);
            {
                let mut st = p.lock();
                if let Some(tunnel) = st.tunnel.as_mut() {
                    tunnel.on_sent(t, false, Duration::ZERO);
                }
            }
            assert_eq!(queue.len(), 1);
            assert_eq!(queue.earliest(), Some(t));
            let due = queue.take_due(t);
            assert_eq!(due, vec![(1, t)]);
            let mut st = p.lock();
            st.timer.taken(t);
            if let Some(tunnel) = st.tunnel.as_mut() {
                let _ = tunnel.tick(t);
            }
            drop(st);
            assert_eq!(queue.len(), 1, "round {round}");
            assert!(queue.earliest() > Some(t));
        }
        // Removing the peer takes its entry out at once.
        p.lock().removed = true;
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn staged_peers_are_listed_once() {
        let queue = Arc::new(TimerQueue::default());
        let p = peer(3, &queue, Duration::from_secs(1));
        for _ in 0..3 {
            p.lock().staged.push_back(vec![0; 20]);
        }
        assert_eq!(queue.take_staged(), vec![3]);
        assert_eq!(queue.take_staged(), Vec::<PeerId>::new());
        {
            let mut st = p.lock();
            st.timer.unlisted();
        }
        // Still holding packets: listed again for the next flush.
        assert_eq!(queue.take_staged(), vec![3]);
        {
            let mut st = p.lock();
            st.timer.unlisted();
            st.staged.clear();
        }
        assert_eq!(queue.take_staged(), Vec::<PeerId>::new());
        // A removed peer is never scheduled or listed.
        let gone = peer(4, &queue, Duration::from_secs(1));
        {
            let mut st = gone.lock();
            st.removed = true;
            st.staged.push_back(vec![0; 20]);
        }
        assert_eq!(queue.take_staged(), Vec::<PeerId>::new());
    }
}
