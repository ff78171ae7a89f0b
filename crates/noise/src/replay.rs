//! Sliding anti-replay window over transport counters (RFC 6479 style), shared lock-free by worker threads.
//!
//! # Layout
//!
//! The bitmap is a ring of 256 atomic 64-bit slots. Each slot holds 32 bitmap bits (the low half) for one
//! 32-counter *block*, and in its high half the low 32 bits of that block's *generation* (`counter >> 13`): block
//! `b` always lives in slot `b % 256`, so blocks `b`, `b + 256`, `b + 512` ... share a slot and are told apart by
//! the generation. `top` holds the highest counter accepted so far plus one (zero: nothing accepted yet).
//!
//! Instead of clearing the words the window slides over (which is what a single-threaded RFC 6479 window does,
//! and which is unsound without a lock: a thread that already decided a counter is inside the window could set
//! its bit in a word another thread has just cleared and handed to a newer block, accepting a counter twice), a
//! slot is *recycled lazily*: the first counter of a newer generation to reach it replaces bits and generation in
//! one compare-and-swap. A lock-free design is chosen because every worker thread receiving for a peer touches
//! this structure once per packet; the argument below is what makes it acceptable.
//!
//! # Why this is correct without a lock
//!
//! *Reading a slot's generation.* Only 32 generation bits fit beside the bitmap, so a slot's full generation is
//! reconstructed as the largest value `<= gen(highest accepted)` with those low bits. A slot is only ever
//! written after its writer raised `top` (release/acquire makes that `top` visible to whoever reads the slot), so
//! the true generation is never above the reference: the reconstruction is exact, or the slot is at least 2^32
//! generations (2^45 counters) stale, in which case any bits it holds are noise that can only cause refusals.
//!
//! 1. *At most once.* Call the reconstructed generation of a slot its *effective* generation. It never
//!    decreases: the reference only grows with `top`, and a swap that installs a new generation installs one
//!    above the effective generation of that moment. A counter is accepted only by a successful compare-and-swap
//!    that sets its bit while the slot's effective generation equals the counter's own. Afterwards the effective
//!    generation either stays equal (then the slot only had further bits ORed in, so the bit is still set) or is
//!    larger, and both refuse the counter. Of two threads racing on one counter exactly one swap succeeds; the
//!    other re-reads the slot and sees the bit.
//! 2. *Never behind the window.* A counter is refused when it is more than [`REPLAY_WINDOW`] behind the highest
//!    accepted counter, checked before AND after the successful swap (the second check catches a window that slid
//!    while this thread was between the two; its bit is then set, harmlessly, for a counter nobody may accept).
//!    Recycling a slot for block `b` discards only blocks `<= b - 256`, whose counters are at least `8192 - 31 >
//!    REPLAY_WINDOW` behind the counter doing the recycling, and that counter raised `top` before its swap, so the
//!    discarded counters are outside the window by then: no counter inside the window is ever forgotten.
//! 3. *No overflow.* Counters at or past [`REJECT_AFTER_MESSAGES`] are refused before any arithmetic, so
//!    `counter + REPLAY_WINDOW + 1` cannot overflow.
//!
//! The only imprecision is the stale-slot case above: after a peer jumps its counter forward by 2^45 or more, a
//! few counters inside the window may be refused (dropped), never accepted twice. The swap loop retries only when
//! another thread changed the same slot, i.e. made progress.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::constants::{REJECT_AFTER_MESSAGES, REPLAY_WINDOW};

/// Counters per slot (the low half of each 64-bit slot).
const BLOCK_BITS: u64 = 32;
/// Number of slots: 256 x 32 = 8192 bits, which leaves 64 bits of slack over the 8128-counter window.
const SLOTS: usize = 256;
/// `counter >> GENERATION_SHIFT` is the generation of the counter's block (log2 of 8192 bits).
const GENERATION_SHIFT: u32 = 13;

// The slack argument in point 2 of the module documentation needs the ring to exceed the window by a block.
const _: () = assert!(SLOTS as u64 * BLOCK_BITS >= REPLAY_WINDOW + BLOCK_BITS);
const _: () = assert!(1u64 << GENERATION_SHIFT == SLOTS as u64 * BLOCK_BITS);

/// Anti-replay window accepting each counter at most once, and nothing more than [`REPLAY_WINDOW`] counters
/// behind the highest counter accepted. `&self` methods: share one (inside its keypair) between worker threads.
pub struct ReplayWindow {
    /// Highest accepted counter plus one; zero before the first accepted counter.
    top: AtomicU64,
    /// Generation (high 32 bits) and bitmap (low 32 bits) of the block each slot currently represents.
    slots: [AtomicU64; SLOTS],
}

