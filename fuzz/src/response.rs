//! Target `handshake_response`: responses consumed by the device as initiator, with its handshake in flight.
//!
//! The device starts a handshake with one of its peers (a packet for it is staged); the peer answers with a real
//! response made by the noise crate (the fuzzer picks its index and ephemeral key). Up to four deliveries
//! follow, each the real response unchanged, flipped, overlaid (receiver index kept, so the in-flight lookup
//! succeeds) or replaced, with macs recomputed or not, under load or not, from any address, after a step of time,
//! optionally after the device's timers ran (which may retry with a new index), processed at once or screened
//! now and processed later, before the next message processed at once or at the end (the daemon's queue between
//! `screen_handshake` and `process_handshake`).
//!
//! What must hold, besides never panicking:
//! - the unchanged response, not under load, before any retry or queued response, completes the handshake; no
//!   handshake completes twice, whatever was queued;
//! - completing sends the staged packet (a keepalive once the device gave up and dropped it) to the sender,
//!   sealed under keys the peer derived, and only for a response whose authenticated fields are the real ones;
//! - a changed response whose macs were not recomputed is dropped as `bad_mac`;
//! - every drop is counted once under its reason.

use arbitrary::{Result, Unstructured};
use core::net::SocketAddr;

use wgxdp_device::{Device, DropReason, Inbound, MessageKind, Screened};
use wgxdp_noise::constants::REKEY_ATTEMPT_TIME;
use wgxdp_noise::Keypair;
use wgxdp_wire::wg_layout::{
    response, COOKIE_REPLY_LEN, MSG_INITIATION, MSG_TRANSPORT, RESPONSE_LEN,
};

use crate::initiation::source;
use crate::mutate::{derive, time_step};
use crate::scene::{device_tunnel_packet, keypair, Remote, Scene, REMOTES};

/// The target's entry point.
pub fn run(data: &[u8]) {
    // Running out of input ends the case early; that is not a finding.
    let _ = steps(&mut Unstructured::new(data));
}

/// What the harness knows while a case runs.
struct Case {
    scene: Scene,
    remote: Remote,
    r: usize,
    real: [u8; RESPONSE_LEN],
    peer_keys: Keypair,
    completed: bool,
    /// Time enough for the device to have given up on the handshake (it drops the staged packet then).
    maybe_gave_up: bool,
    /// Responses screened and admitted, waiting for the Diffie-Hellman step, as in the daemon's queue.
    queued: Vec<(SocketAddr, Vec<u8>)>,
}

