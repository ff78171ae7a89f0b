//! Target `device_rx`: transport messages through the device's receive batch.
//!
//! Two identical devices (same configuration, same seeded generator) receive the same messages: one in batches
//! (`Device::rx_batch`, as a worker does with one `recvmmsg` or one AF_XDP ring read), the other one message at
//! a time (`Device::receive_transport`). The remotes hold real sessions with the device (handshakes made by the
//! noise crate), so the fuzzer can seal messages on any of them with any counter, any plaintext (valid IPv4 or
//! IPv6 packets, spoofed inner sources, keepalives, garbage), hold them back and deliver them late, replay,
//! tamper with or truncate them, send raw messages to receiver indices that exist or not, let time pass, run the
//! timers and rekey.
//!
//! What must hold, besides never panicking:
//! - both devices give the same verdict and the same decrypted bytes for every message, and end each batch with
//!   the same counters and the same `get` state (a batch must leave the device where single messages would);
//! - a counter is opened at most once per session;
//! - on the newest session of a peer, not expired, a counter above every one opened so far is accepted: a valid
//!   packet from the peer's own address comes out byte for byte, a keepalive is consumed, a spoofed inner source
//!   is dropped by the ACL;
//! - nothing but a message sealed by a remote is ever opened (raw, tampered and truncated ones are dropped).

use core::net::SocketAddr;
use core::time::Duration;
use std::collections::HashSet;

use arbitrary::{Result, Unstructured};
use wgxdp_device::{DropReason, Inbound};
use wgxdp_noise::constants::REJECT_AFTER_TIME;
use wgxdp_noise::Keypair;
use wgxdp_wire::wg_layout::TRANSPORT_MIN_LEN;

use crate::initiation::source;
use crate::mutate::{some_bytes, time_step};
use crate::scene::{
    ipv4_packet, ipv6_packet, keypair, response_in, Remote, Scene, DEVICE_TUNNEL_V4,
    DEVICE_TUNNEL_V6, REMOTES,
};
use crate::scene::{remote_public, remote_tunnel_v4, remote_tunnel_v6};

/// Counters below this never meet the replay window's documented imprecision (a jump of 2^45 or more may refuse
/// a counter inside the window), so acceptance is asserted only below it.
const COUNTER_SURE: u64 = 1 << 44;

/// Operations per case.
const MAX_OPS: usize = 64;

/// The target's entry point.
pub fn run(data: &[u8]) {
    // Running out of input ends the case early; that is not a finding.
    let _ = steps(&mut Unstructured::new(data));
}

/// A remote's sending side of one handshake.
struct Session {
    remote: usize,
    keys: Keypair,
    born: Duration,
    /// Counters the device opened (accepted by the replay window, whatever came after).
    opened: HashSet<u64>,
    highest: Option<u64>,
    /// Whether this is the remote's newest session.
    newest: bool,
}

/// What a message sealed by a remote should do when it arrives fresh on time.
#[derive(Clone, Debug)]
enum Expect {
    /// Written to TUN, exactly these bytes.
    Tun(Vec<u8>),
    /// A keepalive.
    Consumed,
    /// Dropped by the reverse-path ACL.
    Acl,
    /// Opened; what the plaintext does next is not predicted.
    Opened,
}

/// A message made so far.
#[derive(Clone)]
struct Made {
    msg: Vec<u8>,
    /// Session, counter and expectation, for messages a remote sealed.
    sealed: Option<(usize, u64, Expect)>,
}

/// A message to deliver in the current batch.
struct Delivery {
    msg: Vec<u8>,
    src: SocketAddr,
    /// `Some` only for an unmodified sealed message.
    sealed: Option<(usize, u64, Expect)>,
}

struct Case {
    scenes: [Scene; 2],
    /// Made when first used: each costs a scalar multiplication and a Diffie-Hellman.
    remotes: Vec<Option<Remote>>,
    sessions: Vec<Session>,
    made: Vec<Made>,
    held: Vec<Made>,
    pending: Vec<Delivery>,
}

