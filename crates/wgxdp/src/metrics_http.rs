//! The `--metrics ADDR:PORT` HTTP server: `GET /metrics` answers the counters in OpenMetrics text
//! (`metrics_registry.rs`); any other path is 404, any other method 405, anything that is not an HTTP/1.x
//! request head 400 (and a head over [`MAX_REQUEST_HEAD`] bytes 431). One request per connection, then the
//! connection closes.
//!
//! The accept loop is the control socket's (`unix_server.rs`: at most [`LIMITS`]`.max_connections` at once,
//! one short-lived thread each). A connection gets [`HEAD_DEADLINE`] in all to send its request head and
//! [`WRITE_DEADLINE`] in all to take the answer, whatever it trickles: a slow or hostile client holds one slot
//! for seconds, never the server, and never more memory than one head and one answer. A scrape reads the
//! counters as `wgxdp stats` does: atomics, the published peer table (copy-on-write, no device lock) and each
//! peer's lock for two field reads.

use crate::metrics_registry;
use crate::shared::Shared;
use crate::stats_report::StatsReport;
use crate::unix_server::ServerLimits;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// Longest request head (request line and headers) read.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// Time a client has to send its whole request head.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(5);
/// Time a client has to take the whole answer.
pub const WRITE_DEADLINE: Duration = Duration::from_secs(30);
/// Headers parsed at most.
const MAX_HEADERS: usize = 32;
/// Bytes written per call, so the write deadline is checked as the answer goes out.
const WRITE_CHUNK: usize = 64 * 1024;
/// After the answer: how long, and how many bytes, the rest of a request is read before the connection closes.
const DRAIN_DEADLINE: Duration = Duration::from_secs(1);
const DRAIN_LIMIT: usize = 64 * 1024;

/// The server's connection limits (each read or write call also times out on its own).
pub const LIMITS: ServerLimits = ServerLimits {
    max_connections: 4,
    idle_timeout: Duration::from_secs(2),
    write_timeout: Duration::from_secs(5),
};

/// What a request head asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /metrics` (a query string is ignored).
    Metrics,
    /// Another path.
    NotFound,
    /// Another method on `/metrics`.
    MethodNotAllowed,
    /// Not an HTTP/1.x request head; the reason, for the answer's body.
    BadRequest(String),
    /// A head longer than [`MAX_REQUEST_HEAD`].
    HeadTooLarge,
}

/// Routes a complete request head (or what arrived of one).
pub fn route(head: &[u8]) -> Route {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Route::BadRequest("incomplete request head".into())
        }
        Err(e) => return Route::BadRequest(format!("malformed request: {e}")),
    }
    let path = request.path.unwrap_or("");
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    match (request.method, path) {
        (Some("GET"), "/metrics") => Route::Metrics,
        (_, "/metrics") => Route::MethodNotAllowed,
        _ => Route::NotFound,
    }
}

/// Server side: answers one connection.
pub fn handle_connection(shared: &Shared, stream: TcpStream) {
    answer(stream, &shared.interface, || {
        metrics_registry::encode(StatsReport::collect(shared))
    });
}

/// Reads one request from `stream` and answers it, with `body` for a `GET /metrics`.
fn answer(
    mut stream: TcpStream,
    interface: &str,
    body: impl FnOnce() -> Result<String, std::fmt::Error>,
) {
    let route = match read_head(&mut stream, Instant::now() + HEAD_DEADLINE) {
        Ok(head) => route(&head),
        Err(HeadError::TooLarge) => Route::HeadTooLarge,
        Err(HeadError::Io(e)) => {
            // Timed out or went away: there is nobody to answer.
            log::debug!("{interface}: metrics: request not read: {e}");
            return;
        }
    };
    let response = match route {
        Route::Metrics => match body() {
            Ok(text) => response(200, "OK", metrics_registry::CONTENT_TYPE, text),
            Err(e) => {
                log::warn!("{interface}: metrics: encoding failed: {e}");
                plain(
                    500,
                    "Internal Server Error",
                    "encoding the metrics failed\n",
                )
            }
        },
        Route::NotFound => plain(404, "Not Found", "only /metrics is served here\n"),
        Route::MethodNotAllowed => plain(405, "Method Not Allowed", "only GET /metrics\n"),
        Route::BadRequest(why) => {
            log::debug!("{interface}: metrics: bad request: {why}");
            plain(400, "Bad Request", &format!("{why}\n"))
        }
        Route::HeadTooLarge => plain(
            431,
            "Request Header Fields Too Large",
            &format!("a request head may have at most {MAX_REQUEST_HEAD} bytes\n"),
        ),
    };
    let deadline = Instant::now() + WRITE_DEADLINE;
    let written = write_within(&mut stream, response.head.as_bytes(), deadline)
        .and_then(|()| write_within(&mut stream, response.body.as_bytes(), deadline));
    if let Err(e) = written {
        log::debug!("{interface}: metrics: answer not sent: {e}");
        return;
    }
    // Closing with unread bytes (the rest of a refused head) would reset the connection and could destroy the
    // answer before the client reads it: say we are done, then take what is left, bounded, until it closes.
    let _ = stream.shutdown(Shutdown::Write);
    drain(&mut stream, Instant::now() + DRAIN_DEADLINE);
}

