//! A counter that bounds concurrent client connections on the daemon's Unix sockets, so a
//! local client opening many connections cannot exhaust threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Shared count of open connections.
#[derive(Debug)]
pub struct ConnLimit {
    open: AtomicUsize,
    max: usize,
}

/// One admitted connection; releases its slot when dropped.
#[derive(Debug)]
pub struct ConnSlot {
    limit: Arc<ConnLimit>,
}

impl ConnLimit {
    /// Allows at most `max` connections at once.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            open: AtomicUsize::new(0),
            max,
        })
    }

    /// Takes a slot, or `None` when `max` are open.
    pub fn try_acquire(self: &Arc<Self>) -> Option<ConnSlot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| ConnSlot {
                limit: Arc::clone(self),
            })
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.limit.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_max_and_frees_on_drop() {
        let limit = ConnLimit::new(2);
        let a = limit.try_acquire().unwrap();
        let _b = limit.try_acquire().unwrap();
        assert!(limit.try_acquire().is_none());
        drop(a);
        assert!(limit.try_acquire().is_some());
    }
}
