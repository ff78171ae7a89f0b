//! Drives [`Handshakes`] over the generator's socket: sends what it asks for from each peer's own endpoint,
//! feeds it the answers the receive thread hands over, and stops at a condition or a deadline, whichever first.

use std::net::SocketAddrV4;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::clock;
use crate::gen_socket::GenSocket;
use crate::handshakes::{Handshakes, Outgoing};

/// Longest single wait for an answer, so deadlines and retransmissions are seen in time.
const MAX_WAIT: Duration = Duration::from_millis(10);

/// The handshakes and the I/O they need.
pub struct Driver<'a> {
    /// The peers' protocol state.
    pub engine: &'a mut Handshakes,
    socket: &'a GenSocket,
    answers: &'a Receiver<Vec<u8>>,
    dut: SocketAddrV4,
    rng: StdRng,
    /// Datagrams the kernel refused to send.
    pub send_errors: u64,
}

impl<'a> Driver<'a> {
    /// A driver sending to the DUT at `dut`.
    pub fn new(
        engine: &'a mut Handshakes,
        socket: &'a GenSocket,
        answers: &'a Receiver<Vec<u8>>,
        dut: SocketAddrV4,
    ) -> Self {
        Self {
            engine,
            socket,
            answers,
            dut,
            rng: StdRng::from_entropy(),
            send_errors: 0,
        }
    }

    /// Sends datagrams from their peers' endpoints.
    pub fn send(&mut self, out: &mut Vec<Outgoing>) {
        for message in out.drain(..) {
            let Some(peer) = self.engine.peers().get(message.peer as usize) else {
                continue;
            };
            if let Err(e) = self
                .socket
                .send_from(peer.endpoint, self.dut, &message.bytes)
            {
                if self.send_errors == 0 {
                    log::warn!("{e:#}");
                }
                self.send_errors += 1;
            }
        }
    }

    /// Runs until `done` holds or `deadline` (load generator clock) passes; returns whether `done` held.
    pub fn run_until(&mut self, deadline: Duration, done: impl Fn(&Handshakes) -> bool) -> bool {
        let mut out = Vec::new();
        loop {
            let now = clock::now();
            if done(self.engine) {
                return true;
            }
            if now >= deadline {
                return false;
            }
            self.engine
                .poll(now, clock::tai64n(), &mut self.rng, &mut out);
            self.send(&mut out);
            let wait = self
                .engine
                .next_wake()
                .map_or(MAX_WAIT, |at| at.saturating_sub(now))
                .clamp(Duration::from_micros(100), MAX_WAIT)
                .min(deadline.saturating_sub(now));
            match self.answers.recv_timeout(wait) {
                Ok(answer) => {
                    self.engine.on_answer(&answer, clock::now(), &mut out);
                    while let Ok(answer) = self.answers.try_recv() {
                        self.engine.on_answer(&answer, clock::now(), &mut out);
                    }
                    self.send(&mut out);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    log::error!(
                        "the generator's receive thread is gone: no more handshake answers"
                    );
                    return false;
                }
            }
        }
    }

    /// Throws away answers that arrived late (for handshakes no longer in flight).
    pub fn discard_answers(&mut self) {
        let mut out = Vec::new();
        while let Ok(answer) = self.answers.try_recv() {
            self.engine.on_answer(&answer, clock::now(), &mut out);
        }
        self.send(&mut out);
    }
}
