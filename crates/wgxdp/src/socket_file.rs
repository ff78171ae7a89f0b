//! Unix socket files the daemon serves on: where they live, creating their directory with
//! the right mode, refusing to start over a live daemon, and noticing when ours is deleted.

use std::fs::{self, DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a start waiting for a dying daemon looks again.
const DYING_POLL: Duration = Duration::from_millis(50);

/// Directory of the UAPI sockets, as `wg` looks for them.
pub const UAPI_DIR: &str = "/var/run/wireguard";
/// Directory of wgxdp's own control sockets (`explain`, `stats`).
pub const CONTROL_DIR: &str = "/var/run/wgxdp";

/// `/var/run/wireguard/IFNAME.sock`.
pub fn uapi_path(interface: &str) -> PathBuf {
    Path::new(UAPI_DIR).join(format!("{interface}.sock"))
}

/// `/var/run/wgxdp/IFNAME.ctl`.
pub fn control_path(interface: &str) -> PathBuf {
    Path::new(CONTROL_DIR).join(format!("{interface}.ctl"))
}

/// Why an interface name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterfaceNameError {
    /// Empty or longer than the kernel's 15 bytes.
    #[error("interface name {0:?} must be 1 to 15 bytes")]
    Length(String),
    /// `.`, `..`, a slash, a space or a control character.
    #[error("interface name {0:?} contains invalid characters")]
    Characters(String),
}

/// Checks an interface name before it is used in a path: the kernel limit (15 bytes) and no
/// characters that would escape the socket directory.
pub fn validate_interface_name(name: &str) -> Result<(), InterfaceNameError> {
    if name.is_empty() || name.len() > 15 {
        return Err(InterfaceNameError::Length(name.to_owned()));
    }
    if name == "." || name == ".." || name.bytes().any(|b| b == b'/' || b <= b' ' || b == 0x7f) {
        return Err(InterfaceNameError::Characters(name.to_owned()));
    }
    Ok(())
}

/// A bound listening socket whose file is removed when this is dropped, provided the file
/// is still the one we created.
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
    waited: Duration,
}

impl SocketFile {
    /// Creates `path`'s directory (mode 0700), clears a stale socket left by a dead daemon,
    /// binds, and sets the socket mode to 0600. A daemon still answering on `path` refuses us,
    /// unless it goes away within `patience`: a daemon that is shutting down (its interface was
    /// just deleted) releases its socket files first, so a restart right after waits for that
    /// instead of failing.
    pub fn bind(path: &Path, patience: Duration) -> io::Result<(UnixListener, SocketFile)> {
        if let Some(dir) = path.parent() {
            ensure_private_dir(dir)?;
        }
        let started = Instant::now();
        let mut slept = false;
        while fs::symlink_metadata(path).is_ok() {
            if UnixStream::connect(path).is_err() {
                // Nobody listens: a dead daemon's leftover.
                fs::remove_file(path)?;
                break;
            }
            if started.elapsed() >= patience {
                let waited = if patience.is_zero() {
                    String::new()
                } else {
                    format!(" (waited {:.1} s for it to exit)", patience.as_secs_f32())
                };
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{} is served by a running daemon{waited}", path.display()),
                ));
            }
            std::thread::sleep(DYING_POLL);
            slept = true;
        }
        let listener = UnixListener::bind(path)?;
        // The directory is 0700 already, so the short window before chmod exposes nothing.
        fs::set_permissions(path, Permissions::from_mode(0o600))?;
        let meta = fs::symlink_metadata(path)?;
        Ok((
            listener,
            SocketFile {
                path: path.to_owned(),
                dev: meta.dev(),
                ino: meta.ino(),
                waited: if slept {
                    started.elapsed()
                } else {
                    Duration::ZERO
                },
            },
        ))
    }

    /// How long [`SocketFile::bind`] waited for another daemon to let go of the path (zero when it did not).
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file is still there and still ours (not deleted, not replaced by another
    /// daemon). wireguard-go shuts down when its socket disappears; so do we.
    pub fn still_ours(&self) -> bool {
        fs::symlink_metadata(&self.path)
            .map(|m| m.dev() == self.dev && m.ino() == self.ino)
            .unwrap_or(false)
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if self.still_ours() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Creates `dir` (and parents) if needed and makes it mode 0700, owned by us.
fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    // An existing directory keeps its mode through create(): enforce it.
    fs::set_permissions(dir, Permissions::from_mode(0o700))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_checked() {
        assert!(validate_interface_name("wg0").is_ok());
        assert!(validate_interface_name("a-very-long-nam").is_ok());
        assert_eq!(
            validate_interface_name("a-very-long-name"),
            Err(InterfaceNameError::Length("a-very-long-name".into()))
        );
        assert!(validate_interface_name("").is_err());
        assert!(validate_interface_name("../x").is_err());
        assert!(validate_interface_name("..").is_err());
        assert_eq!(
            validate_interface_name("a b").map_err(|e| e.to_string()),
            Err("interface name \"a b\" contains invalid characters".into())
        );
    }

    #[test]
    fn socket_file_lifecycle() {
        let dir = std::env::temp_dir().join(format!("wgxdp-sockfile-{}", std::process::id()));
        let path = dir.join("sub").join("t.sock");
        let (listener, file) = SocketFile::bind(&path, Duration::ZERO).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
        assert!(file.still_ours());
        // A live listener makes a second bind refuse, at once or after the patience given.
        let err = SocketFile::bind(&path, Duration::ZERO).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let started = Instant::now();
        let err = SocketFile::bind(&path, Duration::from_millis(200)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(err.to_string().contains("waited"), "{err}");
        // A stale file (nobody listening) is replaced.
        drop(listener);
        std::mem::forget(file);
        let (_listener2, file2) = SocketFile::bind(&path, Duration::ZERO).unwrap();
        assert!(file2.still_ours());
        fs::remove_file(&path).unwrap();
        assert!(!file2.still_ours());
        drop(file2);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_dying_daemon_is_waited_for() {
        let dir = std::env::temp_dir().join(format!("wgxdp-sockfile-dying-{}", std::process::id()));
        let path = dir.join("d.sock");
        let (listener, file) = SocketFile::bind(&path, Duration::ZERO).unwrap();
        // The "old daemon" lets go after 150 ms, as a shutting-down one removes its files first.
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            drop(file);
            drop(listener);
        });
        let (_listener, again) = SocketFile::bind(&path, Duration::from_secs(5)).unwrap();
        releaser.join().unwrap();
        assert!(
            again.waited() >= Duration::from_millis(100),
            "{:?}",
            again.waited()
        );
        assert!(again.waited() < Duration::from_secs(5));
        drop(again);
        let _ = fs::remove_dir_all(&dir);
    }
}
