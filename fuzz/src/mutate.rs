//! How the handshake harnesses turn a real message, made by the noise crate for the case at hand, into the one
//! they deliver: unchanged, with a few bytes flipped, with the fuzzer's bytes laid over it (the field named by
//! `keep` left real, so an index lookup can still succeed), or the fuzzer's bytes of any length.

use core::ops::Range;
use core::time::Duration;

use arbitrary::{Result, Unstructured};

/// The delivered message and whether it differs from the real one.
pub struct Derived {
    /// What is delivered.
    pub msg: Vec<u8>,
    /// How it was made.
    pub how: How,
}

/// The four ways of [`derive`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// The real message as made.
    Real,
    /// A few bytes flipped.
    Flipped,
    /// Fuzzer bytes over the real message's length, type word and the `keep` field kept.
    Overlaid,
    /// Fuzzer bytes of any length.
    Anything,
}

/// Derives the delivered message from `real`.
pub fn derive(
    u: &mut Unstructured<'_>,
    real: &[u8],
    keep: Option<Range<usize>>,
) -> Result<Derived> {
    let how = *u.choose(&[How::Real, How::Flipped, How::Overlaid, How::Anything])?;
    let msg = match how {
        How::Real => real.to_vec(),
        How::Flipped => {
            let mut msg = real.to_vec();
            for _ in 0..u.int_in_range(1..=4u8)? {
                let at = u.choose_index(msg.len().max(1))?;
                if let Some(byte) = msg.get_mut(at) {
                    *byte ^= u.int_in_range(1..=255u8)?;
                }
            }
            msg
        }
        How::Overlaid => {
            let mut msg = real.to_vec();
            for (at, byte) in msg.iter_mut().enumerate().skip(4) {
                if !keep.as_ref().is_some_and(|range| range.contains(&at)) {
                    *byte = u.arbitrary()?;
                }
            }
            msg
        }
        How::Anything => {
            let len = u.int_in_range(0..=real.len() + 16)?;
            u.bytes(len)?.to_vec()
        }
    };
    Ok(Derived { msg, how })
}

/// A step of simulated time: none, just under and over the 20 ms initiation guard, the 5 s retry, the 120 s cookie
/// and rekey age, the 180 s key expiry, or anything up to ten minutes.
pub fn time_step(u: &mut Unstructured<'_>) -> Result<Duration> {
    Ok(match u.int_in_range(0..=7u8)? {
        0 => Duration::ZERO,
        1 => Duration::from_millis(19),
        2 => Duration::from_millis(21),
        3 => Duration::from_millis(5_400),
        4 => Duration::from_secs(121),
        5 => Duration::from_secs(181),
        6 => Duration::from_secs(1),
        _ => Duration::from_millis(u.int_in_range(0..=600_000u64)?),
    })
}

/// Between `min` and `max` bytes of input (the length read first).
pub fn some_bytes<'a>(u: &mut Unstructured<'a>, min: usize, max: usize) -> Result<&'a [u8]> {
    let len = u.int_in_range(min..=max)?;
    u.bytes(len)
}