fn steps(u: &mut Unstructured<'_>) -> Result<()> {
    let mut case = Case {
        scenes: [Scene::new(), Scene::new()],
        remotes: (0..REMOTES).map(|_| None).collect(),
        sessions: Vec::new(),
        made: Vec::new(),
        held: Vec::new(),
        pending: Vec::new(),
    };
    case.connect(0, 1, [0x42; 32]);
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break;
        }
        match u.int_in_range(0..=8u8)? {
            0 | 1 => case.seal(u)?,
            2 => case.raw(u)?,
            3 => case.redeliver(u)?,
            4 => case.tamper(u)?,
            5 => case.deliver_held(u)?,
            6 => case.flush(),
            7 => case.advance(u)?,
            _ => case.rekey(u)?,
        }
    }
    case.flush();
    Ok(())
}

impl Case {
    fn now(&self) -> Duration {
        self.scenes[0].now
    }

    /// A handshake between remote `r` and both devices: a new newest session, if the device accepted it.
    fn connect(&mut self, r: usize, sender: u32, ephemeral: [u8; 32]) {
        let remote = self.remotes[r].get_or_insert_with(|| Remote::new(r));
        let now = self.scenes[0].now;
        let timestamp = self.scenes[0].timestamp();
        let Some(init) = remote.initiation(sender, ephemeral, timestamp, now) else {
            return;
        };
        let addr = remote.addr();
        let answers: Vec<_> = self
            .scenes
            .iter_mut()
            .map(|scene| response_in(&scene.handshake(addr, &init, false).1, addr))
            .collect();
        assert_eq!(
            answers[0], answers[1],
            "two identical devices answered one initiation differently"
        );
        let Some(response) = answers[0] else {
            return;
        };
        let Ok(keys) = remote.handshake.consume_response(&remote.local, &response) else {
            panic!("the remote refuses the device's response to its own initiation");
        };
        for session in self.sessions.iter_mut().filter(|s| s.remote == r) {
            session.newest = false;
        }
        self.sessions.push(Session {
            remote: r,
            keys: keypair(&keys, now),
            born: now,
            opened: HashSet::new(),
            highest: None,
            newest: true,
        });
    }

    /// Seals a plaintext the fuzzer chooses on a session, after moving its counter forward; delivers it now or
    /// holds it back.
    fn seal(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        if self.sessions.is_empty() {
            return Ok(());
        }
        let s = u.choose_index(self.sessions.len())?;
        let jump = match u.int_in_range(0..=4u8)? {
            0 => 0,
            1 => u.int_in_range(1..=100u64)?,
            2 => u.int_in_range(8_000..=8_300u64)?,
            3 => 1 << u.int_in_range(20..=63u32)?,
            _ => u.arbitrary()?,
        };
        let session = &self.sessions[s];
        let r = session.remote;
        let own4 = remote_tunnel_v4(r);
        let (plaintext, expect) = match u.int_in_range(0..=5u8)? {
            0 => (Vec::new(), Expect::Consumed),
            1 => {
                let packet = ipv4_packet(own4, DEVICE_TUNNEL_V4, some_bytes(u, 0, 64)?);
                (packet.clone(), Expect::Tun(packet))
            }
            2 => {
                let own6 = remote_tunnel_v6(r);
                let packet = ipv6_packet(own6, DEVICE_TUNNEL_V6, some_bytes(u, 0, 64)?);
                (packet.clone(), Expect::Tun(packet))
            }
            3 => {
                let spoofed = remote_tunnel_v4(r + 1 + u.int_in_range(0..=1usize)?);
                (
                    ipv4_packet(spoofed, DEVICE_TUNNEL_V4, b"spoofed"),
                    Expect::Acl,
                )
            }
            4 => {
                // A valid packet followed by garbage the device must trim off.
                let packet = ipv4_packet(own4, DEVICE_TUNNEL_V4, some_bytes(u, 0, 32)?);
                let mut padded = packet.clone();
                padded.extend_from_slice(some_bytes(u, 1, 20)?);
                (padded, Expect::Tun(packet))
            }
            _ => (some_bytes(u, 0, 200)?.to_vec(), Expect::Opened),
        };
        let counter = session.keys.sending_counter().saturating_add(jump);
        session.keys.advance_sending_counter_for_tests(counter);
        let counter = session.keys.sending_counter();
        let mut buf = vec![0u8; TRANSPORT_MIN_LEN + plaintext.len() + 16];
        buf[16..16 + plaintext.len()].copy_from_slice(&plaintext);
        let Ok(len) = session.keys.seal(&mut buf, plaintext.len(), 1420) else {
            // Counters exhausted: the remote would have to rekey.
            return Ok(());
        };
        buf.truncate(len);
        let made = Made {
            msg: buf,
            sealed: Some((s, counter, expect)),
        };
        self.made.push(made.clone());
        if u.arbitrary::<bool>()? {
            self.held.push(made);
        } else {
            let src = source(u, crate::scene::remote_addr(r))?;
            self.push(made, src);
        }
        Ok(())
    }

