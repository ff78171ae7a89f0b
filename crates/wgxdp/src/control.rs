//! The control socket `/var/run/wgxdp/IFNAME.ctl` (directory 0700, socket 0600) behind
//! `wgxdp explain` and `wgxdp stats`.
//!
//! Protocol (one request per connection, UTF-8 text):
//!
//! ```text
//! client: COMMAND [ARGUMENT]\n        COMMAND is `stats`, `stats-json` or `explain`
//! server: ok\n  BODY ... EOF          on success; BODY is the text to print
//!         error MESSAGE\n EOF         on failure
//! ```
//!
//! `explain` without an argument explains every peer; with an IP address it explains that
//! address; with a base64 public key, that peer. A request line longer than
//! [`MAX_REQUEST_LINE`] bytes, or one that does not arrive within the idle timeout, is
//! answered with an error (or just closed).

use crate::shared::Shared;
use crate::stats_report::StatsReport;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;
use wgxdp_device::PublicKey;

/// Longest request line accepted, newline included.
pub const MAX_REQUEST_LINE: usize = 256;
/// How long the client waits for the daemon's answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong with a control request, on either side.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Not a command the daemon knows.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// `stats` with an argument.
    #[error("stats takes no argument")]
    StatsArgument,
    /// The request could not be read.
    #[error("cannot read request: {0}")]
    ReadRequest(#[source] io::Error),
    /// No newline within [`MAX_REQUEST_LINE`] bytes.
    #[error("request must be one line of at most {MAX_REQUEST_LINE} bytes")]
    RequestLine,
    /// `explain KEY` for a key that is no peer's.
    #[error("no peer with public key {0}")]
    NoPeer(String),
    /// `explain X` where X is neither an address nor a key.
    #[error("{0:?} is neither an IP address nor a base64 public key")]
    BadSubject(String),
    /// Nothing listens on the control socket.
    #[error("no wgxdp daemon answers on {} ({source}); is the interface up?", path.display())]
    NoDaemon {
        /// The control socket.
        path: PathBuf,
        /// Why the connection failed.
        source: io::Error,
    },
    /// The control socket could not be connected to for another reason.
    #[error("cannot connect to {}: {source}", path.display())]
    Connect {
        /// The control socket.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The exchange failed half-way.
    #[error("talking to the daemon: {0}")]
    Io(#[source] io::Error),
    /// The daemon answered with an error.
    #[error("{0}")]
    Daemon(String),
    /// The daemon's answer was not one of the protocol's.
    #[error("malformed answer from the daemon")]
    Malformed,
}

/// A parsed control request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlRequest {
    /// Counters as a table (`json == false`) or one JSON object.
    Stats {
        /// JSON instead of a table.
        json: bool,
    },
    /// Explanations; `None` for every peer.
    Explain(Option<String>),
}

impl ControlRequest {
    /// Parses one request line (without its newline).
    pub fn parse(line: &str) -> Result<Self, ControlError> {
        let line = line.trim_end_matches('\r');
        let (command, argument) = match line.split_once(' ') {
            Some((c, a)) => (c, Some(a.trim())),
            None => (line, None),
        };
        match (command, argument) {
            ("stats", None) => Ok(Self::Stats { json: false }),
            ("stats-json", None) => Ok(Self::Stats { json: true }),
            ("explain", None) | ("explain", Some("")) => Ok(Self::Explain(None)),
            ("explain", Some(arg)) => Ok(Self::Explain(Some(arg.to_owned()))),
            ("stats" | "stats-json", Some(_)) => Err(ControlError::StatsArgument),
            _ => Err(ControlError::UnknownCommand(command.to_owned())),
        }
    }

    /// The request line, newline included.
    pub fn to_line(&self) -> String {
        match self {
            Self::Stats { json: false } => "stats\n".into(),
            Self::Stats { json: true } => "stats-json\n".into(),
            Self::Explain(None) => "explain\n".into(),
            Self::Explain(Some(arg)) => format!("explain {arg}\n"),
        }
    }
}

/// Server side: answers one connection.
pub fn handle_connection(shared: &Shared, stream: UnixStream) {
    let answer = read_request(&stream)
        .and_then(|line| ControlRequest::parse(&line))
        .and_then(|request| execute(shared, &request));
    let text = match answer {
        Ok(body) => format!("ok\n{body}"),
        Err(e) => format!("error {}\n", e.to_string().replace('\n', " ")),
    };
    let mut stream = stream;
    let _ = stream.write_all(text.as_bytes());
}

/// Reads the request line, bounded.
fn read_request(stream: &UnixStream) -> Result<String, ControlError> {
    let mut line = String::new();
    let limited = stream.take(MAX_REQUEST_LINE as u64);
    BufReader::new(limited)
        .read_line(&mut line)
        .map_err(ControlError::ReadRequest)?;
    match line.strip_suffix('\n') {
        Some(l) => Ok(l.to_owned()),
        None => Err(ControlError::RequestLine),
    }
}

/// The body answering `request`.
pub fn execute(shared: &Shared, request: &ControlRequest) -> Result<String, ControlError> {
    match request {
        ControlRequest::Stats { json: true } => Ok(StatsReport::collect(shared).to_json() + "\n"),
        ControlRequest::Stats { json: false } => Ok(StatsReport::collect(shared).to_table()),
        ControlRequest::Explain(None) => Ok(explain_all(shared)),
        ControlRequest::Explain(Some(subject)) => explain_one(shared, subject),
    }
}

fn explain_all(shared: &Shared) -> String {
    let peers = shared.device.explain_all();
    if peers.is_empty() {
        return format!("interface {} has no peers\n", shared.interface);
    }
    let mut out = String::new();
    let shadowed = peers.iter().filter(|p| !p.shadowed.is_empty()).count();
    for peer in &peers {
        let _ = writeln!(out, "{peer}");
    }
    let _ = writeln!(
        out,
        "{} peer(s); {shadowed} with allowed IPs shadowed by other peers' more specific prefixes",
        peers.len()
    );
    out
}

fn explain_one(shared: &Shared, subject: &str) -> Result<String, ControlError> {
    if let Ok(addr) = subject.parse::<IpAddr>() {
        return Ok(shared.device.explain_address(addr).to_string());
    }
    // Also accept ADDRESS/LEN: explain the prefix's first address.
    if let Some(addr) = subject
        .split_once('/')
        .and_then(|(a, _)| a.parse::<IpAddr>().ok())
    {
        return Ok(shared.device.explain_address(addr).to_string());
    }
    match PublicKey::from_base64(subject) {
        Ok(key) => shared
            .device
            .explain_peer(&key)
            .map(|p| p.to_string())
            .ok_or_else(|| ControlError::NoPeer(subject.to_owned())),
        Err(_) => Err(ControlError::BadSubject(subject.to_owned())),
    }
}

/// Client side: sends `request` to the daemon serving `path`, returns the body on `ok`.
pub fn request(path: &Path, request: &ControlRequest) -> Result<String, ControlError> {
    let mut stream = UnixStream::connect(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => ControlError::NoDaemon {
            path: path.to_owned(),
            source,
        },
        _ => ControlError::Connect {
            path: path.to_owned(),
            source,
        },
    })?;
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .map_err(ControlError::Io)?;
    stream
        .set_write_timeout(Some(CLIENT_TIMEOUT))
        .map_err(ControlError::Io)?;
    stream
        .write_all(request.to_line().as_bytes())
        .map_err(ControlError::Io)?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(ControlError::Io)?;
    match answer.split_once('\n') {
        Some(("ok", body)) => Ok(body.to_owned()),
        Some((status, _)) if status.starts_with("error ") => Err(ControlError::Daemon(
            status.trim_start_matches("error ").to_owned(),
        )),
        _ => Err(ControlError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_their_line() {
        for req in [
            ControlRequest::Stats { json: false },
            ControlRequest::Stats { json: true },
            ControlRequest::Explain(None),
            ControlRequest::Explain(Some("100.64.9.9".into())),
        ] {
            let line = req.to_line();
            assert_eq!(
                ControlRequest::parse(line.trim_end_matches('\n')).ok(),
                Some(req)
            );
        }
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(matches!(
            ControlRequest::parse(""),
            Err(ControlError::UnknownCommand(c)) if c.is_empty()
        ));
        assert_eq!(
            ControlRequest::parse("reboot")
                .map_err(|e| e.to_string())
                .err(),
            Some("unknown command \"reboot\"".into())
        );
        assert!(matches!(
            ControlRequest::parse("stats now"),
            Err(ControlError::StatsArgument)
        ));
        assert_eq!(
            ControlRequest::parse("explain ").ok(),
            Some(ControlRequest::Explain(None))
        );
    }
}
