//! `WGXDP_FUZZ_TRACE=1`: the harnesses print each step and verdict to stderr, for reading what a reproducer does
//! (`cargo fuzz run TARGET ARTIFACT` or the seed replay test). Off, it costs one cached flag test per step.

use std::sync::OnceLock;

/// Whether tracing is on.
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("WGXDP_FUZZ_TRACE").is_some())
}

/// Prints a trace line when tracing is on.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::trace::enabled() {
            eprintln!($($arg)*);
        }
    };
}