    fn push(&mut self, made: Made, src: SocketAddr) {
        self.pending.push(Delivery {
            msg: made.msg,
            src,
            sealed: made.sealed,
        });
    }

    /// A raw transport message: receiver index that exists (a session's, any of the device's) or any, any
    /// counter, any body.
    fn raw(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        let mut indices: Vec<u32> = self
            .sessions
            .iter()
            .map(|s| s.keys.remote_index())
            .collect();
        for i in 0..REMOTES {
            indices.extend(self.scenes[0].dev.receiver_indices_of(&remote_public(i)));
        }
        let receiver = if !indices.is_empty() && u.arbitrary::<bool>()? {
            indices[u.choose_index(indices.len())?]
        } else {
            u.arbitrary()?
        };
        let counter: u64 = u.arbitrary()?;
        let mut msg = vec![4, 0, 0, 0];
        msg.extend_from_slice(&receiver.to_le_bytes());
        msg.extend_from_slice(&counter.to_le_bytes());
        msg.extend_from_slice(some_bytes(u, 0, 96)?);
        let src = source(u, crate::scene::remote_addr(0))?;
        self.push(Made { msg, sealed: None }, src);
        Ok(())
    }

    /// Delivers again a message made earlier (a replay, or a first delivery of a held one out of order).
    fn redeliver(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        if self.made.is_empty() {
            return Ok(());
        }
        let made = self.made[u.choose_index(self.made.len())?].clone();
        let src = source(u, crate::scene::remote_addr(0))?;
        self.push(made, src);
        Ok(())
    }

    /// Delivers a message made earlier with a byte changed, or cut short: never to be opened.
    fn tamper(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        if self.made.is_empty() {
            return Ok(());
        }
        let mut msg = self.made[u.choose_index(self.made.len())?].msg.clone();
        if u.arbitrary::<bool>()? {
            let at = u.choose_index(msg.len())?;
            msg[at] ^= u.int_in_range(1..=255u8)?;
        } else {
            msg.truncate(u.int_in_range(0..=msg.len().saturating_sub(1))?);
        }
        let src = source(u, crate::scene::remote_addr(0))?;
        self.push(Made { msg, sealed: None }, src);
        Ok(())
    }

    fn deliver_held(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        let made = self.held.remove(u.choose_index(self.held.len())?);
        let src = match made
            .sealed
            .as_ref()
            .map(|(s, _, _)| self.sessions[*s].remote)
        {
            Some(r) => source(u, crate::scene::remote_addr(r))?,
            None => source(u, crate::scene::remote_addr(0))?,
        };
        self.push(made, src);
        Ok(())
    }

    /// Time passes and both devices run their timers, which must send the same things.
    fn advance(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        self.flush();
        let step = time_step(u)?;
        let sent: Vec<_> = self
            .scenes
            .iter_mut()
            .map(|scene| {
                scene.now += step;
                scene.tick()
            })
            .collect();
        assert_eq!(
            sent[0], sent[1],
            "the two devices' timers sent different things"
        );
        crate::trace!("time +{step:?}: timers sent {} messages", sent[0].len());
        Ok(())
    }

