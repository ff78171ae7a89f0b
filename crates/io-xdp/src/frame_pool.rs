//! The free list of UMEM frames owned by user space (in none of the kernel's rings).

use std::fmt;

/// Why a frame could not be returned to the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// The address is not inside the UMEM.
    OutOfRange(u64),
    /// The frame is already free: returning it twice would hand it out twice.
    DoubleFree(u64),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfRange(addr) => write!(f, "frame address {addr:#x} is outside the UMEM"),
            Self::DoubleFree(addr) => write!(f, "frame {addr:#x} returned to the pool twice"),
        }
    }
}

impl std::error::Error for PoolError {}

/// A LIFO free list of frame base addresses. LIFO keeps recently used (cache-warm) frames in circulation.
///
/// A per-frame "is free" bit catches a frame coming back twice (e.g. a kernel ring reporting one address twice),
/// which would otherwise let two owners write the same bytes.
#[derive(Debug)]
pub struct FramePool {
    free: Vec<u64>,
    is_free: Vec<bool>,
    frame_size: u64,
}

impl FramePool {
    /// A pool holding every one of `frame_count` frames of `frame_size` bytes.
    pub fn new(frame_count: u32, frame_size: u32) -> Self {
        let frame_size = u64::from(frame_size.max(1));
        let free = (0..u64::from(frame_count))
            .rev()
            .map(|i| i * frame_size)
            .collect();
        Self {
            free,
            is_free: vec![true; frame_count as usize],
            frame_size,
        }
    }

    /// Takes a free frame, returning its base address.
    pub fn alloc(&mut self) -> Option<u64> {
        let addr = self.free.pop()?;
        if let Some(bit) = self.is_free.get_mut((addr / self.frame_size) as usize) {
            *bit = false;
        }
        Some(addr)
    }

    /// Returns the frame that contains `addr` (any offset inside it) to the pool.
    pub fn free(&mut self, addr: u64) -> Result<(), PoolError> {
        let index = addr / self.frame_size;
        let bit = usize::try_from(index)
            .ok()
            .and_then(|i| self.is_free.get_mut(i))
            .ok_or(PoolError::OutOfRange(addr))?;
        if *bit {
            return Err(PoolError::DoubleFree(addr));
        }
        *bit = true;
        self.free.push(index * self.frame_size);
        Ok(())
    }

    /// Frames currently free.
    pub fn len(&self) -> usize {
        self.free.len()
    }

    /// Whether no frame is free.
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_each_frame_once_and_takes_them_back_at_any_offset() {
        let mut pool = FramePool::new(3, 2048);
        let mut got: Vec<u64> = std::iter::from_fn(|| pool.alloc()).collect();
        got.sort_unstable();
        assert_eq!(got, vec![0, 2048, 4096]);
        assert!(pool.is_empty());
        pool.free(2048 + 256).expect("offset inside frame 1");
        assert_eq!(pool.alloc(), Some(2048), "normalised to the frame base");
    }

    #[test]
    fn rejects_double_free_and_foreign_addresses() {
        let mut pool = FramePool::new(2, 4096);
        let a = pool.alloc().expect("frame");
        pool.free(a).expect("first free");
        assert_eq!(pool.free(a), Err(PoolError::DoubleFree(a)));
        assert_eq!(pool.free(2 * 4096), Err(PoolError::OutOfRange(8192)));
        assert_eq!(pool.free(u64::MAX), Err(PoolError::OutOfRange(u64::MAX)));
        assert_eq!(pool.len(), 2);
    }
}
