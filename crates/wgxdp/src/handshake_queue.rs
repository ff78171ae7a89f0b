//! Between the handshake receiver and the handshake workers: a bounded queue of admitted handshake messages
//! (those that passed the cheap checks), how full it is deciding whether the device is "under load", and the
//! timer thread's wake-up.
//!
//! "Under load" (then only initiations proving their source address with a valid mac2, within the per-source
//! ratelimit, get Diffie-Hellman work; the rest get cookie replies) starts when the queue is more than 1/8 full
//! and lasts until it has been below that for a second (as Linux and wireguard-go keep it), so an attacker
//! cannot switch it off by pausing for a moment. Jobs are plain arrays: a flood does not allocate.

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wgxdp_device::Destination;
use wgxdp_wire::wg_layout;

/// Admitted handshake messages queued at most (wireguard-go's QueueHandshakeSize).
pub const HANDSHAKE_QUEUE_LEN: usize = 4096;
/// How long "under load" outlasts the queue's last time above 1/8 full.
const LOAD_HYSTERESIS: Duration = Duration::from_secs(1);
/// The largest handshake message (an initiation).
const MAX_LEN: usize = wg_layout::INITIATION_LEN;

/// One admitted message and its sender.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    /// Who sent it, to which of our addresses.
    pub from: Destination,
    len: usize,
    bytes: [u8; MAX_LEN],
}

impl Job {
    /// The message (`None` for one larger than a handshake message: never admitted).
    pub fn new(from: Destination, message: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; MAX_LEN];
        bytes.get_mut(..message.len())?.copy_from_slice(message);
        Some(Self {
            from,
            len: message.len(),
            bytes,
        })
    }

    /// The message's bytes.
    pub fn message(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// Why a message was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// The queue is full: the message is dropped (the peer retries).
    Full,
}

/// The queue and the load it shows; shared by the receiver (producer) and the handshake workers (consumers).
#[derive(Debug)]
pub struct HandshakeQueue {
    tx: Sender<Job>,
    rx: Receiver<Job>,
    capacity: usize,
    /// When the queue was last seen above 1/8 full (nanoseconds of the daemon clock; 0: never).
    last_loaded: AtomicU64,
    timer_tx: Sender<()>,
    timer_rx: Receiver<()>,
}

impl HandshakeQueue {
    /// A queue of `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        let (tx, rx) = bounded(capacity.max(1));
        let (timer_tx, timer_rx) = bounded(1);
        Self {
            tx,
            rx,
            capacity: capacity.max(1),
            last_loaded: AtomicU64::new(0),
            timer_tx,
            timer_rx,
        }
    }

    /// Whether the device is under load at `now`: the queue is more than 1/8 full, or was within the last second.
    pub fn under_load(&self, now: Duration) -> bool {
        let now_ns = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX).max(1);
        if self.tx.len() > self.capacity / 8 {
            self.last_loaded.store(now_ns, Ordering::Relaxed);
            return true;
        }
        let last = self.last_loaded.load(Ordering::Relaxed);
        last != 0 && now_ns.saturating_sub(last) < LOAD_HYSTERESIS.as_nanos() as u64
    }

    /// Queues an admitted message.
    pub fn push(&self, job: Job) -> Result<(), QueueError> {
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(QueueError::Full),
        }
    }

    /// The next admitted message, waiting up to `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Job> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Messages waiting.
    pub fn depth(&self) -> usize {
        self.tx.len()
    }

    /// Asks the timer thread to look at the device now (a packet was staged, configuration changed). Never
    /// blocks; a pending wake-up already does it.
    pub fn wake_timers(&self) {
        let _ = self.timer_tx.try_send(());
    }

    /// The timer thread's wait: until woken or `timeout` passes.
    pub fn wait_timers(&self, timeout: Duration) {
        let _ = self.timer_rx.recv_timeout(timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> Destination {
        Destination::routed("192.0.2.1:51820".parse().unwrap())
    }

    #[test]
    fn load_starts_above_an_eighth_and_lasts_a_second_after() {
        let queue = HandshakeQueue::new(16);
        let t = Duration::from_secs(100);
        assert!(!queue.under_load(t));
        for i in 0..3u8 {
            queue.push(Job::new(src(), &[i; 148]).unwrap()).unwrap();
        }
        // 3 > 16/8: under load.
        assert!(queue.under_load(t));
        while queue.next(Duration::ZERO).is_some() {}
        assert_eq!(queue.depth(), 0);
        // Drained, but the second has not passed.
        assert!(queue.under_load(t + Duration::from_millis(999)));
        assert!(!queue.under_load(t + Duration::from_millis(1001)));
    }

    #[test]
    fn a_full_queue_refuses_and_jobs_keep_their_bytes() {
        let queue = HandshakeQueue::new(2);
        queue.push(Job::new(src(), &[7; 92]).unwrap()).unwrap();
        queue.push(Job::new(src(), &[8; 148]).unwrap()).unwrap();
        assert_eq!(
            queue.push(Job::new(src(), &[9; 148]).unwrap()),
            Err(QueueError::Full)
        );
        let job = queue.next(Duration::ZERO).unwrap();
        assert_eq!((job.from, job.message()), (src(), &[7u8; 92][..]));
        assert!(
            Job::new(src(), &[0; 149]).is_none(),
            "nothing larger than an initiation"
        );
        queue.wake_timers();
        queue.wake_timers();
        let started = std::time::Instant::now();
        queue.wait_timers(Duration::from_secs(5));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a pending wake-up ends the wait"
        );
    }
}
