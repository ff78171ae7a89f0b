#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wgxdp_fuzz::cookie_reply::run(data));
