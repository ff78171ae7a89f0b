//! A test hook of debug builds: `WGXDP_TEST_FAULT=THREAD:panic` or `THREAD:wedge` makes every thread whose name
//! starts with THREAD panic, or block for good, as it starts, so the netns tests can check that the daemon notices
//! and exits with the reason. Release builds have no hook: this compiles to nothing there.

/// Applies the configured fault to the calling thread, named `thread`.
pub fn inject(thread: &str) {
    #[cfg(debug_assertions)]
    if let Ok(spec) = std::env::var("WGXDP_TEST_FAULT") {
        if let Some((target, mode)) = spec.split_once(':') {
            if !target.is_empty() && thread.starts_with(target) {
                match mode {
                    "panic" => panic!("WGXDP_TEST_FAULT asked {thread} to panic"),
                    "wedge" => loop {
                        std::thread::sleep(std::time::Duration::from_secs(3600));
                    },
                    _ => {}
                }
            }
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = thread;
}
