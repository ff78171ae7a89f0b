//! The system calls that set an AF_XDP socket up: `socket(AF_XDP)`, the UMEM registration, the ring sizes, the
//! bind to (interface, queue), the wakeups, and typed `setsockopt`/`getsockopt` helpers shared by them.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::error::{Result, XdpError};
use crate::umem::Umem;

/// A value every bit pattern of which is valid, so the kernel may fill it in through `getsockopt`.
///
/// # Safety
///
/// Implement only for `repr(C)` structs of integers (the kernel's UAPI structs as `libc` defines them).
pub(crate) unsafe trait PlainData: Copy {}

// SAFETY: `repr(C)` structs of `u64`s (`xdp_ring_offset` x 4): every bit pattern is a valid value.
unsafe impl PlainData for libc::xdp_mmap_offsets {}
// SAFETY: a `repr(C)` struct of six `u64`s: every bit pattern is a valid value.
unsafe impl PlainData for libc::xdp_statistics {}

/// `setsockopt(fd, level, name, value)`; the error names `op`.
pub(crate) fn set_option<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    op: &'static str,
) -> Result<()> {
    // SAFETY: `value` is a live, initialised `T` for the duration of the call and the length passed is its size;
    // the kernel only reads it. `fd` is an open descriptor, borrowed for the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(value).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(XdpError::last_socket_error(op));
    }
    Ok(())
}

/// `getsockopt(fd, SOL_XDP, name)` into `value`; returns the number of bytes the kernel wrote (it may write fewer
/// than `T` has, on kernels with a shorter version of the struct).
pub(crate) fn get_xdp_option<T: PlainData>(
    fd: BorrowedFd<'_>,
    name: libc::c_int,
    value: &mut T,
    op: &'static str,
) -> Result<usize> {
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a live `T` that we own exclusively for the call, `len` says its size so the kernel writes
    // at most that many bytes, and any bytes it writes form a valid `T` (`PlainData`). `fd` is open.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_XDP,
            name,
            std::ptr::from_mut(value).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(XdpError::last_socket_error(op));
    }
    Ok(len as usize)
}

/// A new AF_XDP socket (close-on-exec).
pub(crate) fn open_socket() -> Result<OwnedFd> {
    // SAFETY: plain system call with constant arguments; it touches no memory of ours.
    let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(XdpError::last_socket_error("socket"));
    }
    // SAFETY: `fd` is a descriptor the kernel just opened for us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Registers `umem` with the socket (`XDP_UMEM_REG`: aligned chunks of the frame size, no headroom).
///
/// The kernel pins the area's pages and keeps them until the socket is closed, so unmapping it first is harmless
/// to the kernel; `XskSocket` still closes the socket before it unmaps the UMEM.
pub(crate) fn register_umem(fd: BorrowedFd<'_>, umem: &Umem) -> Result<()> {
    let (addr, len) = umem.area_range();
    let registration = libc::xdp_umem_reg {
        addr,
        len,
        chunk_size: umem.frame_size(),
        headroom: 0,
        flags: 0,
        tx_metadata_len: 0,
    };
    set_option(
        fd,
        libc::SOL_XDP,
        libc::XDP_UMEM_REG,
        &registration,
        "UMEM registration",
    )
}

/// Sets the number of entries of one ring (`XDP_UMEM_FILL_RING`, `XDP_UMEM_COMPLETION_RING`, `XDP_RX_RING`,
/// `XDP_TX_RING`).
pub(crate) fn set_ring_size(
    fd: BorrowedFd<'_>,
    ring: libc::c_int,
    entries: u32,
    op: &'static str,
) -> Result<()> {
    set_option(fd, libc::SOL_XDP, ring, &entries, op)
}

/// The index of interface `name` in the calling thread's network namespace.
pub(crate) fn interface_index(name: &CStr, ifname: &str) -> Result<u32> {
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        let source = std::io::Error::last_os_error();
        return Err(match source.raw_os_error() {
            Some(libc::ENODEV) | None => XdpError::UnknownInterface(ifname.to_string()),
            Some(errno) => XdpError::Socket {
                op: "interface lookup",
                errno,
            },
        });
    }
    Ok(index)
}

/// Binds the socket to queue `queue` of interface `ifindex` with `flags` (`XDP_COPY`, `XDP_ZEROCOPY`,
/// `XDP_USE_NEED_WAKEUP`).
pub(crate) fn bind(fd: BorrowedFd<'_>, ifindex: u32, queue: u32, flags: u16) -> Result<()> {
    let address = libc::sockaddr_xdp {
        sxdp_family: libc::AF_XDP as u16,
        sxdp_flags: flags,
        sxdp_ifindex: ifindex,
        sxdp_queue_id: queue,
        sxdp_shared_umem_fd: 0,
    };
    // SAFETY: `address` is a live, initialised sockaddr_xdp and the length passed is its size; the kernel only
    // reads it. `fd` is open.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            std::ptr::from_ref(&address).cast(),
            size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(XdpError::last_socket_error("bind"));
    }
    Ok(())
}

/// Kicks the kernel to transmit what waits on the TX ring (`sendto` with no data). Errors are the kernel saying
/// it is busy or the link is down (EAGAIN, EBUSY, ENOBUFS, ENETDOWN): the descriptors stay on the ring and the next
/// kick retries, so they are not reported.
pub(crate) fn wake_tx(fd: BorrowedFd<'_>) {
    // SAFETY: a zero-length send with null buffer and address, which the kernel never dereferences; `fd` is open.
    let _ = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            std::ptr::null(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null(),
            0,
        )
    };
}

/// Kicks the kernel to take frames from the fill ring: a `poll()` that waits for nothing and returns at once.
pub(crate) fn wake_fill(fd: BorrowedFd<'_>) {
    let mut fds = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: 0,
        revents: 0,
    };
    // SAFETY: `fds` is one valid, initialised pollfd that lives across the call, and the count passed is 1.
    let _ = unsafe { libc::poll(&mut fds, 1, 0) };
}
