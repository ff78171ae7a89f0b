//! The bounded queue from workers to the handshake thread.
//!
//! Handshake messages cost a Curve25519 operation each, so they are taken off the workers
//! and handled by one thread; how full this queue is decides whether the device is "under
//! load" (then it answers with cookie replies instead of doing the work). Buffers are
//! recycled through a small pool, so a flood does not allocate per message.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Mutex;
use std::time::Duration;

/// Handshake messages queued at most (wireguard-go's QueueHandshakeSize).
pub const HANDSHAKE_QUEUE_LEN: usize = 4096;
/// The largest handshake message (an initiation).
const MAX_HANDSHAKE_LEN: usize = 148;
/// Spare buffers kept for reuse.
const POOL_LEN: usize = 256;

/// A message for the handshake thread.
#[derive(Debug)]
pub enum Job {
    /// A handshake datagram (initiation, response or cookie reply) and its sender.
    Datagram(SocketAddr, Vec<u8>),
    /// Check `take_handshake_wanted` and timers now (a packet was staged, or config changed).
    Wake,
}

/// The sending side, shared by every worker and the control threads.
#[derive(Debug)]
pub struct HandshakeQueue {
    tx: SyncSender<Job>,
    depth: AtomicUsize,
    pool: Mutex<Vec<Vec<u8>>>,
}

/// Why a datagram was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// The queue is full: the datagram is dropped (the peer retries).
    Full,
    /// The handshake thread has stopped.
    Closed,
}

impl HandshakeQueue {
    /// A queue of `capacity` jobs and its receiving end.
    pub fn new(capacity: usize) -> (Self, HandshakeReceiver) {
        let (tx, rx) = sync_channel(capacity.max(1));
        let queue = Self {
            tx,
            depth: AtomicUsize::new(0),
            pool: Mutex::new(Vec::with_capacity(POOL_LEN)),
        };
        (queue, HandshakeReceiver { rx, capacity })
    }

    /// Queues a copy of `datagram` from `source`.
    pub fn push(&self, source: SocketAddr, datagram: &[u8]) -> Result<(), QueueError> {
        let mut buf = self
            .pool
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_else(|| Vec::with_capacity(MAX_HANDSHAKE_LEN));
        buf.clear();
        buf.extend_from_slice(datagram);
        // Count before sending so the receiver never sees a depth below zero.
        self.depth.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(Job::Datagram(source, buf)) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                let full = matches!(e, TrySendError::Full(_));
                if let TrySendError::Full(Job::Datagram(_, buf))
                | TrySendError::Disconnected(Job::Datagram(_, buf)) = e
                {
                    self.recycle(buf);
                }
                Err(if full {
                    QueueError::Full
                } else {
                    QueueError::Closed
                })
            }
        }
    }

    /// Asks the handshake thread to look at the device now. Never blocks; a full queue
    /// means the thread is awake anyway.
    pub fn wake(&self) {
        let _ = self.tx.try_send(Job::Wake);
    }

    /// Messages waiting.
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    /// Returns a processed datagram's buffer to the pool.
    pub fn recycle(&self, buf: Vec<u8>) {
        if buf.capacity() > MAX_HANDSHAKE_LEN * 2 {
            return;
        }
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < POOL_LEN {
                pool.push(buf);
            }
        }
    }

    /// Marks one datagram as taken off the queue.
    fn taken(&self) {
        self.depth.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What [`HandshakeReceiver::next`] found.
#[derive(Debug)]
pub enum Next {
    /// A job, and whether the device is under load.
    Job {
        /// The job.
        job: Job,
        /// The queue was more than 1/8 full.
        under_load: bool,
    },
    /// Nothing arrived in time.
    Timeout,
    /// Every sender is gone.
    Closed,
}

/// The handshake thread's end of the queue.
#[derive(Debug)]
pub struct HandshakeReceiver {
    rx: Receiver<Job>,
    capacity: usize,
}

impl HandshakeReceiver {
    /// Waits up to `timeout` for a job. For a datagram, also says whether the device is
    /// under load: the queue was more than 1/8 full when it was taken (wireguard-go's rule).
    pub fn next(&self, queue: &HandshakeQueue, timeout: Duration) -> Next {
        match self.rx.recv_timeout(timeout) {
            Ok(job) => {
                let under_load = match job {
                    Job::Datagram(..) => {
                        let depth = queue.depth();
                        queue.taken();
                        depth > self.capacity / 8
                    }
                    Job::Wake => false,
                };
                Next::Job { job, under_load }
            }
            Err(RecvTimeoutError::Timeout) => Next::Timeout,
            Err(RecvTimeoutError::Disconnected) => Next::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> SocketAddr {
        "192.0.2.1:51820".parse().unwrap()
    }

    #[test]
    fn load_is_more_than_an_eighth_full_and_full_queues_refuse() {
        let (queue, rx) = HandshakeQueue::new(16);
        for i in 0..16u8 {
            queue.push(src(), &[i; 148]).unwrap();
        }
        assert_eq!(queue.push(src(), &[0; 148]), Err(QueueError::Full));
        assert_eq!(queue.depth(), 16);
        // 16 queued, capacity/8 = 2: under load until at most 2 remain when taken.
        let mut loads = Vec::new();
        while let Next::Job {
            job,
            under_load: load,
        } = rx.next(&queue, Duration::ZERO)
        {
            let Job::Datagram(from, buf) = job else {
                panic!("unexpected wake");
            };
            assert_eq!(from, src());
            assert_eq!(buf.len(), 148);
            queue.recycle(buf);
            loads.push(load);
        }
        assert_eq!(loads.len(), 16);
        assert!(loads[..14].iter().all(|&l| l));
        assert!(loads[14..].iter().all(|&l| !l));
        assert_eq!(queue.depth(), 0);
        queue.wake();
        assert!(matches!(
            rx.next(&queue, Duration::ZERO),
            Next::Job {
                job: Job::Wake,
                under_load: false
            }
        ));
        assert!(matches!(rx.next(&queue, Duration::ZERO), Next::Timeout));
        drop(rx);
        assert_eq!(queue.push(src(), &[1; 92]), Err(QueueError::Closed));
    }
}
