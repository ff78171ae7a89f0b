//! The mappings of an AF_XDP socket's four rings: `getsockopt(XDP_MMAP_OFFSETS)` says where the producer,
//! consumer and flags words and the descriptors lie in each ring's mapping, and `mmap` at the ring's page offset
//! (`XDP_PGOFF_RX_RING`, `XDP_PGOFF_TX_RING`, `XDP_UMEM_PGOFF_FILL_RING`, `XDP_UMEM_PGOFF_COMPLETION_RING`) maps it.
//! Each [`RingMap`] unmaps its ring on drop; the ring that owns it (`xsk_ring.rs`) drops it last.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;

use crate::error::{Result, XdpError};
use crate::xsk_ring::{RingLayout, RingMemory};
use crate::xsk_setup::get_xdp_option;

/// Which of the four rings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RingKind {
    Fill,
    Completion,
    Rx,
    Tx,
}

impl RingKind {
    /// The mmap offset that selects this ring.
    fn page_offset(self) -> libc::off_t {
        match self {
            Self::Rx => libc::XDP_PGOFF_RX_RING,
            Self::Tx => libc::XDP_PGOFF_TX_RING,
            // 0x100000000 and 0x180000000: both fit `off_t` (i64) on every Linux target this crate builds for.
            Self::Fill => libc::XDP_UMEM_PGOFF_FILL_RING as libc::off_t,
            Self::Completion => libc::XDP_UMEM_PGOFF_COMPLETION_RING as libc::off_t,
        }
    }

    /// Bytes per descriptor: a UMEM address for fill/completion, an `xdp_desc` for RX/TX.
    pub(crate) fn desc_size(self) -> usize {
        match self {
            Self::Fill | Self::Completion => size_of::<u64>(),
            Self::Rx | Self::Tx => size_of::<libc::xdp_desc>(),
        }
    }

    fn offsets(self, all: &libc::xdp_mmap_offsets) -> &libc::xdp_ring_offset {
        match self {
            Self::Rx => &all.rx,
            Self::Tx => &all.tx,
            Self::Fill => &all.fr,
            Self::Completion => &all.cr,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Fill => "mapping the fill ring",
            Self::Completion => "mapping the completion ring",
            Self::Rx => "mapping the RX ring",
            Self::Tx => "mapping the TX ring",
        }
    }
}

/// Where the kernel placed each ring's parts (`XDP_MMAP_OFFSETS`). Needs the ring sizes set first.
pub(crate) fn mmap_offsets(fd: BorrowedFd<'_>) -> Result<libc::xdp_mmap_offsets> {
    let zero = libc::xdp_ring_offset {
        producer: 0,
        consumer: 0,
        desc: 0,
        flags: 0,
    };
    let mut offsets = libc::xdp_mmap_offsets {
        rx: zero,
        tx: zero,
        fr: zero,
        cr: zero,
    };
    let len = get_xdp_option(fd, libc::XDP_MMAP_OFFSETS, &mut offsets, "XDP_MMAP_OFFSETS")?;
    if len != size_of::<libc::xdp_mmap_offsets>() {
        // Kernels before 5.4 answer without the flags words that need-wakeup relies on.
        return Err(XdpError::InvalidConfig(format!(
            "the kernel's XDP_MMAP_OFFSETS answer has {len} bytes, not {}: kernel too old for AF_XDP need-wakeup",
            size_of::<libc::xdp_mmap_offsets>()
        )));
    }
    Ok(offsets)
}

/// One ring's shared mapping.
pub(crate) struct RingMap {
    area: NonNull<u8>,
    len: usize,
    producer: usize,
    consumer: usize,
    flags: usize,
    desc: usize,
    entries: u32,
    desc_size: usize,
}

// SAFETY: the mapping is owned by this value alone in this process (the kernel is the ring's other side); moving it
// to another thread moves that ownership, and all access to its words is atomic.
unsafe impl Send for RingMap {}

