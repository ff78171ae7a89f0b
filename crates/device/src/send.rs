//! The one place where a transport message is sealed, for every sender: the workers' TUN packets (through
//! [`crate::TxBatch`]), keepalives and packets flushed after a handshake (the timer thread's [`crate::Outbox`]).
//!
//! The caller names where the message goes with a [`TxRoom`]: a buffer for one message to an endpoint, handed
//! out by whoever transmits it (an AF_XDP frame behind room for the outer headers, a slot of a `sendmmsg`
//! batch, an owned buffer of the outbox). The packet is copied once, behind the transport header in that
//! buffer, padded to the device's current MTU and sealed in place there.

use crate::destination::Destination;
use core::time::Duration;

use wgxdp_noise::{Keypair, TransportError};
use wgxdp_wire::wg_layout::TRANSPORT_HEADER_LEN;

use crate::counters::LiveCounters;
use crate::device::Device;
use crate::peer::Peer;

/// Where sealed transport messages go: whoever transmits them hands out one buffer per message.
pub trait TxRoom {
    /// A buffer for one message of at most `max_len` bytes to `to`, or `None` when there is no room now (a full
    /// ring or batch); nothing is consumed then and the caller may try again later. Only the first `max_len`
    /// bytes of the returned buffer are written.
    fn message_buffer(&mut self, to: Destination, max_len: usize) -> Option<&mut [u8]>;

    /// The message in the buffer last handed out is `len` bytes long and ready to go.
    fn commit(&mut self, to: Destination, len: usize);

    /// The buffer last handed out was not used (sealing failed): forget it.
    fn abandon(&mut self) {}
}

/// Why a message could not be sealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SealError {
    /// The room had no buffer: nothing was consumed.
    NoRoom,
    /// The keypair used up its counters: a new session is needed.
    CountersExhausted,
    /// The buffer or the AEAD refused the message.
    Failed,
}

/// Longest transport message a packet of `len` bytes can become: header, padding (at most 15 bytes) and tag.
pub const fn sealed_max_len(len: usize) -> usize {
    TRANSPORT_HEADER_LEN + len + Device::TAILROOM
}

impl Device {
    /// Seals `packet` on `keypair` into a buffer of `room` for `endpoint` and counts it (device and peer
    /// counters). The timers are the caller's to tell: a batch tells them once, the locked paths at once.
    pub(crate) fn seal_to(
        &self,
        peer: &Peer,
        keypair: &Keypair,
        to: Destination,
        packet: &[u8],
        room: &mut impl TxRoom,
    ) -> Result<usize, SealError> {
        let max_len = sealed_max_len(packet.len());
        let buf = room.message_buffer(to, max_len).ok_or(SealError::NoRoom)?;
        let sealed = buf
            .get_mut(TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + packet.len())
            .map(|payload| payload.copy_from_slice(packet))
            .ok_or(SealError::Failed)
            .and_then(|()| {
                keypair
                    .seal(buf, packet.len(), self.mtu())
                    .map_err(|e| match e {
                        TransportError::CountersExhausted => SealError::CountersExhausted,
                        _ => SealError::Failed,
                    })
            });
        match sealed {
            Ok(len) => {
                room.commit(to, len);
                peer.add_tx(len);
                LiveCounters::add(&self.counters.tx_packets, 1);
                LiveCounters::add(&self.counters.tx_bytes, len as u64);
                Ok(len)
            }
            Err(e) => {
                room.abandon();
                Err(e)
            }
        }
    }
}

/// Whether sending on `keypair` should start a new handshake (whitepaper "rekey on send"); the timers decide
/// at the next tick, this only makes sure that tick happens soon.
pub(crate) fn wants_rekey_on_send(keypair: &Keypair, now: Duration) -> bool {
    use wgxdp_noise::constants::{REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME};
    keypair.sending_counter() > REKEY_AFTER_MESSAGES
        || (keypair.is_initiator() && now.saturating_sub(keypair.birth()) >= REKEY_AFTER_TIME)
}
