//! The generator's kernel UDP socket: bound to the peers' port on every address of the generator's namespace, it
//! sends each peer's handshake messages and keepalives from that peer's own source address (IP_PKTINFO), and
//! receives everything the DUT sends back that the sink program passes up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use wgxdp_io_socket::{BatchUdpSocket, PacketInfo, SendBatch, UdpSocketOptions};

/// The generator's socket.
#[derive(Clone)]
pub struct GenSocket {
    socket: Arc<BatchUdpSocket>,
}

impl GenSocket {
    /// Binds `0.0.0.0:port` in the calling thread's namespace, without GRO or GSO (every datagram on its own).
    pub fn bind(port: u16) -> Result<Self> {
        let options = UdpSocketOptions {
            gro: false,
            gso: false,
            ..UdpSocketOptions::default()
        };
        let socket =
            BatchUdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), &options)
                .with_context(|| format!("binding the generator's UDP socket to port {port}"))?;
        Ok(Self {
            socket: Arc::new(socket),
        })
    }

    /// The socket, for receiving (and for sendmmsg when the load itself goes through the kernel).
    pub fn socket(&self) -> &Arc<BatchUdpSocket> {
        &self.socket
    }

    /// Sends `bytes` from `from` (an address local to the generator's namespace) to `to`, through the io-socket
    /// crate's batched send with a per-datagram source address (IP_PKTINFO).
    pub fn send_from(&self, from: SocketAddrV4, to: SocketAddrV4, bytes: &[u8]) -> Result<()> {
        let mut batch = SendBatch::new(1, bytes.len());
        let slot = batch
            .next_slot_mut(bytes.len())
            .ok_or_else(|| anyhow!("a {}-byte datagram does not fit its batch", bytes.len()))?;
        slot.copy_from_slice(bytes);
        let source = PacketInfo {
            local: IpAddr::V4(*from.ip()),
            ifindex: 0,
        };
        batch.commit_slot(bytes.len(), SocketAddr::V4(to), Some(source));
        match self.socket.send_batch(&batch) {
            Ok(1) => Ok(()),
            Ok(_) => Err(anyhow!(
                "the kernel took nothing sending from {from} to {to}"
            )),
            Err(e) => Err(e).with_context(|| format!("sending from {from} to {to}")),
        }
    }
}