/// Reads and discards until the client closes, at most [`DRAIN_LIMIT`] bytes, by `deadline`.
fn drain(stream: &mut TcpStream, deadline: Instant) {
    let mut sink = [0u8; 4096];
    let mut taken = 0;
    while taken < DRAIN_LIMIT {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => taken += n,
        }
    }
}

#[derive(Debug)]
enum HeadError {
    TooLarge,
    Io(io::Error),
}

/// Reads until the blank line that ends a request head, at most [`MAX_REQUEST_HEAD`] bytes, by `deadline`.
fn read_head(stream: &mut TcpStream, deadline: Instant) -> Result<Vec<u8>, HeadError> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HeadError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head not complete in time",
            )));
        }
        stream
            .set_read_timeout(Some(left.min(LIMITS.idle_timeout)))
            .map_err(HeadError::Io)?;
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Ok(head), // closed early: routed as an incomplete head
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(HeadError::Io(e)),
        };
        let room = MAX_REQUEST_HEAD - head.len();
        head.extend_from_slice(chunk.get(..n.min(room)).unwrap_or_default());
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Ok(head);
        }
        if n > room || head.len() >= MAX_REQUEST_HEAD {
            return Err(HeadError::TooLarge);
        }
    }
}

/// Writes all of `bytes` by `deadline`.
fn write_within(stream: &mut TcpStream, bytes: &[u8], deadline: Instant) -> io::Result<()> {
    for chunk in bytes.chunks(WRITE_CHUNK) {
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client too slow to take the answer",
            ));
        }
        stream.write_all(chunk)?;
    }
    stream.flush()
}

/// An answer: status line and headers, then the body, written one after the other (a 35 MB exposition of
/// 100 000 peers is not copied again to put a head in front of it).
struct Response {
    head: String,
    body: String,
}

fn plain(status: u16, reason: &str, body: &str) -> Response {
    response(status, reason, "text/plain; charset=utf-8", body.to_owned())
}

fn response(status: u16, reason: &str, content_type: &str, body: String) -> Response {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    Response { head, body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn routes() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"), Route::Metrics);
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route(b"GET /metrics/x HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(
            route(b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
            Route::MethodNotAllowed
        );
        assert!(matches!(
            route(b"\x16\x03\x01garbage\r\n\r\n"),
            Route::BadRequest(_)
        ));
        assert!(matches!(route(b"GET /metrics"), Route::BadRequest(_)));
        assert!(matches!(route(b""), Route::BadRequest(_)));
    }

    /// Serves one connection on a fresh port with `body`, sends `request`, returns the answer.
    fn exchange(request: &[u8], close_after: bool) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            answer(stream, "wgtest", || Ok("# EOF\n".to_owned()));
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(request).unwrap();
        if close_after {
            client.shutdown(Shutdown::Write).unwrap();
        }
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut out = String::new();
        let _ = client.read_to_string(&mut out);
        server.join().unwrap();
        out
    }

    #[test]
    fn answers_over_a_socket() {
        let ok = exchange(b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", false);
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(
            ok.contains("Content-Type: application/openmetrics-text"),
            "{ok}"
        );
        assert!(ok.ends_with("\r\n\r\n# EOF\n"), "{ok}");
        let missing = exchange(b"GET /other HTTP/1.1\r\n\r\n", false);
        assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
        let garbage = exchange(b"\x00\x01\x02 not http", true);
        assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
        // Past the limit without an end of head: refused, and the answer survives the unread rest.
        let mut huge = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        huge.resize(3 * MAX_REQUEST_HEAD, b'a');
        let too_large = exchange(&huge, false);
        assert!(too_large.starts_with("HTTP/1.1 431 "), "{too_large}");
    }
}
