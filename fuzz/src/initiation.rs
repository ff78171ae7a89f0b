//! Target `handshake_initiation`: initiations consumed by the device as responder.
//!
//! Each case is a run of up to eight initiations from the device's two peers or from a stranger, each made by the
//! noise crate with the fuzzer's ephemeral key, sender index and timestamp (fresh, replayed or arbitrary), then
//! delivered unchanged, flipped, overlaid or replaced (see [`crate::mutate`]), with its macs recomputed or not,
//! under load or not, from the peer's address or another, after a chosen step of time. Cookie replies the device
//! sends are consumed, so later initiations carry a valid mac2.
//!
//! What must hold, besides never panicking:
//! - an unchanged initiation from a peer, not under load, with a timestamp newer than the last accepted one and
//!   20 ms after it, gets a response, which the peer accepts, after which a keepalive on the new keys is accepted;
//! - a response is only ever sent for an initiation whose authenticated fields are the real ones;
//! - a changed initiation whose macs were not recomputed is dropped as `bad_mac`;
//! - an unchanged initiation from the stranger, not under load, is dropped as `unknown_peer`;
//! - every drop is counted once under its reason.

use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

use arbitrary::{Result, Unstructured};
use wgxdp_device::{Device, DropReason, Inbound, MessageKind};
use wgxdp_noise::constants::INITIATION_MIN_INTERVAL;
use wgxdp_noise::Tai64N;
use wgxdp_wire::wg_layout::{initiation, COOKIE_REPLY_LEN, RESPONSE_LEN};

use crate::mutate::{derive, time_step, How};
use crate::scene::{keypair, Remote, Scene, REMOTES};

/// The target's entry point.
pub fn run(data: &[u8]) {
    // Running out of input ends the case early; that is not a finding.
    let _ = steps(&mut Unstructured::new(data));
}

/// What the harness knows of each remote.
#[derive(Clone, Copy, Default)]
struct History {
    /// The last timestamp the device accepted from it, and when.
    accepted: Option<(Tai64N, Duration)>,
    /// The last timestamp it sent.
    sent: Option<Tai64N>,
}

/// Any address, or one of the peers'.
pub fn source(u: &mut Unstructured<'_>, usual: SocketAddr) -> Result<SocketAddr> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => SocketAddr::new(IpAddr::from(u.arbitrary::<[u8; 4]>()?), u.arbitrary()?),
        1 => SocketAddr::new(IpAddr::from(u.arbitrary::<[u8; 16]>()?), u.arbitrary()?),
        _ => usual,
    })
}

fn steps(u: &mut Unstructured<'_>) -> Result<()> {
    let mut scene = Scene::new();
    // Made when first used: each costs a scalar multiplication and a Diffie-Hellman.
    let mut remotes: Vec<Option<Remote>> = (0..=REMOTES).map(|_| None).collect();
    let mut history = [History::default(); REMOTES + 1];
    for _ in 0..8 {
        if u.is_empty() {
            break;
        }
        scene.now += time_step(u)?;
        let r = u.int_in_range(0..=REMOTES)?;
        let timestamp = match u.int_in_range(0..=2u8)? {
            0 => scene.timestamp(),
            1 => history[r].sent.unwrap_or_else(|| scene.timestamp()),
            _ => Tai64N::from_bytes(u.arbitrary()?),
        };
        let ephemeral: [u8; 32] = u.arbitrary()?;
        let sender: u32 = u.arbitrary()?;
        let under_load: bool = u.arbitrary()?;
        let remote = remotes[r].get_or_insert_with(|| Remote::new(r));
        let from = source(u, remote.addr())?;
        let Some(real) = remote.initiation(sender, ephemeral, timestamp, scene.now) else {
            continue;
        };
        history[r].sent = Some(timestamp);
        let derived = derive(u, &real, None)?;
        let mut msg = derived.msg;
        let refixed: bool = u.arbitrary()?;
        if refixed {
            remote.macs.add_macs(&mut msg, scene.now);
        }

        let fresh = history[r].accepted.is_none_or(|(last, at)| {
            timestamp > last && scene.now.saturating_sub(at) >= INITIATION_MIN_INTERVAL
        });
        let before = scene.dev.counters();
        let (verdict, sent) = scene.handshake(from, &msg, under_load);
        let after = scene.dev.counters();
        crate::trace!(
            "initiation from remote {r} ({:?}, macs fixed {refixed}, under load {under_load}) at {:?}: {verdict:?}, sent {:?}",
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

        let mut responded = false;
        for (to, answer) in &sent {
            assert_eq!(
                *to, from,
                "the device answered somewhere else than the sender"
            );
            match answer.len() {
                COOKIE_REPLY_LEN => {
                    assert!(under_load, "cookie reply sent while not under load");
                    let reply: &[u8; COOKIE_REPLY_LEN] =
                        answer.as_slice().try_into().expect("length checked");
                    let consumed = remote.macs.consume_reply(reply, scene.now);
                    if derived.how == How::Real {
                        consumed.expect("the peer refuses the cookie reply to its own initiation");
                    }
                }
                RESPONSE_LEN => {
                    responded = true;
                    history[r].accepted = Some((timestamp, scene.now));
                    assert!(
                        msg.get(initiation::EPHEMERAL..initiation::MAC1)
                            == real.get(initiation::EPHEMERAL..initiation::MAC1),
                        "the device responded to an initiation with forged authenticated fields"
                    );
                    let response: &[u8; RESPONSE_LEN] =
                        answer.as_slice().try_into().expect("length checked");
                    if msg.get(initiation::SENDER..initiation::EPHEMERAL)
                        == real.get(initiation::SENDER..initiation::EPHEMERAL)
                    {
                        let keys = remote
                            .handshake
                            .consume_response(&remote.local, response)
                            .expect("the peer refuses the device's response to its own initiation");
                        confirm(&mut scene, from, &keys);
                    }
                }
                other => panic!("the device answered an initiation with {other} bytes"),
            }
        }

        let unchanged = msg == real;
        if unchanged && !under_load && r < REMOTES && fresh {
            assert!(
                responded,
                "a fresh initiation from a peer was refused: {verdict:?}"
            );
        }
        if unchanged && !under_load && r == REMOTES {
            assert_eq!(verdict, Inbound::Dropped(DropReason::UnknownPeer));
        }
        let covered_changed = msg.get(..initiation::MAC2) != real.get(..initiation::MAC2);
        if Device::classify(&msg) == MessageKind::Initiation && covered_changed && !refixed {
            assert_eq!(
                verdict,
                Inbound::Dropped(DropReason::BadMac),
                "a changed initiation passed mac1"
            );
        }
    }
    Ok(())
}

/// The peer sends a keepalive on the keys of the handshake just completed: the device must accept it.
fn confirm(scene: &mut Scene, from: SocketAddr, keys: &wgxdp_noise::SessionKeys) {
    let pair = keypair(keys, scene.now);
    let mut msg = vec![0u8; 32];
    let len = pair.seal(&mut msg, 0, 1420).expect("sealing a keepalive");
    msg.truncate(len);
    let verdict = scene.dev.receive_transport(from, &mut msg, scene.now);
    assert_eq!(
        verdict,
        Inbound::Consumed,
        "a keepalive on freshly agreed keys was refused"
    );
}
