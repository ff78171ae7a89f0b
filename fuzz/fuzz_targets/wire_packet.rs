#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wgxdp_fuzz::wire_packet::run(data));
