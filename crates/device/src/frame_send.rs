//! Sealing a TUN packet straight into a transmit frame (the AF_XDP path).
//!
//! The outer headers in front of the transport message are 42 bytes for Ethernet + IPv4 + UDP and 62 for IPv6, and
//! which one applies depends on the peer's endpoint, known only once the packet is routed. So the caller passes a
//! callback that turns the endpoint into the header length; the packet is copied once (from the TUN batch into the
//! frame, behind the transport header) and encrypted in place there, leaving exactly the room the headers need.

use core::net::SocketAddr;
use core::time::Duration;

use wgxdp_noise::TransportError;
use wgxdp_wire::inner_packet;

use crate::device::Device;
use crate::drop_reason::DropReason;
use crate::verdict::{FramedOutbound, Outbound};

impl Device {
    /// Routes `packet` (one inner IP packet read from TUN) by its destination, asks `header_len` how many bytes of
    /// outer headers the peer's endpoint needs, and seals the packet into `frame` right after them. On
    /// [`FramedOutbound::Send`] the caller writes the headers into `frame[..start]`.
    ///
    /// `frame` must hold `header_len + HEADROOM + packet.len() + TAILROOM` bytes; a packet that does not fit is
    /// dropped as [`DropReason::SealFailed`]. Without a session the packet is staged, as [`Device::send`] does.
    pub fn send_into_frame<F>(
        &self,
        packet: &[u8],
        frame: &mut [u8],
        now: Duration,
        header_len: F,
    ) -> FramedOutbound
    where
        F: FnOnce(&SocketAddr) -> usize,
    {
        match self.seal_into_frame(packet, frame, now, header_len) {
            Ok(out) => out,
            Err(reason) => {
                self.counters.drop(reason);
                FramedOutbound::Dropped(reason)
            }
        }
    }

    fn seal_into_frame<F>(
        &self,
        packet: &[u8],
        frame: &mut [u8],
        now: Duration,
        header_len: F,
    ) -> Result<FramedOutbound, DropReason>
    where
        F: FnOnce(&SocketAddr) -> usize,
    {
        let inner = inner_packet(packet).map_err(|_| DropReason::InvalidInnerPacket)?;
        let peer_id = self.routes.lookup(inner.dst).ok_or(DropReason::NoRoute)?;
        let peer = self.peer_by_id(peer_id).ok_or(DropReason::NoRoute)?;
        let staged = |device: &Self| {
            device.stage(&peer, packet, now).map(|out| match out {
                Outbound::Staged => FramedOutbound::Staged,
                Outbound::Dropped(reason) => FramedOutbound::Dropped(reason),
                // `stage` never asks to send; treat it as a drop rather than trust it blindly.
                Outbound::Send { .. } => FramedOutbound::Dropped(DropReason::SealFailed),
            })
        };
        let Some(keypair) = peer.sending.load_full().filter(|k| !k.is_expired(now)) else {
            return staged(self);
        };
        // The endpoint decides the header length, so it is read before sealing; `record_sent` reads it again
        // after, and a roam in between only means this one packet goes to the address it was framed for.
        let endpoint = {
            let st = peer.lock();
            if st.removed {
                return Err(DropReason::NoRoute);
            }
            st.endpoint.ok_or(DropReason::NoEndpoint)?
        };
        let start = header_len(&endpoint);
        let message = frame.get_mut(start..).ok_or(DropReason::SealFailed)?;
        message
            .get_mut(Self::HEADROOM..Self::HEADROOM + packet.len())
            .ok_or(DropReason::SealFailed)?
            .copy_from_slice(packet);
        match keypair.seal(message, packet.len(), self.config.mtu) {
            Ok(len) => {
                self.record_sent(&peer, &keypair, len, now)?;
                Ok(FramedOutbound::Send {
                    endpoint,
                    start,
                    len,
                })
            }
            // Out of counters: this keypair is done; stage and rekey like having no session.
            Err(TransportError::CountersExhausted) => staged(self),
            Err(_) => Err(DropReason::SealFailed),
        }
    }
}
