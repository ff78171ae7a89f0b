//! Datagrams the control side of the device wants sent: handshake messages, cookie replies, keepalives and
//! flushed staged packets. Handshake rate, not packet rate, so plain owned buffers are fine.

use crate::destination::Destination;
use crate::send::TxRoom;

/// A queue of `(destination, UDP payload)` pairs for the caller to send, in order.
#[derive(Debug, Default)]
pub struct Outbox {
    datagrams: Vec<(Destination, Vec<u8>)>,
    /// The buffer handed out as a [`TxRoom`] and not committed yet.
    pending: Vec<u8>,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue one datagram.
    pub fn push(&mut self, to: Destination, payload: Vec<u8>) {
        self.datagrams.push((to, payload));
    }

    /// Number of datagrams queued.
    pub fn len(&self) -> usize {
        self.datagrams.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.datagrams.is_empty()
    }

    /// The queued datagrams, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &(Destination, Vec<u8>)> {
        self.datagrams.iter()
    }

    /// Take every queued datagram, leaving the outbox empty (and keeping its capacity).
    pub fn drain(&mut self) -> impl Iterator<Item = (Destination, Vec<u8>)> + '_ {
        self.datagrams.drain(..)
    }
}

/// Transport messages the timers send (keepalives, staged packets) are sealed straight into an owned buffer.
impl TxRoom for Outbox {
    fn message_buffer(&mut self, _to: Destination, max_len: usize) -> Option<&mut [u8]> {
        self.pending.clear();
        self.pending.resize(max_len, 0);
        Some(&mut self.pending)
    }

    fn commit(&mut self, to: Destination, len: usize) {
        let mut message = std::mem::take(&mut self.pending);
        message.truncate(len);
        self.datagrams.push((to, message));
    }
}
