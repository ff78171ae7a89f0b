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
use std::path::Path;
use std::time::Duration;
use wgxdp_device::PublicKey;

/// Longest request line accepted, newline included.
pub const MAX_REQUEST_LINE: usize = 256;
/// How long the client waits for the daemon's answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

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
    pub fn parse(line: &str) -> Result<Self, String> {
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
            ("stats" | "stats-json", Some(_)) => Err("stats takes no argument".into()),
            _ => Err(format!("unknown command {command:?}")),
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
    let answer = match read_request(&stream).and_then(|line| ControlRequest::parse(&line)) {
        Ok(request) => execute(shared, &request),
        Err(message) => Err(message),
    };
    let text = match answer {
        Ok(body) => format!("ok\n{body}"),
        Err(message) => format!("error {}\n", message.replace('\n', " ")),
    };
    let mut stream = stream;
    let _ = stream.write_all(text.as_bytes());
}

/// Reads the request line, bounded.
fn read_request(stream: &UnixStream) -> Result<String, String> {
    let mut line = String::new();
    let limited = stream.take(MAX_REQUEST_LINE as u64);
    BufReader::new(limited)
        .read_line(&mut line)
        .map_err(|e| format!("cannot read request: {e}"))?;
    match line.strip_suffix('\n') {
        Some(l) => Ok(l.to_owned()),
        None => Err(format!(
            "request must be one line of at most {MAX_REQUEST_LINE} bytes"
        )),
    }
}

/// The body answering `request`.
pub fn execute(shared: &Shared, request: &ControlRequest) -> Result<String, String> {
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

fn explain_one(shared: &Shared, subject: &str) -> Result<String, String> {
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
            .ok_or_else(|| format!("no peer with public key {subject}")),
        Err(_) => Err(format!(
            "{subject:?} is neither an IP address nor a base64 public key"
        )),
    }
}

/// Client side: sends `request` to the daemon serving `path`, returns the body on `ok`.
pub fn request(path: &Path, request: &ControlRequest) -> Result<String, String> {
    let mut stream = UnixStream::connect(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => format!(
            "no wgxdp daemon answers on {} ({e}); is the interface up?",
            path.display()
        ),
        _ => format!("cannot connect to {}: {e}", path.display()),
    })?;
    let io_err = |e: io::Error| format!("talking to the daemon: {e}");
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .map_err(io_err)?;
    stream
        .set_write_timeout(Some(CLIENT_TIMEOUT))
        .map_err(io_err)?;
    stream
        .write_all(request.to_line().as_bytes())
        .map_err(io_err)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(io_err)?;
    match answer.split_once('\n') {
        Some(("ok", body)) => Ok(body.to_owned()),
        Some((status, _)) if status.starts_with("error ") => {
            Err(status.trim_start_matches("error ").to_owned())
        }
        _ => Err("malformed answer from the daemon".into()),
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
            assert_eq!(ControlRequest::parse(line.trim_end_matches('\n')), Ok(req));
        }
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(ControlRequest::parse("").is_err());
        assert!(ControlRequest::parse("reboot").is_err());
        assert!(ControlRequest::parse("stats now").is_err());
        assert_eq!(
            ControlRequest::parse("explain "),
            Ok(ControlRequest::Explain(None))
        );
    }
}
