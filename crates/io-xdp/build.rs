//! Compiles the XDP programs (`ebpf/wgxdp_steer.bpf.c`, and the load generator's `ebpf/wgxdp_sink.bpf.c`) into
//! `OUT_DIR/NAME.bpf.o`, which the crate embeds. The C files include no system headers, so a bare clang with the
//! BPF target is all they need.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CLANG");
    for name in ["wgxdp_steer", "wgxdp_sink"] {
        compile(name);
    }
}

fn compile(name: &str) {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let source = manifest_dir.join(format!("../../ebpf/{name}.bpf.c"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let object = out_dir.join(format!("{name}.bpf.o"));
    println!("cargo:rerun-if-changed={}", source.display());
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("../../ebpf/xdp_common.h").display()
    );

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
