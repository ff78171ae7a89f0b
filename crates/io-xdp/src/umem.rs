//! The UMEM: one page-aligned anonymous mapping cut into equal frames, shared with the kernel by an AF_XDP socket.
//!
//! The mapping is created and owned here; the only way
//! to touch its bytes is [`Umem::frame_bytes_mut`], which takes `&mut self` (so at most one frame is borrowed at a
//! time) and checks that the range lies inside one frame. Which frames the kernel currently owns (fill ring, RX ring
//! in flight, TX ring) is tracked by the socket, which only ever asks for frames it owns.

use std::io;
use std::ptr::NonNull;

use crate::error::{Result, XdpError};

/// Size of one UMEM frame. Aligned-mode AF_XDP needs a power of two between 2048 and the page size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FrameSize {
    /// 2048 bytes: fits a 1500-byte MTU frame plus headroom, halves the memory of 4096.
    #[default]
    Half,
    /// 4096 bytes: one page per frame.
    Page,
}

impl FrameSize {
    /// The size in bytes.
    pub const fn bytes(self) -> u32 {
        match self {
            Self::Half => 2048,
            Self::Page => 4096,
        }
    }
}

/// The anonymous mapping itself; unmapped on drop.
struct MmapArea {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is exclusively owned by this value (like a `Box<[u8]>`): no other handle to it exists in this
// process, so moving it to another thread cannot create shared mutable access.
unsafe impl Send for MmapArea {}

impl MmapArea {
    fn new(len: usize) -> io::Result<Self> {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no existing memory;
        // the arguments are all valid constants or a length checked non-zero by the caller.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                // POPULATE: fault the pages in now, not on the first packet of the data path.
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(Self { ptr, len })
    }
}

impl Drop for MmapArea {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe exactly the mapping created in `new`, and no reference into it outlives
        // `self` (every slice handed out borrows the owning `Umem`).
        let _ = unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// A UMEM region of `frame_count` frames of [`FrameSize`] bytes.
pub struct Umem {
    area: MmapArea,
    frame_size: u32,
    frame_count: u32,
}

impl Umem {
    /// Maps a zeroed, page-aligned region of `frame_count` frames.
    pub fn new(frame_count: u32, frame_size: FrameSize) -> Result<Self> {
        if frame_count == 0 {
            return Err(XdpError::InvalidConfig(
                "a UMEM needs at least one frame".into(),
            ));
        }
        let len = usize::try_from(u64::from(frame_count) * u64::from(frame_size.bytes())).map_err(
            |_| {
                XdpError::InvalidConfig(format!(
                    "{frame_count} frames do not fit the address space"
                ))
            },
        )?;
        let area = MmapArea::new(len).map_err(|source| XdpError::Io {
            op: "mapping the UMEM",
            source,
        })?;
        Ok(Self {
            area,
            frame_size: frame_size.bytes(),
            frame_count,
        })
    }

    /// Bytes per frame.
    pub fn frame_size(&self) -> u32 {
        self.frame_size
    }

    /// Number of frames.
    pub fn frame_count(&self) -> u32 {
        self.frame_count
    }

    /// The UMEM offset of frame `index`'s first byte, or `None` past the end.
    pub fn frame_addr(&self, index: u32) -> Option<u64> {
        (index < self.frame_count).then(|| u64::from(index) * u64::from(self.frame_size))
    }

    /// The offset of the first byte of the frame that contains UMEM offset `addr`. RX descriptors point past the
    /// kernel's headroom, so this is how a received address maps back to its frame.
    pub fn frame_base(&self, addr: u64) -> u64 {
        addr - addr % u64::from(self.frame_size)
    }

    /// `len` bytes at UMEM offset `addr`, or `None` unless the whole range lies inside one frame.
    ///
    /// Crate-private: only the socket, which knows which frames it owns (none is in a kernel ring), may ask.
    pub(crate) fn frame_bytes_mut(&mut self, addr: u64, len: usize) -> Option<&mut [u8]> {
        let in_frame = addr % u64::from(self.frame_size);
        let end_in_frame = in_frame.checked_add(u64::try_from(len).ok()?)?;
        if end_in_frame > u64::from(self.frame_size) {
            return None;
        }
        let start = usize::try_from(addr).ok()?;
        let end = start.checked_add(len)?;
        if end > self.area.len {
            return None;
        }
        // In bounds (checked above), so plain wrapping arithmetic gives the same pointer as `add` without unsafe.
        let first = self.area.ptr.as_ptr().wrapping_add(start);
        // SAFETY: `start..end` lies inside the mapping (checked above), which stays mapped while `self` is
        // borrowed; `&mut self` rules out any other Rust reference into the area for the slice's lifetime, and the
        // caller only passes frames that are in none of the kernel's rings, so the kernel does not write them.
        Some(unsafe { std::slice::from_raw_parts_mut(first, len) })
    }

    /// The area's address and length, as `XDP_UMEM_REG` registers them with the kernel.
    pub(crate) fn area_range(&self) -> (u64, u64) {
        (self.area.ptr.as_ptr() as u64, self.area.len as u64)
    }
}

impl std::fmt::Debug for Umem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Umem")
            .field("frame_size", &self.frame_size)
            .field("frame_count", &self.frame_count)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_bounds_checked_and_never_cross_a_frame() {
        let mut umem = Umem::new(4, FrameSize::Half).expect("mmap");
        assert_eq!(umem.frame_addr(3), Some(3 * 2048));
        assert_eq!(umem.frame_addr(4), None);
        assert_eq!(umem.frame_base(2048 + 256), 2048);
        let frame = umem
            .frame_bytes_mut(2048 + 256, 100)
            .expect("inside frame 1");
        frame.fill(0xab);
        assert!(
            umem.frame_bytes_mut(2048 + 2000, 100).is_none(),
            "crosses into frame 2"
        );
        assert!(umem.frame_bytes_mut(4 * 2048, 1).is_none(), "past the end");
        assert!(umem.frame_bytes_mut(u64::MAX, 1).is_none());
        let again = umem.frame_bytes_mut(2048, 2048).expect("whole frame");
        assert_eq!(again[256], 0xab);
        assert_eq!(again[255], 0, "fresh mapping is zeroed");
    }

    #[test]
    fn empty_umem_is_refused() {
        assert!(matches!(
            Umem::new(0, FrameSize::Page),
            Err(XdpError::InvalidConfig(_))
        ));
    }
}
