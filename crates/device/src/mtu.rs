//! The device's live MTU: what transport padding caps at. The interface's MTU can change while the device runs
//! (`ip link set wg0 mtu 8921`, as wg-quick does after start), so it is an atomic the binary updates when the
//! kernel reports a change, not a start-time constant; every seal reads it.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::device::Device;

/// The smallest MTU the device accepts: IPv4's minimum (the kernel's own floor for a TUN). Smaller values are
/// raised to it, so padding arithmetic never sees a zero MTU.
pub const MIN_MTU: usize = 68;
/// The largest: an IP packet cannot be longer than 65 535 bytes.
pub const MAX_MTU: usize = 65_535;

/// The MTU as the device holds it: one atomic word, read on every seal (relaxed: a packet sealed with the old
/// value during a change is still a valid message, only padded to the old cap).
#[derive(Debug)]
pub(crate) struct LiveMtu(AtomicUsize);

impl LiveMtu {
    pub(crate) fn new(mtu: usize) -> Self {
        Self(AtomicUsize::new(clamp(mtu)))
    }

    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Stores `mtu` (clamped) and returns the value it replaced.
    pub(crate) fn set(&self, mtu: usize) -> usize {
        self.0.swap(clamp(mtu), Ordering::Relaxed)
    }
}

fn clamp(mtu: usize) -> usize {
    mtu.clamp(MIN_MTU, MAX_MTU)
}

impl Device {
    /// The interface MTU now: transport padding never grows a plaintext past it.
    pub fn mtu(&self) -> usize {
        self.live_mtu.get()
    }

    /// Follows an MTU change of the interface (clamped to [`MIN_MTU`]..=[`MAX_MTU`]); returns the previous value.
    pub fn set_mtu(&self, mtu: usize) -> usize {
        self.live_mtu.set(mtu)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Device, DeviceConfig};

    #[test]
    fn starts_at_the_configured_mtu_and_follows_changes() {
        let device = Device::new(DeviceConfig {
            mtu: 1420,
            ..DeviceConfig::default()
        });
        assert_eq!(device.mtu(), 1420);
        assert_eq!(device.set_mtu(8921), 1420);
        assert_eq!(device.mtu(), 8921);
        // Out-of-range values are clamped, never stored as is.
        device.set_mtu(0);
        assert_eq!(device.mtu(), super::MIN_MTU);
        device.set_mtu(1 << 20);
        assert_eq!(device.mtu(), super::MAX_MTU);
    }
}
