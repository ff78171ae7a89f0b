//! Target `cookie_reply`: cookie replies consumed by the device, with its handshake in flight.
//!
//! The device starts a handshake with one of its peers; the peer, under load, answers with a real cookie reply
//! made by the noise crate's `CookieChecker`. Up to four deliveries follow, each the real reply unchanged, flipped,
//! overlaid (receiver index kept) or replaced, from any address, after a step of time, optionally after the
//! device's timers ran.
//!
//! What must hold, besides never panicking:
//! - the device never answers a cookie reply;
//! - a reply is consumed at most once per message sent, and only if its nonce and sealed cookie are the real ones;
//! - the unchanged reply, before any retry, is consumed;
//! - once consumed, the device's next initiation carries a mac2 that the peer's checker accepts under load;
//! - every drop is counted once under its reason.

use core::time::Duration;

use arbitrary::{Result, Unstructured};
use rand::rngs::StdRng;
use rand::SeedableRng;
use wgxdp_device::Inbound;
use wgxdp_noise::constants::REKEY_ATTEMPT_TIME;
use wgxdp_noise::{source_bytes, CookieChecker, MacVerdict};
use wgxdp_wire::wg_layout::{
    cookie_reply, initiation, COOKIE_REPLY_LEN, INITIATION_LEN, MSG_INITIATION,
};

use crate::initiation::source as source_addr;
use crate::mutate::{derive, time_step};
use crate::scene::{Remote, Scene, DEVICE_ADDR, REMOTES};

/// The target's entry point.
pub fn run(data: &[u8]) {
    // Running out of input ends the case early; that is not a finding.
    let _ = steps(&mut Unstructured::new(data));
}

/// How long after its checker drew its secret a cookie is still sure to verify, with margin.
const COOKIE_SURE: Duration = Duration::from_secs(110);

fn steps(u: &mut Unstructured<'_>) -> Result<()> {
    let mut scene = Scene::new();
    let r = u.int_in_range(0..=REMOTES - 1)?;
    let remote = Remote::new(r);
    let init = scene
        .device_initiation(r)
        .expect("the device did not start a handshake for a staged packet");
    let mut rng = StdRng::seed_from_u64(u.arbitrary()?);
    let mut checker = CookieChecker::new(remote.local.public_key(), &mut rng, scene.now);
    let secret_born = scene.now;
    let (source, source_len) = source_bytes(DEVICE_ADDR);
    let source = &source[..source_len];
    let sender = u32::from_le_bytes(
        init[initiation::SENDER..initiation::SENDER + 4]
            .try_into()
            .expect("4 bytes"),
    );
    let mut real = [0u8; COOKIE_REPLY_LEN];
    checker
        .create_reply(&init, sender, source, scene.now, &mut rng, &mut real)
        .expect("the checker cannot answer the device's initiation");
    let started = scene.now;
    let mut consumed = false;
    // A retry (new initiation, new index) seen; and whether the device may have given up on the handshake.
    let mut replaced = false;
    let mut maybe_gave_up = false;
    for _ in 0..4 {
        if u.is_empty() {
            break;
        }
        scene.now += time_step(u)?;
        if u.arbitrary::<bool>()? {
            replaced |= scene
                .tick()
                .iter()
                .any(|(_, msg)| msg.first() == Some(&MSG_INITIATION));
            maybe_gave_up |= scene.now.saturating_sub(started) >= REKEY_ATTEMPT_TIME;
        }
        let under_load: bool = u.arbitrary()?;
        let from = source_addr(u, remote.addr())?;
        let derived = derive(
            u,
            &real,
            Some(cookie_reply::RECEIVER..cookie_reply::RECEIVER + 4),
        )?;
        let msg = derived.msg;

        let must_consume = msg == real && !consumed && !replaced && !maybe_gave_up;
        let before = scene.dev.counters();
        let (verdict, sent) = scene.handshake(from, &msg, under_load);
        let after = scene.dev.counters();
        crate::trace!(
            "cookie reply ({:?}) at {:?}: {verdict:?}",
            derived.how,
            scene.now
        );
        assert!(sent.is_empty(), "the device answered a cookie reply");
        if let Inbound::Dropped(reason) = verdict {
            assert_eq!(
                after.dropped(reason),
                before.dropped(reason) + 1,
                "{reason:?} not counted once"
            );
        }
        if verdict == Inbound::Consumed {
            assert!(
                !consumed,
                "a cookie reply was consumed twice for one initiation"
            );
            assert!(
                !replaced,
                "a cookie reply to a replaced initiation was consumed"
            );
            assert!(
                msg.get(cookie_reply::NONCE..) == real.get(cookie_reply::NONCE..),
                "a cookie reply with a forged cookie was consumed"
            );
            consumed = true;
            if scene.now.saturating_sub(secret_born) < COOKIE_SURE {
                replaced |= check_mac2(&mut scene, &mut checker, source, &mut rng);
            }
        } else if must_consume {
            panic!("the real cookie reply was refused: {verdict:?}");
        }
    }
    Ok(())
}

/// After the cookie was taken, the device's retry carries a mac2 the checker accepts under load.
/// Returns whether the device retried.
fn check_mac2(
    scene: &mut Scene,
    checker: &mut CookieChecker,
    source: &[u8],
    rng: &mut StdRng,
) -> bool {
    scene.now += Duration::from_millis(5_400);
    let retry = scene
        .tick()
        .into_iter()
        .find(|(_, msg)| msg.len() == INITIATION_LEN && msg.first() == Some(&MSG_INITIATION));
    let Some((_, msg)) = retry else {
        return false;
    };
    let verdict = checker.check(&msg, source, true, scene.now, rng);
    assert_eq!(
        verdict,
        MacVerdict::Valid,
        "the retry after a cookie reply has no valid mac2"
    );
    true
}
