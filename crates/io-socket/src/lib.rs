//! Kernel-socket and TUN I/O of the wgxdp endpoint (the non-XDP data path).
//!
//! * [`BatchUdpSocket`]: one UDP socket per address family on the listen port, non-blocking,
//!   large buffers, optional fwmark; [`BatchUdpSocket::recv_batch`] (recvmmsg + UDP GRO) and
//!   [`BatchUdpSocket::send_batch`] (sendmmsg + UDP GSO with automatic fallback).
//! * [`TunDevice`] / [`TunQueue`]: a multi-queue TUN with virtio-net offloads; reads split TSO/USO
//!   super-packets into MTU-sized packets ([`split_super_packet`]); writes go out in batches
//!   ([`TunWriteBatch`]) with TCP/UDP segments of a flow coalesced into super-packets.
//!
//! Every buffer is allocated up front; steady-state I/O does not allocate per packet.

mod error;
mod gso_split;
mod pktinfo;
mod reuseport;
mod sockaddr;
mod tun;
mod tun_batch;
mod tun_gro;
mod tun_write;
mod udp_options;
mod udp_recv;
mod udp_scratch;
mod udp_send;
mod udp_socket;
pub mod virtio;

#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod netns;

pub use error::BatchError;
pub use gso_split::{split_super_packet, SplitError};
pub use pktinfo::PacketInfo;
pub use reuseport::SocketGroup;
pub use tun::{TunConfig, TunDevice, TunQueue, DEFAULT_MTU};
pub use tun_batch::{TunRecvBatch, DEFAULT_TUN_SEGMENTS};
pub use tun_write::{TunOffload, TunWriteBatch};
pub use udp_options::{BufferSizes, UdpSocketOptions, DEFAULT_SOCKET_BUFFER};
pub use udp_recv::{Datagram, RecvBatch, MAX_DATAGRAM};
pub use udp_scratch::MAX_BATCH;
pub use udp_send::SendBatch;
pub use udp_socket::{bind_dual_stack, BatchUdpSocket, DualStackSockets};
pub use virtio::{VirtioNetHdr, VIRTIO_NET_HDR_LEN};
