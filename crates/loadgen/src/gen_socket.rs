//! The generator's kernel UDP socket: bound to the peers' port on every address of the generator's namespace, it
//! sends each peer's handshake messages and keepalives from that peer's own source address (IP_PKTINFO), and
//! receives everything the DUT sends back that the sink program passes up.

use std::io::IoSlice;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrIn};
use wgxdp_io_socket::{BatchUdpSocket, UdpSocketOptions};

/// Tries before a datagram that finds the socket buffer full is given up.
const SEND_TRIES: u32 = 50;

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

    /// Sends `bytes` from `from` (an address local to the generator's namespace) to `to`. A datagram the kernel
    /// keeps refusing (full buffer for 50 ms, no route) is reported as an error, never waited on forever.
    pub fn send_from(&self, from: SocketAddrV4, to: SocketAddrV4, bytes: &[u8]) -> Result<()> {
        let info = libc::in_pktinfo {
            ipi_ifindex: 0,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from(*from.ip()).to_be(),
            },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        let cmsg = [ControlMessage::Ipv4PacketInfo(&info)];
        let dest = SockaddrIn::from(to);
        let iov = [IoSlice::new(bytes)];
        for _ in 0..SEND_TRIES {
            match sendmsg(
                self.socket.as_raw_fd(),
                &iov,
                &cmsg,
                MsgFlags::empty(),
                Some(&dest),
            ) {
                Ok(_) => return Ok(()),
                Err(Errno::EAGAIN | Errno::ENOBUFS) => {
                    let _ = self.socket.wait_writable(Some(Duration::from_millis(1)));
                }
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e).with_context(|| format!("sending from {from} to {to}")),
            }
        }
        Err(anyhow::anyhow!(
            "socket buffer full for 50 ms sending from {from} to {to}"
        ))
    }
}