fn steps(u: &mut Unstructured<'_>) -> Result<()> {
    let mut scene = Scene::new();
    let r = u.int_in_range(0..=REMOTES - 1)?;
    let mut remote = Remote::new(r);
    let init = scene
        .device_initiation(r)
        .expect("the device did not start a handshake for a staged packet");
    let local_index: u32 = u.arbitrary()?;
    let ephemeral: [u8; 32] = u.arbitrary()?;
    let Some((real, keys)) = remote.respond(&init, local_index, ephemeral, scene.now) else {
        // A low-order ephemeral key from the fuzzer: the noise crate refuses it, rightly.
        return Ok(());
    };
    let peer_keys = keypair(&keys, scene.now);
    let mut case = Case {
        scene,
        remote,
        r,
        real,
        peer_keys,
        completed: false,
        maybe_gave_up: false,
        queued: Vec::new(),
    };
    let started = case.scene.now;
    // A retry (new initiation, new index) seen, or the device may have given up.
    let mut retried = false;
    for _ in 0..4 {
        if u.is_empty() {
            break;
        }
        case.scene.now += time_step(u)?;
        if u.arbitrary::<bool>()? {
            // A retry replaces the initiation in flight; after REKEY_ATTEMPT_TIME the device gives up on it.
            let retry = case
                .scene
                .tick()
                .iter()
                .any(|(_, msg)| msg.first() == Some(&MSG_INITIATION));
            case.maybe_gave_up |= case.scene.now.saturating_sub(started) >= REKEY_ATTEMPT_TIME;
            retried |= retry || case.maybe_gave_up;
        }
        let under_load: bool = u.arbitrary()?;
        let from = source(u, case.remote.addr())?;
        let derived = derive(
            u,
            &case.real,
            Some(response::RECEIVER..response::RECEIVER + 4),
        )?;
        let mut msg = derived.msg;
        let refixed: bool = u.arbitrary()?;
        if refixed {
            case.remote.macs.add_macs(&mut msg, case.scene.now);
        }
        // Screened now, the Diffie-Hellman step later: what the daemon's queue allows.
        let deferred: bool = u.arbitrary()?;

        // A queued response processed first may complete the handshake (then this one must not).
        let must_complete = msg == case.real
            && !under_load
            && !case.completed
            && !retried
            && case.queued.is_empty()
            && !deferred;
        if !deferred {
            let queued = std::mem::take(&mut case.queued);
            case.process(queued);
        }
        let before = case.scene.dev.counters();
        let (verdict, sent) = if deferred {
            let (screened, sent) = case.scene.screen(from, &msg, under_load);
            let verdict = match screened {
                Screened::Admit => {
                    case.queued.push((from, msg.clone()));
                    Inbound::Consumed
                }
                Screened::Answered => Inbound::Consumed,
                Screened::Dropped(reason) => Inbound::Dropped(reason),
            };
            (verdict, sent)
        } else {
            case.scene.handshake(from, &msg, under_load)
        };
        let after = case.scene.dev.counters();
        crate::trace!(
            "response ({:?}, macs fixed {refixed}, under load {under_load}, deferred {deferred}, retried {retried}) at {:?}: {verdict:?}, sent {:?}",
            derived.how,
            case.scene.now,
            sent.iter().map(|(to, m)| (to, m.len())).collect::<Vec<_>>()
        );
        if let Inbound::Dropped(reason) = verdict {
            assert_eq!(
                after.dropped(reason),
                before.dropped(reason) + 1,
                "{reason:?} not counted once"
            );
        }
        let completes = case.check_answers(from, &msg, &sent, under_load);
        if must_complete {
            assert!(
                completes,
                "the real response to the handshake in flight was refused: {verdict:?}"
            );
        }
        let covered_changed = msg.get(..response::MAC2) != case.real.get(..response::MAC2);
        if Device::classify(&msg) == MessageKind::Response && covered_changed && !refixed {
            assert_eq!(
                verdict,
                Inbound::Dropped(DropReason::BadMac),
                "a changed response passed mac1"
            );
        }
    }
    let queued = std::mem::take(&mut case.queued);
    case.process(queued);
    Ok(())
}

impl Case {
    /// The Diffie-Hellman step for responses screened earlier, in the order they were admitted.
    fn process(&mut self, queued: Vec<(SocketAddr, Vec<u8>)>) {
        for (from, msg) in queued {
            let (verdict, sent) = self.scene.process(from, &msg);
            crate::trace!("queued response processed: {verdict:?}");
            self.check_answers(from, &msg, &sent, false);
        }
    }

    /// Checks what the device sent for response `msg` from `from`; returns whether it completed the handshake.
    fn check_answers(
        &mut self,
        from: SocketAddr,
        msg: &[u8],
        sent: &[(SocketAddr, Vec<u8>)],
        under_load: bool,
    ) -> bool {
        let mut completes = false;
        for (to, answer) in sent {
            assert_eq!(
                *to, from,
                "the device answered somewhere else than the sender"
            );
            match answer.first() {
                Some(&MSG_TRANSPORT) => {
                    completes = true;
                    assert!(!self.completed, "one handshake completed twice");
                    self.completed = true;
                    assert!(
                        msg.get(response::EPHEMERAL..response::MAC1)
                            == self.real.get(response::EPHEMERAL..response::MAC1),
                        "a response with forged authenticated fields completed the handshake"
                    );
                    if msg.get(response::SENDER..response::RECEIVER)
                        == self.real.get(response::SENDER..response::RECEIVER)
                    {
                        self.check_staged(answer);
                    }
                }
                Some(_) if answer.len() == COOKIE_REPLY_LEN => {
                    assert!(under_load, "cookie reply sent while not under load");
                }
                _ => panic!("the device answered a response with {} bytes", answer.len()),
            }
        }
        completes
    }

    /// The first message on the new session is the staged packet (or, once the device gave up and dropped it, a
    /// keepalive: a late response still completes, as in Linux and wireguard-go), under the peer's keys.
    fn check_staged(&self, answer: &[u8]) {
        let mut sealed = answer.to_vec();
        let opened = self
            .peer_keys
            .open(&mut sealed)
            .expect("the peer cannot open what the device sent on the new session");
        let staged = device_tunnel_packet(self.r);
        let plaintext = sealed.get(opened.plaintext.clone()).unwrap_or_default();
        if !(plaintext.is_empty() && self.maybe_gave_up) {
            assert_eq!(
                plaintext.get(..staged.len()),
                Some(staged.as_slice()),
                "the staged packet did not come out of the new session"
            );
        }
    }
}