impl RingMap {
    /// Maps ring `kind` of socket `fd`, which has `entries` entries, at the offsets the kernel reported.
    pub(crate) fn new(
        fd: BorrowedFd<'_>,
        kind: RingKind,
        offsets: &libc::xdp_mmap_offsets,
        entries: u32,
    ) -> Result<Self> {
        let at = kind.offsets(offsets);
        let bad =
            |what: &str| XdpError::InvalidConfig(format!("{}: the kernel's {what}", kind.name()));
        let to_usize = |v: u64| usize::try_from(v).map_err(|_| bad("offsets overflow"));
        let (producer, consumer, flags, desc) = (
            to_usize(at.producer)?,
            to_usize(at.consumer)?,
            to_usize(at.flags)?,
            to_usize(at.desc)?,
        );
        let desc_size = kind.desc_size();
        let len = (entries as usize)
            .checked_mul(desc_size)
            .and_then(|bytes| bytes.checked_add(desc))
            .ok_or_else(|| bad("ring size overflows"))?;
        // The words must be aligned, inside the mapping and before the descriptors (where the kernel puts them);
        // the descriptors aligned for u64. Checked once here so the ring's unsafe accesses can rely on it.
        for word in [producer, consumer, flags] {
            if word % align_of::<AtomicU32>() != 0 || word + size_of::<AtomicU32>() > desc {
                return Err(bad("word offsets are unusable"));
            }
        }
        if desc % align_of::<u64>() != 0 {
            return Err(bad("descriptor offset is misaligned"));
        }
        // SAFETY: a shared mapping of the socket's ring at the kernel-defined page offset, at an address of the
        // kernel's choosing, so it replaces nothing of ours; `len` is what the kernel sized the ring to (offset of
        // the descriptors plus `entries` of them, as set by `set_ring_size`).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                kind.page_offset(),
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(XdpError::last_socket_error(kind.name()));
        }
        let area = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| bad("mapping is NULL"))?;
        Ok(Self {
            area,
            len,
            producer,
            consumer,
            flags,
            desc,
            entries,
            desc_size,
        })
    }

    fn at<T>(&self, offset: usize) -> NonNull<T> {
        // `offset` is inside the mapping (checked in `new`), so wrapping arithmetic gives the same pointer as
        // `add`, without unsafe; the mapping is never NULL, and neither is an address inside it.
        NonNull::new(self.area.as_ptr().wrapping_add(offset).cast::<T>())
            .unwrap_or(self.area.cast())
    }
}

// SAFETY: the mapping stays in place until `drop`, which only runs when the owning ring is gone; `new` checked that
// the three words are 4-byte aligned and lie before the descriptors, and that `entries` descriptors of `desc_size`
// bytes fit from `desc` to the end of the mapping. The kernel accesses the words atomically and follows the ring
// protocol for the descriptors.
unsafe impl RingMemory for RingMap {
    fn layout(&self) -> RingLayout {
        RingLayout {
            producer: self.at(self.producer),
            consumer: self.at(self.consumer),
            flags: self.at(self.flags),
            descs: self.at(self.desc),
            entries: self.entries,
            desc_size: self.desc_size,
        }
    }
}

impl Drop for RingMap {
    fn drop(&mut self) {
        // SAFETY: `area`/`len` are exactly the mapping made in `new`; the ring that owned this value, and with it
        // every pointer derived from it, is gone.
        let _ = unsafe { libc::munmap(self.area.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_sizes_match_the_kernel() {
        assert_eq!(RingKind::Fill.desc_size(), 8);
        assert_eq!(RingKind::Completion.desc_size(), 8);
        assert_eq!(RingKind::Rx.desc_size(), 16);
        assert_eq!(RingKind::Tx.desc_size(), 16);
        assert_eq!(RingKind::Fill.page_offset(), 0x1_0000_0000);
        assert_eq!(RingKind::Completion.page_offset(), 0x1_8000_0000);
    }
}
