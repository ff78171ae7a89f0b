//! Target `handshake_response`: responses consumed by the device as initiator, with its handshake in flight.
//!
//! The device starts a handshake with one of its peers (a packet for it is staged); the peer answers with a real
//! response made by the noise crate (the fuzzer picks its index and ephemeral key). Up to four deliveries
//! follow, each the real response unchanged, flipped, overlaid (receiver index kept, so the in-flight lookup
//! succeeds) or replaced, with macs recomputed or not, under load or not, from any address, after a step of time,
//! optionally after the device's timers ran (which may retry with a new index).
//!
//! What must hold, besides never panicking:
//! - the unchanged response, not under load, before any retry, completes the handshake, once;
//! - completing sends the staged packet (a keepalive once the device gave up and dropped it) to the sender,
//!   sealed under keys the peer derived, and only for a response whose authenticated fields are the real ones;
//! - a changed response whose macs were not recomputed is dropped as `bad_mac`;
//! - every drop is counted once under its reason.

use arbitrary::{Result, Unstructured};
use wgxdp_device::{Device, DropReason, Inbound, MessageKind};
use wgxdp_noise::constants::REKEY_ATTEMPT_TIME;
use wgxdp_wire::wg_layout::{response, COOKIE_REPLY_LEN, MSG_INITIATION, MSG_TRANSPORT};

use crate::initiation::source;
use crate::mutate::{derive, time_step};
use crate::scene::{device_tunnel_packet, keypair, Remote, Scene, REMOTES};

/// The target's entry point.
pub fn run(data: &[u8]) {
    // Running out of input ends the case early; that is not a finding.
    let _ = steps(&mut Unstructured::new(data));
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
    let started = scene.now;
    let mut completed = false;
    // A retry (new initiation, new index) seen, or time enough for the device to have given up.
    let mut retried = false;
    let mut maybe_gave_up = false;
    for _ in 0..4 {
        if u.is_empty() {
            break;
        }
        scene.now += time_step(u)?;
        if u.arbitrary::<bool>()? {
            // A retry replaces the initiation in flight; after REKEY_ATTEMPT_TIME the device gives up on it.
            let retry = scene
                .tick()
                .iter()
                .any(|(_, msg)| msg.first() == Some(&MSG_INITIATION));
            maybe_gave_up |= scene.now.saturating_sub(started) >= REKEY_ATTEMPT_TIME;
            retried |= retry || maybe_gave_up;
        }
        let under_load: bool = u.arbitrary()?;
        let from = source(u, remote.addr())?;
        let derived = derive(u, &real, Some(response::RECEIVER..response::RECEIVER + 4))?;
        let mut msg = derived.msg;
        let refixed: bool = u.arbitrary()?;
        if refixed {
            remote.macs.add_macs(&mut msg, scene.now);
        }

        let must_complete = msg == real && !under_load && !completed && !retried;
        let before = scene.dev.counters();
        let (verdict, sent) = scene.handshake(from, &msg, under_load);
        let after = scene.dev.counters();
        crate::trace!(
            "response ({:?}, macs fixed {refixed}, under load {under_load}, retried {retried}) at {:?}: {verdict:?}, sent {:?}",
            derived.how,
            scene.now,
            sent.iter().map(|(to, m)| (to, m.len())).collect::<Vec<_>>()
        );
        if let Inbound::Dropped(reason) = verdict {
            assert_eq!(
                after.dropped(reason),
                before.dropped(reason) + 1,
                "{reason:?} not counted once"
            );
        }

        let mut completes = false;
        for (to, answer) in &sent {
            assert_eq!(
                *to, from,
                "the device answered somewhere else than the sender"
            );
            match answer.first() {
                Some(&MSG_TRANSPORT) => {
                    completes = true;
                    assert!(!completed, "one handshake completed twice");
                    assert!(
                        msg.get(response::EPHEMERAL..response::MAC1)
                            == real.get(response::EPHEMERAL..response::MAC1),
                        "a response with forged authenticated fields completed the handshake"
                    );
                    if msg.get(response::SENDER..response::RECEIVER)
                        == real.get(response::SENDER..response::RECEIVER)
                    {
                        let mut sealed = answer.clone();
                        let opened = peer_keys
                            .open(&mut sealed)
                            .expect("the peer cannot open what the device sent on the new session");
                        let staged = device_tunnel_packet(r);
                        let plaintext = sealed.get(opened.plaintext.clone()).unwrap_or_default();
                        // Once the device gave up (REKEY_ATTEMPT_TIME) it dropped the staged packet; a late
                        // response still completes (as in Linux and wireguard-go), confirmed by a keepalive.
                        if !(plaintext.is_empty() && maybe_gave_up) {
                            assert_eq!(
                                plaintext.get(..staged.len()),
                                Some(staged.as_slice()),
                                "the staged packet did not come out of the new session"
                            );
                        }
                    }
                }
                Some(_) if answer.len() == COOKIE_REPLY_LEN => {
                    assert!(under_load, "cookie reply sent while not under load");
                }
                _ => panic!("the device answered a response with {} bytes", answer.len()),
            }
        }
        if must_complete {
            assert!(
                completes,
                "the real response to the handshake in flight was refused: {verdict:?}"
            );
        }
        completed |= completes;
        let covered_changed = msg.get(..response::MAC2) != real.get(..response::MAC2);
        if Device::classify(&msg) == MessageKind::Response && covered_changed && !refixed {
            assert_eq!(
                verdict,
                Inbound::Dropped(DropReason::BadMac),
                "a changed response passed mac1"
            );
        }
    }
    Ok(())
}
