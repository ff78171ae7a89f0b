//! Compiles the XDP steering program (`ebpf/wgxdp_steer.bpf.c`) into `OUT_DIR/wgxdp_steer.bpf.o`, which the crate
//! embeds. The C file includes no system headers, so a bare clang with the BPF target is all it needs.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let source = manifest_dir.join("../../ebpf/wgxdp_steer.bpf.c");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let object = out_dir.join("wgxdp_steer.bpf.o");
    println!("cargo:rerun-if-changed={}", source.display());
    println!("cargo:rerun-if-env-changed=CLANG");

    // CLANG lets a machine with several LLVM versions pick one (e.g. CLANG=clang-16).
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    let result = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror", "-c"])
        .arg(&source)
        .arg("-o")
        .arg(&object)
        .output();
    match result {
        Err(error) => panic!(
            "\n\nwgxdp-io-xdp: cannot run `{clang}` to compile the XDP program {}: {error}.\n\
             Install clang with BPF target support (Debian: `apt-get install -y --no-install-recommends clang llvm`)\n\
             or point the CLANG environment variable at one.\n",
            source.display()
        ),
        Ok(output) if !output.status.success() => panic!(
            "\n\nwgxdp-io-xdp: `{clang} -target bpf` failed on {}:\n{}\n",
            source.display(),
            String::from_utf8_lossy(&output.stderr)
        ),
        Ok(_) => {}
    }
}
