//! The wireguard-go drop-in form, `wgxdp IFNAME`: start the daemon as a detached child,
//! wait until it says the interface and UAPI socket are ready, then return.
//!
//! The child inherits the environment, so the `WGXDP_*` settings of `wgxdp up` (`WGXDP_IO`, `WGXDP_LINK`, ...)
//! reach it; they are checked here first, so that a bad value is an error on the caller's terminal.
//!
//! Handshake over the child's stdout pipe: the child (`wgxdp up IFNAME --notify-ready`)
//! writes exactly one line, `ready` or `error: MESSAGE`. EOF without a line means it died.
//!
//! Like wireguard-go, the child's stderr goes nowhere by default, so a caller capturing our
//! output is not held open by the daemon for its whole life. Its log goes to syslog instead
//! (`/dev/log`: journald or rsyslog), or to the file of `--log-file PATH` / `WGXDP_LOG_FILE`.
//! Where no syslog listens, the parent says so on its own stderr before returning; with
//! `LOG_LEVEL` set (as wireguard-go reads it) the child then inherits stderr.

use crate::cli::UpArgs;
use crate::logger;
use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

/// The line a ready child writes.
const READY: &str = "ready";
/// Prefix of the line a failing child writes.
const ERROR_PREFIX: &str = "error: ";

/// Runs the drop-in form: spawn, wait for `ready`, exit 0; otherwise report and exit 1.
pub fn run_detached(interface: &str, log_file: Option<&Path>) -> ExitCode {
    match spawn_and_wait(interface, log_file) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("wgxdp: {interface}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn spawn_and_wait(interface: &str, log_file: Option<&Path>) -> Result<(), String> {
    // The child (`wgxdp up IFNAME`) reads the same WGXDP_* environment; a bad value is refused here, on the
    // caller's stderr, rather than by a child whose stderr goes nowhere.
    UpArgs::from_env(interface)?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let mut command = Command::new(exe);
    command.args(["up", interface, "--notify-ready"]);
    match log_file {
        Some(path) => {
            command.arg("--log-file").arg(path);
        }
        None if logger::syslog_available() => {
            command.arg("--log-syslog");
        }
        None => eprintln!(
            "wgxdp: {interface}: no syslog listens on {}: the daemon's log is discarded once it is up \
             (use --log-file PATH or WGXDP_LOG_FILE to keep it)",
            logger::SYSLOG_SOCKET
        ),
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(child_stderr(log_file)?)
        // Own process group: a Ctrl-C meant for wg-quick's terminal does not reach the daemon.
        .process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start daemon: {e}"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| "daemon has no stdout pipe".to_owned())?;
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    let line = line.trim_end();
    match read {
        Ok(_) if line == READY => Ok(()),
        Ok(_) if line.starts_with(ERROR_PREFIX) => {
            let _ = child.wait();
            Err(line.trim_start_matches(ERROR_PREFIX).to_owned())
        }
        Ok(_) | Err(_) => {
            let status = child.wait().map_err(|e| e.to_string())?;
            Err(format!("daemon exited before it was ready ({status})"))
        }
    }
}

/// Where the detached daemon's stderr goes (what it prints before its log is set up, and its log where no
/// syslog listens).
fn child_stderr(log_file: Option<&Path>) -> Result<Stdio, String> {
    if let Some(path) = log_file {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
        return Ok(Stdio::from(file));
    }
    if std::env::var_os("LOG_LEVEL").is_some() {
        return Ok(Stdio::inherit());
    }
    Ok(Stdio::null())
}

/// The child's side: tells a waiting parent (if any) how start-up went.
#[derive(Debug)]
pub struct ReadyNotifier {
    enabled: bool,
}

impl ReadyNotifier {
    /// `enabled` when started with `--notify-ready`; otherwise every call does nothing.
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    /// The interface and UAPI socket are up: the parent may return.
    pub fn ready(&mut self) {
        self.send(READY);
    }

    /// Start-up failed: the parent prints `message` and fails.
    pub fn failed(&mut self, message: &str) {
        // One line: the parent reads only the first.
        let message = message.replace('\n', "; ");
        self.send(&format!("{ERROR_PREFIX}{message}"));
    }

    fn send(&mut self, line: &str) {
        if !self.enabled {
            return;
        }
        // Only the first report counts; later ones would go to a closed pipe.
        self.enabled = false;
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}