impl ReplayWindow {
    /// An empty window: every counter below [`REJECT_AFTER_MESSAGES`] is acceptable once.
    pub fn new() -> Self {
        Self {
            top: AtomicU64::new(0),
            slots: core::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Accept `counter` (returns `true`) if it is not too old and was not accepted before, marking it seen.
    ///
    /// Call this only AFTER the message carrying the counter has been authenticated: otherwise a forged counter
    /// could slide the window and make the peer's genuine messages look stale.
    pub fn check_and_update(&self, counter: u64) -> bool {
        if !self.inside_window(counter) {
            return false;
        }
        // Raise `top` before touching the slot: the generation reconstruction and point 2 rely on this order.
        let new_top = counter + 1;
        if self.top.load(Ordering::Acquire) < new_top {
            self.top.fetch_max(new_top, Ordering::AcqRel);
        }
        let slot = &self.slots[slot_index(counter)];
        let generation = generation_of(counter);
        let bit = bit_of(counter);
        let mut current = slot.load(Ordering::Acquire);
        loop {
            // Read `top` after the slot, so it is at least the `top` raised by whoever wrote what we read.
            let next = match self.classify(counter, current) {
                SlotAge::Newer => return false,
                SlotAge::Same if current & bit != 0 => return false,
                SlotAge::Same => current | bit,
                SlotAge::Older => (generation << 32) | bit,
            };
            match slot.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(seen) => current = seen,
            }
        }
        // Point 2: the window may have slid past `counter` while this thread was between the checks.
        self.inside_window(counter)
    }

    /// Whether `counter` would currently be accepted, without marking it. A cheap pre-filter that lets the
    /// receive path skip decrypting obvious replays; the answer may be stale by the time the caller acts on it,
    /// so acceptance must still go through [`check_and_update`](Self::check_and_update).
    pub fn would_accept(&self, counter: u64) -> bool {
        if !self.inside_window(counter) {
            return false;
        }
        let current = self.slots[slot_index(counter)].load(Ordering::Acquire);
        match self.classify(counter, current) {
            SlotAge::Newer => false,
            SlotAge::Same => current & bit_of(counter) == 0,
            SlotAge::Older => true,
        }
    }

    /// Highest counter accepted so far, if any.
    pub fn highest(&self) -> Option<u64> {
        self.top.load(Ordering::Acquire).checked_sub(1)
    }

    /// Not at or past the message limit, and at most [`REPLAY_WINDOW`] behind the highest accepted counter.
    fn inside_window(&self, counter: u64) -> bool {
        if counter >= REJECT_AFTER_MESSAGES {
            return false;
        }
        // `top` is highest + 1, so "highest - counter <= WINDOW" reads "top <= counter + WINDOW + 1"; the sum cannot
        // overflow because counter < REJECT_AFTER_MESSAGES = 2^64 - 8193.
        self.top.load(Ordering::Acquire) <= counter + REPLAY_WINDOW + 1
    }

    /// Compare the generation held by `slot` (the slot of `counter`) with the generation of `counter`.
    fn classify(&self, counter: u64, slot: u64) -> SlotAge {
        // Reference: the highest counter known, i.e. `top - 1`, or `counter` itself when it is the new highest
        // (only possible in `would_accept`, which does not raise `top`).
        let reference = self
            .top
            .load(Ordering::Acquire)
            .saturating_sub(1)
            .max(counter);
        let slot_generation = reconstruct_generation(slot, generation_of(reference));
        match slot_generation.cmp(&generation_of(counter)) {
            core::cmp::Ordering::Less => SlotAge::Older,
            core::cmp::Ordering::Equal => SlotAge::Same,
            core::cmp::Ordering::Greater => SlotAge::Newer,
        }
    }
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for ReplayWindow {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReplayWindow")
            .field("highest", &self.highest())
            .finish_non_exhaustive()
    }
}

/// How a slot's generation compares with the generation of the counter being checked.
enum SlotAge {
    /// The slot holds an older block: the counter's block has not been seen yet.
    Older,
    /// The slot holds the counter's own block.
    Same,
    /// The slot was recycled for a newer block: the counter is behind the window.
    Newer,
}

/// The largest generation `<= reference` whose low 32 bits are the ones stored in `slot` (see the module
/// documentation: exact unless the slot is more than 2^32 generations stale).
fn reconstruct_generation(slot: u64, reference: u64) -> u64 {
    let stored = slot >> 32;
    // Distance back from the reference to the nearest generation with the stored low bits (mod 2^32).
    let back = (reference.wrapping_sub(stored)) & u64::from(u32::MAX);
    // `back <= reference` unless the slot is untouched since before generation 2^32 wrapped; saturate then.
    reference.saturating_sub(back)
}

fn slot_index(counter: u64) -> usize {
    // Block number modulo the ring size; the mask keeps the value below SLOTS, so the cast is lossless.
    ((counter / BLOCK_BITS) % SLOTS as u64) as usize
}

/// Full generation of a counter's block; only its low 32 bits are stored in a slot.
fn generation_of(counter: u64) -> u64 {
    counter >> GENERATION_SHIFT
}

fn bit_of(counter: u64) -> u64 {
    1 << (counter % BLOCK_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ReplayWindow>();
    }

    #[test]
    fn would_accept_does_not_mark() {
        let w = ReplayWindow::new();
        assert!(w.would_accept(5));
        assert!(w.would_accept(5));
        assert!(w.check_and_update(5));
        assert!(!w.would_accept(5));
        assert_eq!(w.highest(), Some(5));
    }

    #[test]
    fn reconstruction_picks_the_nearest_generation_at_or_below_the_reference() {
        let slot = |generation: u64| (generation & u64::from(u32::MAX)) << 32;
        assert_eq!(reconstruct_generation(slot(7), 7), 7);
        assert_eq!(reconstruct_generation(slot(6), 7), 6);
        assert_eq!(reconstruct_generation(slot(0), 1 << 40), 1 << 40);
        assert_eq!(
            reconstruct_generation(slot(5), (1 << 40) + 3),
            (1 << 40) - (1 << 32) + 5
        );
        // Untouched slot (generation 0) far below the reference: recognised as older than anything recent.
        assert_eq!(
            reconstruct_generation(0, (1 << 51) - 2),
            (1 << 51) - (1 << 32)
        );
        // A reference below the stored bits' first occurrence saturates to zero instead of wrapping.
        assert_eq!(reconstruct_generation(slot(9), 3), 0);
    }
}
