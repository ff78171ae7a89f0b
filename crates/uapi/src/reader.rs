//! `RequestReader`: turns bytes from a stream socket into complete requests.

use std::collections::VecDeque;

use zeroize::Zeroize;

use crate::error::UapiError;
use crate::request::Request;
use crate::set_parser::SetBuilder;

/// Size limits that keep a hostile local client from making the daemon
/// allocate without bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest line in bytes, newline excluded. The longest valid line
    /// (`endpoint=[v6%scope]:port`) is under 80 bytes.
    pub max_line_len: usize,
    /// Largest request in bytes, from the operation line to the terminating
    /// empty line inclusive. A parsed request takes at most about 3.5 times
    /// its text size in memory (a 128-byte `PeerChange` per 76-byte
    /// `public_key` line, doubled by `Vec` growth), so this also bounds the
    /// parsed form.
    pub max_request_len: usize,
}

impl Limits {
    /// Default longest line: 512 bytes.
    pub const DEFAULT_MAX_LINE_LEN: usize = 512;
    /// Default largest request: 16 MiB, room for roughly 60 000 fully
    /// specified peers while capping a hostile request at ~55 MiB parsed.
    /// The daemon should also bound concurrent connections.
    pub const DEFAULT_MAX_REQUEST_LEN: usize = 16 << 20;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_len: Self::DEFAULT_MAX_LINE_LEN,
            max_request_len: Self::DEFAULT_MAX_REQUEST_LEN,
        }
    }
}

/// Where the reader is in the stream.
enum State {
    /// Expecting `get=1` or `set=1`.
    Operation,
    /// Read `get=1`; expecting the empty line.
    GetEnd,
    /// Inside a `set=1` body.
    Set(Box<SetBuilder>),
    /// A non-fatal error was reported; skipping to the request's empty line.
    Discard,
    /// A fatal error was reported; all further input is ignored.
    Closed,
}

/// Incremental UAPI request reader for one connection.
///
/// Feed it bytes as they arrive with [`feed`](Self::feed), then drain
/// [`next_request`](Self::next_request) until it returns `None`; answer each
/// item in order (several requests may share one connection). At most one
/// partial line (bounded by [`Limits::max_line_len`]) and one partial `set`
/// request (bounded by [`Limits::max_request_len`]) are held; completed items
/// queue until drained, so drain after every feed.
///
/// After an error the bad request is skipped up to its empty line and reading
/// continues, unless [`UapiError::is_fatal`]: then the reader closes and the
/// daemon should answer and hang up.
pub struct RequestReader {
    limits: Limits,
    /// Bytes of a line whose `\n` has not arrived yet.
    partial: Vec<u8>,
    /// Bytes of the current request consumed so far.
    request_len: usize,
    state: State,
    ready: VecDeque<Result<Request, UapiError>>,
}

impl Default for RequestReader {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl RequestReader {
    /// A reader for a new connection.
    pub fn new(limits: Limits) -> Self {
        RequestReader {
            limits,
            partial: Vec::new(),
            request_len: 0,
            state: State::Operation,
            ready: VecDeque::new(),
        }
    }

    /// Consumes bytes just read from the socket.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.is_closed() {
            match bytes.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    let (line, rest) = bytes.split_at(end);
                    bytes = rest.get(1..).unwrap_or_default();
                    if self.partial.is_empty() {
                        self.complete_line(line);
                    } else if self.fits_line(self.partial.len() + line.len()) {
                        // Take the buffer out to borrow it while `self` is
                        // mutated, then put it back to reuse its capacity.
                        let mut joined = std::mem::take(&mut self.partial);
                        joined.extend_from_slice(line);
                        self.complete_line(&joined);
                        // The line may have held a private key.
                        joined.zeroize();
                        if !self.is_closed() {
                            self.partial = joined;
                        }
                    }
                }
                None => {
                    if self.fits_line(self.partial.len() + bytes.len()) {
                        self.partial.extend_from_slice(bytes);
                    }
                    bytes = &[];
                }
            }
        }
    }

    /// The next complete request or error, in stream order.
    pub fn next_request(&mut self) -> Option<Result<Request, UapiError>> {
        self.ready.pop_front()
    }

    /// True after a fatal error: the connection should be closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Call when the peer closed its side. `Err(Truncated)` when the stream
    /// ended inside a request, which is then NOT applied (wireguard-go would
    /// apply a `set` cut short; half a configuration is worse than none).
    pub fn finish(&self) -> Result<(), UapiError> {
        match self.state {
            State::Operation if self.partial.is_empty() => Ok(()),
            // Errors already reported; nothing more to say.
            State::Discard | State::Closed => Ok(()),
            _ => Err(UapiError::Truncated),
        }
    }

    /// Checks a line length against the limit, closing the reader if over.
    fn fits_line(&mut self, len: usize) -> bool {
        if len > self.limits.max_line_len {
            self.fatal(UapiError::LineTooLong {
                limit: self.limits.max_line_len,
            });
            return false;
        }
        true
    }

    fn fatal(&mut self, error: UapiError) {
        self.ready.push_back(Err(error));
        self.state = State::Closed;
        self.partial.zeroize();
    }

    /// Handles one line, `\n` already removed.
    fn complete_line(&mut self, line: &[u8]) {
        if !self.fits_line(line.len()) {
            return;
        }
        if matches!(self.state, State::Operation) {
            self.request_len = 0;
        }
        // +1 for the newline; saturating so a huge limit cannot overflow.
        self.request_len = self.request_len.saturating_add(line.len() + 1);
        if self.request_len > self.limits.max_request_len {
            self.fatal(UapiError::RequestTooLarge {
                limit: self.limits.max_request_len,
            });
            return;
        }
        let state = std::mem::replace(&mut self.state, State::Closed);
        self.state = match state {
            State::Operation => match line {
                b"get=1" => State::GetEnd,
                b"set=1" => State::Set(Box::default()),
                _ => {
                    self.fatal(UapiError::UnknownOperation);
                    State::Closed
                }
            },
            State::GetEnd if line.is_empty() => {
                self.ready.push_back(Ok(Request::Get));
                State::Operation
            }
            State::GetEnd => {
                self.ready.push_back(Err(UapiError::GetNotTerminated));
                State::Discard
            }
            State::Set(builder) if line.is_empty() => {
                self.ready.push_back(Ok(Request::Set(builder.finish())));
                State::Operation
            }
            State::Set(mut builder) => match builder.line(line) {
                Ok(()) => State::Set(builder),
                Err(error) => {
                    // The builder is dropped here: nothing partial escapes.
                    self.ready.push_back(Err(error));
                    State::Discard
                }
            },
            State::Discard if line.is_empty() => State::Operation,
            State::Discard => State::Discard,
            State::Closed => State::Closed,
        };
    }
}

impl Drop for RequestReader {
    /// Wipes a partial line, which may be half a private key.
    fn drop(&mut self) {
        self.partial.zeroize();
    }
}

/// Parses exactly one complete request (operation line through the empty
/// line) with the default [`Limits`]. Anything after it is
/// [`UapiError::TrailingData`].
pub fn parse_request(input: &[u8]) -> Result<Request, UapiError> {
    let mut reader = RequestReader::default();
    reader.feed(input);
    let first = match reader.next_request() {
        Some(result) => result?,
        None => {
            reader.finish()?;
            // Empty input: no request at all.
            return Err(UapiError::Truncated);
        }
    };
    let idle = matches!(reader.state, State::Operation) && reader.partial.is_empty();
    if reader.next_request().is_some() || !idle {
        return Err(UapiError::TrailingData);
    }
    Ok(first)
}
