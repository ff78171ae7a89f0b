//! The generator's receive thread: reads what the DUT sends to the peers (what the sink program on the
//! generator's interface passes up) and sorts it with the wire crate's checked views. Handshake responses and
//! cookie replies go to the handshake driver; sampled transport data is decrypted with the peer's session and
//! checked against the plaintext the sink sent; initiations from the DUT and garbage are counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;
use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use wgxdp_io_socket::RecvBatch;
use wgxdp_noise::Keypair;
use wgxdp_wire::{message_type, MessageType};

use crate::clock;
use crate::datagram::{check_packet, Flow};
use crate::gen_socket::GenSocket;
use crate::netns;
use crate::samples::{Sample, SampleLog};

/// What the receive thread shares with the control thread.
#[derive(Default)]
pub struct GenShared {
    /// Live keypairs by local index: (peer, keypair).
    pub sessions: ArcSwap<HashMap<u32, (u32, Arc<Keypair>)>>,
    /// The plaintext flow each peer's egress sample must carry.
    pub egress_flows: ArcSwap<Vec<Flow>>,
    /// Egress samples of the current test.
    pub log: Mutex<SampleLog>,
    /// Handshake initiations the DUT sent to a peer (the load generator does not answer them).
    pub dut_initiations: AtomicU64,
    /// Keepalives from the DUT that reached the socket.
    pub keepalives: AtomicU64,
    /// Datagrams that are no WireGuard message, or transport data no live session opens.
    pub garbage: AtomicU64,
}

/// Counts the thread reports when it ends.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct GenRxCounts {
    /// Datagrams received.
    pub datagrams: u64,
    /// Handshake answers handed to the driver.
    pub answers: u64,
}

/// The running receive thread.
pub struct GenRx {
    handle: JoinHandle<Result<GenRxCounts>>,
    stop: Arc<AtomicBool>,
}

impl GenRx {
    /// Starts the thread on `socket`; handshake answers go to `answers`.
    pub fn start(
        socket: GenSocket,
        shared: Arc<GenShared>,
        answers: Sender<Vec<u8>>,
    ) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = netns::spawn_in(None, "gen-rx", move || {
            Ok(receive(&socket, &shared, &answers, &flag))
        })?;
        Ok(Self { handle, stop })
    }

    /// Stops the thread and returns its counts.
    pub fn stop(self) -> Result<GenRxCounts> {
        self.stop.store(true, Ordering::Relaxed);
        netns::join(self.handle)
    }
}

fn receive(
    socket: &GenSocket,
    shared: &GenShared,
    answers: &Sender<Vec<u8>>,
    stop: &AtomicBool,
) -> GenRxCounts {
    let mut counts = GenRxCounts::default();
    let mut batch = RecvBatch::with_slot_len(64, 2048);
    let socket = socket.socket();
    while !stop.load(Ordering::Relaxed) {
        match socket.wait_readable(Some(Duration::from_millis(50))) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                log::error!("generator socket: poll failed ({e}); receive thread stops");
                break;
            }
        }
        let n = match socket.recv_batch(&mut batch) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                log::error!("generator socket: receive failed ({e}); receive thread stops");
                break;
            }
        };
        let received_ns = clock::now_ns();
        for i in 0..n {
            counts.datagrams += 1;
            let Some(bytes) = batch.get_mut(i) else {
                continue;
            };
            match message_type(bytes) {
                Ok(MessageType::Response | MessageType::CookieReply) => {
                    counts.answers += 1;
                    let _ = answers.send(bytes.to_vec());
                }
                Ok(MessageType::Initiation) => {
                    shared.dut_initiations.fetch_add(1, Ordering::Relaxed);
                }
                Ok(MessageType::Transport) => transport(bytes, received_ns, shared),
                Err(_) => {
                    shared.garbage.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    counts
}

/// A transport message from the DUT: opened with the session it names, checked as an egress sample.
fn transport(message: &mut [u8], received_ns: u64, shared: &GenShared) {
    let Some(receiver) = message
        .get(4..8)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    else {
        shared.garbage.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let sessions = shared.sessions.load();
    let Some((peer, keypair)) = sessions.get(&receiver) else {
        shared.garbage.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let opened = match keypair.open(message) {
        Ok(opened) => opened,
        Err(e) => {
            log::debug!("transport data for peer {peer} does not open: {e}");
            shared.log_defect("undecryptable");
            return;
        }
    };
    if opened.plaintext.is_empty() {
        shared.keepalives.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let flows = shared.egress_flows.load();
    let Some(flow) = flows.get(*peer as usize) else {
        shared.log_defect("unexpected-data");
        return;
    };
    let mut log = shared.log.lock().unwrap_or_else(|e| e.into_inner());
    match check_packet(&message[opened.plaintext], flow) {
        Ok(payload) if payload.peer == *peer => log.samples.push(Sample {
            peer: payload.peer,
            seq: payload.seq,
            position: payload.position,
            received_ns,
            sent_ns: Some(payload.timestamp),
        }),
        Ok(_) => log.defect_named("wrong-peer"),
        Err(defect) => log.defect(defect),
    }
}

impl GenShared {
    fn log_defect(&self, name: &str) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .defect_named(name);
    }

    /// Takes the samples collected so far (the start or end of a test).
    pub fn take_log(&self) -> SampleLog {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
