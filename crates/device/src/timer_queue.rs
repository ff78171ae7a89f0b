//! Which peers have timer work when: a wake-up of the timer thread costs the peers that are due, not all peers.
//!
//! A min-heap of (deadline, peer id). The invariant, kept under each peer's lock: whenever a peer's tunnel has a
//! next deadline `D`, the heap holds an entry for the peer at `TimerSlot::scheduled` <= `D`.
//!
//! It is kept by [`TimerQueue::after_change`], which the peer's lock guard runs when it is released (see
//! `Peer::lock`), so every code path that changes a tunnel keeps it without knowing about it. That check is two
//! comparisons; it pushes an entry only when the deadline moved EARLIER than the one scheduled. A deadline
//! that moves later (a keepalive cancelled, a handshake completed) leaves the older, earlier entry in place:
//! when it comes due the peer is re-examined (its real deadline compared with `now`) and scheduled again at
//! its real deadline. So a busy peer costs at most one entry per timer wake-up, never one per packet.
//!
//! The same release hook lists peers that hold staged packets, so that a flush (a session became usable while
//! packets waited) visits those peers only.

use core::cmp::Reverse;
use core::time::Duration;
use std::collections::BinaryHeap;
use std::sync::{Mutex, MutexGuard};

use wgxdp_noise::Tunnel;

use crate::peer::{PeerId, PeerState};

/// A peer's bookkeeping in the queue, part of its locked state.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TimerSlot {
    /// Deadline of the heap entry that covers the peer's real deadline, if any.
    scheduled: Option<Duration>,
    /// The peer is in the staged list.
    staged_listed: bool,
}

/// The device's timer heap and staged list. Lock order: a peer's lock, then these (never the other way).
#[derive(Default)]
pub(crate) struct TimerQueue {
    heap: Mutex<BinaryHeap<Reverse<(Duration, PeerId)>>>,
    staged: Mutex<Vec<PeerId>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl TimerQueue {
    /// Restores the invariant for peer `id` after a change of its state, with its lock held.
    pub fn after_change(&self, id: PeerId, st: &mut PeerState) {
        if st.removed {
            return;
        }
        if let Some(deadline) = st.tunnel.as_ref().and_then(Tunnel::next_deadline) {
            if st.timer.scheduled.map_or(true, |s| deadline < s) {
                st.timer.scheduled = Some(deadline);
                lock(&self.heap).push(Reverse((deadline, id)));
            }
        }
        if !st.staged.is_empty() && !st.timer.staged_listed {
            st.timer.staged_listed = true;
            lock(&self.staged).push(id);
        }
    }

    /// Removes and returns every entry due at `now`, peers in id order, each once (an entry that was
    /// superseded by an earlier one is just a reason to look at the peer again).
    pub fn take_due(&self, now: Duration) -> Vec<(PeerId, Duration)> {
        let mut due = Vec::new();
        {
            let mut heap = lock(&self.heap);
            while let Some(Reverse((at, id))) = heap.peek().copied() {
                if at > now {
                    break;
                }
                heap.pop();
                due.push((id, at));
            }
        }
        due.sort_unstable();
        due
    }

    /// The earliest entry's deadline (it may be one a peer no longer needs: waking for it is harmless).
    pub fn earliest(&self) -> Option<Duration> {
        lock(&self.heap).peek().map(|Reverse((at, _))| *at)
    }

    /// Takes the list of peers that had staged packets, in id order.
    pub fn take_staged(&self) -> Vec<PeerId> {
        let mut list = std::mem::take(&mut *lock(&self.staged));
        list.sort_unstable();
        list
    }

    /// Entries in the heap (for tests and statistics).
    pub fn len(&self) -> usize {
        lock(&self.heap).len()
    }
}

impl TimerSlot {
    /// The entry at `at` was taken from the heap for this peer: if it was the one covering the peer, the peer
    /// is unscheduled until its lock is released (which schedules it at its real deadline).
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
