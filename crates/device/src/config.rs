//! Tunables of a [`crate::Device`] that are not part of the WireGuard configuration protocol.

/// Sizes and rates the device is built with. [`Default`] gives the values wireguard-go uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Interface MTU at start: transport padding never grows a plaintext past the live MTU, which starts here
    /// and follows [`crate::Device::set_mtu`]. Default 1420.
    pub mtu: usize,
    /// Packets kept per peer while its handshake is in flight; beyond this the oldest is dropped. Default 128.
    pub max_staged_per_peer: usize,
    /// Handshake messages accepted per second and source IP while under load. Default 20.
    pub handshake_rate_per_sec: u32,
    /// Handshake messages a source IP may send in a burst while under load. Default 5.
    pub handshake_burst: u32,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            mtu: 1420,
            max_staged_per_peer: 128,
            handshake_rate_per_sec: 20,
            handshake_burst: 5,
        }
    }
}
