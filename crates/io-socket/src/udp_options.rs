//! Tunables of a batched UDP socket.

/// Default socket buffer request: large enough to absorb a burst of several full batches of
/// 64 KiB GRO super-datagrams per worker without kernel drops (same order as wireguard-go's 7 MiB).
pub const DEFAULT_SOCKET_BUFFER: usize = 7 << 20;

/// How a [`crate::BatchUdpSocket`] is set up at bind time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpSocketOptions {
    /// Requested SO_RCVBUF size in bytes (the kernel reports back roughly twice this).
    pub recv_buffer: usize,
    /// Requested SO_SNDBUF size in bytes.
    pub send_buffer: usize,
    /// SO_MARK (fwmark) for every packet sent, used by policy routing to keep tunnel
    /// traffic out of the tunnel. Needs CAP_NET_ADMIN.
    pub fwmark: Option<u32>,
    /// Ask for UDP GRO (received datagrams of one flow coalesced into super-datagrams).
    pub gro: bool,
    /// Use UDP GSO (UDP_SEGMENT) for runs of equal-size datagrams to one destination.
    pub gso: bool,
    /// SO_REUSEPORT, for the sockets of a [`crate::SocketGroup`].
    pub reuse_port: bool,
}

impl Default for UdpSocketOptions {
    fn default() -> Self {
        Self {
            recv_buffer: DEFAULT_SOCKET_BUFFER,
            send_buffer: DEFAULT_SOCKET_BUFFER,
            fwmark: None,
            gro: true,
            gso: true,
            reuse_port: false,
        }
    }
}

/// What the kernel actually granted for the socket buffers (SO_RCVBUF / SO_SNDBUF read back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferSizes {
    /// Granted receive buffer in bytes.
    pub recv: usize,
    /// Granted send buffer in bytes.
    pub send: usize,
    /// Whether the privileged *FORCE variants were accepted (otherwise capped by rmem_max/wmem_max).
    pub forced: bool,
}
