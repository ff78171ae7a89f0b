//! What the sender sends: the next frame of a test, written into a transmit buffer. Ingress frames are copied out
//! of the sealed pool (and the send time of each sample is logged, for its latency); egress frames are made from
//! the peers' templates with the send time in the payload.

use crate::clock;
use crate::egress_frames::EgressFrames;
use crate::ingress_pool::IngressPool;

/// A sequence of frames, each sent once.
pub trait FrameSource {
    /// Writes the next frame into `out` and returns its length; `None` when there is none left (or it does not
    /// fit, which is a bug the caller reports as an end).
    fn write_next(&mut self, out: &mut [u8]) -> Option<usize>;
    /// Frames written so far.
    fn position(&self) -> u64;
    /// Whether every frame has been written.
    fn is_exhausted(&self) -> bool;
}

/// The ingress pool, in send order.
pub struct PoolSource<'a> {
    pool: &'a IngressPool,
    next: u64,
    sample_every: u64,
    /// Send time of sample `k` (position `k * sample_every`), on the load generator's clock.
    send_log: Vec<u64>,
}

impl<'a> PoolSource<'a> {
    /// Sends `pool` from its start; positions that are multiples of `sample_every` are samples.
    pub fn new(pool: &'a IngressPool, sample_every: u64) -> Self {
        let samples = if sample_every == 0 {
            0
        } else {
            pool.len().div_ceil(sample_every)
        };
        Self {
            pool,
            next: 0,
            sample_every,
            send_log: Vec::with_capacity(usize::try_from(samples).unwrap_or(0)),
        }
    }

    /// The send times of the samples sent, by sample number.
    pub fn into_send_log(self) -> Vec<u64> {
        self.send_log
    }
}

impl FrameSource for PoolSource<'_> {
    fn write_next(&mut self, out: &mut [u8]) -> Option<usize> {
        let frame = self.pool.frame(self.next)?;
        out.get_mut(..frame.len())?.copy_from_slice(frame);
        if self.sample_every != 0 && self.next.is_multiple_of(self.sample_every) {
            self.send_log.push(clock::now_ns());
        }
        self.next += 1;
        Some(frame.len())
    }

    fn position(&self) -> u64 {
        self.next
    }

    fn is_exhausted(&self) -> bool {
        self.next >= self.pool.len()
    }
}

/// Egress frames from templates; `limit` frames at most (`None`: until the test's time is up).
pub struct TemplateSource<'a> {
    frames: &'a mut EgressFrames,
    next: u64,
    limit: Option<u64>,
}

impl<'a> TemplateSource<'a> {
    /// Frames from `frames`, at most `limit` of them.
    pub fn new(frames: &'a mut EgressFrames, limit: Option<u64>) -> Self {
        Self {
            frames,
            next: 0,
            limit,
        }
    }
}

impl FrameSource for TemplateSource<'_> {
    fn write_next(&mut self, out: &mut [u8]) -> Option<usize> {
        if self.limit.is_some_and(|limit| self.next >= limit) {
            return None;
        }
        let len = self.frames.write(self.next, clock::now_ns(), out)?;
        self.next += 1;
        Some(len)
    }

    fn position(&self) -> u64 {
        self.next
    }

    fn is_exhausted(&self) -> bool {
        self.limit.is_some_and(|limit| self.next >= limit)
    }
}
