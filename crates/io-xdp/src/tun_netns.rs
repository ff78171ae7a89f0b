//! Where a TUN device is, asked of its file descriptor: the two TUN ioctls a daemon needs to follow its interface
//! wherever it is moved (`ip link set wg0 netns B`) and to tell that move apart from a deletion.
//!
//! - `TUNGETIFF`: the interface's current name. Fails with `EBADFD` once the interface is deleted: the descriptor
//!   is then detached from any device, which is the one sure sign of a deletion (a move keeps it attached).
//! - `TUNGETDEVNETNS`: a new descriptor of the network namespace the interface is in now (Linux 5.2+), to open a
//!   netlink socket there.
//!
//! Both are `ioctl(2)` calls on a descriptor the caller owns; there is no safe wrapper for them in the crates this
//! workspace uses, so they live here, in the one crate allowed `unsafe`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `_IOR('T', 210, unsigned int)`; the kernel copies a whole `struct ifreq` all the same.
const TUNGETIFF: libc::c_ulong = 0x8004_54d2;
/// `_IO('T', 227)`.
const TUNGETDEVNETNS: libc::c_ulong = 0x54e3;
/// `sizeof(struct ifreq)` on Linux: a 16-byte name and a 24-byte union.
const IFREQ_LEN: usize = 40;

/// The current name of the interface `tun` is attached to; `EBADFD` once that interface was deleted.
pub fn tun_name(tun: BorrowedFd<'_>) -> io::Result<String> {
    let mut ifreq = [0u8; IFREQ_LEN];
    // SAFETY: TUNGETIFF writes at most one `struct ifreq` (IFREQ_LEN bytes) through the pointer, which points at a
    // local buffer of exactly that size that outlives the call; the descriptor is borrowed, so it is open.
    let rc = unsafe { libc::ioctl(tun.as_raw_fd(), TUNGETIFF as _, ifreq.as_mut_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let name = ifreq.get(..libc::IFNAMSIZ).unwrap_or_default();
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    String::from_utf8(name.get(..end).unwrap_or_default().to_vec())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "TUN name is not UTF-8"))
}

/// A descriptor of the network namespace the interface `tun` is attached to is in now.
pub fn tun_netns(tun: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: TUNGETDEVNETNS takes no argument and only returns a new descriptor (or -1); the descriptor it is
    // called on is borrowed, so it is open.
    let fd = unsafe { libc::ioctl(tun.as_raw_fd(), TUNGETDEVNETNS as _) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened by the kernel for this call and nothing else in the process knows it, so this
    // is its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_descriptor_that_is_not_a_tun_is_refused() {
        let file = std::fs::File::open("/dev/null").expect("/dev/null");
        assert!(tun_name(file.as_fd()).is_err());
        assert!(tun_netns(file.as_fd()).is_err());
    }
}
