//! The committed seed corpora are what `seeds::all` makes, and every file in them (regression inputs included)
//! runs through its target without a finding. `WGXDP_FUZZ_WRITE_SEEDS=1` rewrites the generated seeds.

use std::fs;
use std::path::{Path, PathBuf};

use wgxdp_fuzz::{seeds, TARGETS};

fn seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target)
}

#[test]
fn seeds_are_current() {
    let write = std::env::var_os("WGXDP_FUZZ_WRITE_SEEDS").is_some();
    let mut stale = Vec::new();
    for (target, seeds) in seeds::all() {
        let dir = seed_dir(target);
        for (name, bytes) in seeds {
            let path = dir.join(&name);
            if write {
                fs::create_dir_all(&dir).expect("create the seed directory");
                fs::write(&path, &bytes).expect("write a seed");
            } else if fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "seeds out of date (rerun with WGXDP_FUZZ_WRITE_SEEDS=1): {stale:?}"
    );
}

#[test]
fn every_seed_replays_cleanly() {
    let mut replayed = 0;
    for (target, run) in TARGETS {
        let Ok(entries) = fs::read_dir(seed_dir(target)) else {
            panic!("no seed directory for {target}");
        };
        for entry in entries {
            let path = entry.expect("seed directory entry").path();
            let bytes = fs::read(&path).expect("read a seed");
            eprintln!("replaying {}", path.display());
            run(&bytes);
            replayed += 1;
        }
    }
    assert!(replayed >= TARGETS.len(), "only {replayed} seeds");
}