    /// A remote makes a new handshake (after the 20 ms initiation guard).
    fn rekey(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        self.flush();
        for scene in &mut self.scenes {
            scene.now += Duration::from_millis(25);
        }
        let r = u.choose_index(REMOTES)?;
        let sender: u32 = u.arbitrary()?;
        let ephemeral: [u8; 32] = u.arbitrary()?;
        self.connect(r, sender, ephemeral);
        crate::trace!("rekey remote {r}: {} sessions", self.sessions.len());
        Ok(())
    }

    /// Delivers the pending messages: as one batch to device 0, one by one to device 1; compares and checks.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let now = self.now();
        let mut batched = Vec::with_capacity(pending.len());
        let mut batch = self.scenes[0].dev.rx_batch(now);
        for delivery in &pending {
            let mut msg = delivery.msg.clone();
            let verdict = batch.receive(delivery.src, &mut msg);
            batched.push((verdict, msg));
        }
        batch.finish();
        for (delivery, (verdict, msg)) in pending.iter().zip(&batched) {
            let mut single = delivery.msg.clone();
            let one = self.scenes[1]
                .dev
                .receive_transport(delivery.src, &mut single, now);
            assert_eq!(*verdict, one, "a batch and single messages disagree");
            if let Inbound::Tun(range) = verdict {
                let out = msg
                    .get(range.clone())
                    .expect("TUN range outside the message");
                assert_eq!(
                    Some(out),
                    single.get(range.clone()),
                    "a batch and single messages decrypted differently"
                );
            }
            crate::trace!(
                "transport {} bytes, sealed {:?}: {verdict:?}",
                delivery.msg.len(),
                delivery
                    .sealed
                    .as_ref()
                    .map(|(s, counter, expect)| (s, counter, expect))
            );
            self.check(delivery, verdict, msg, now);
        }
        let [a, b] = &self.scenes;
        assert_eq!(
            a.dev.counters(),
            b.dev.counters(),
            "a batch and single messages counted differently"
        );
        let wall = a.wall();
        assert_eq!(
            a.dev.get_state(now, wall),
            b.dev.get_state(now, wall),
            "a batch left the device elsewhere"
        );
    }

    /// The model's checks for one verdict.
    fn check(&mut self, delivery: &Delivery, verdict: &Inbound, msg: &[u8], now: Duration) {
        let opened = matches!(
            verdict,
            Inbound::Tun(_)
                | Inbound::Consumed
                | Inbound::Dropped(DropReason::Acl)
                | Inbound::Dropped(DropReason::InvalidInnerPacket)
        );
        let Some((s, counter, expect)) = &delivery.sealed else {
            assert!(
                !opened,
                "a message no remote sealed was opened: {verdict:?}"
            );
            return;
        };
        let session = &mut self.sessions[*s];
        let fresh = session.newest
            && *counter < COUNTER_SURE
            && session.highest.is_none_or(|highest| *counter > highest)
            && now.saturating_sub(session.born) < REJECT_AFTER_TIME;
        if opened {
            assert!(
                session.opened.insert(*counter),
                "counter {counter} opened twice"
            );
            session.highest = session.highest.max(Some(*counter));
        }
        if !fresh {
            return;
        }
        match (expect, verdict) {
            (Expect::Tun(packet), Inbound::Tun(range)) => {
                assert_eq!(msg.get(range.clone()), Some(packet.as_slice()), "the packet came out changed");
            }
            (Expect::Consumed, Inbound::Consumed)
            | (Expect::Acl, Inbound::Dropped(DropReason::Acl))
            | (Expect::Opened, _)
                if opened => {}
            _ => panic!("fresh message {counter} on the newest session: expected {expect:?}, got {verdict:?}"),
        }
    }
}
