//! The UAPI server on `/var/run/wireguard/IFNAME.sock`: the cross-platform protocol `wg`
//! speaks. Each connection may carry several requests; each is answered in order:
//! `get` with the device state, `set` with `errno=0` or the refusal's errno negated as wireguard-go answers it
//! (nothing applied), a malformed request with its parse errno, negated too unless it was a `get` (the connection
//! is closed after a fatal one).

use crate::apply::apply_set;
use crate::shared::Shared;
use crate::{log_debug, log_info};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::SystemTime;
use wgxdp_uapi::{
    write_errno, write_get_interface, write_get_peer, write_set_errno, Limits, Request,
    RequestReader,
};
use zeroize::{Zeroize, Zeroizing};

/// Largest `set` accepted: room for 2^20 peers as `wg setconf` writes them (key, endpoint, one allowed IP:
/// about 150 bytes each), the kernel's own peer limit. The socket is root's only (mode 0600 in a 0700
/// directory) and connections are bounded by the server, so this bounds mistakes rather than attackers.
const MAX_REQUEST_LEN: usize = 192 << 20;

/// Bytes read from the socket at a time: a large `set` arrives in few reads.
const READ_CHUNK: usize = 64 << 10;

/// Handles one UAPI connection until the client closes it, stalls, or sends a fatal error.
pub fn handle_connection(shared: &Shared, mut stream: UnixStream) {
    let mut reader = RequestReader::new(Limits {
        max_request_len: MAX_REQUEST_LEN,
        ..Limits::default()
    });
    // Reads may carry private keys: wiped on drop.
    let mut buf = Zeroizing::new(vec![0u8; READ_CHUNK]);
    loop {
        let n = match stream.read(&mut buf[..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        reader.feed(buf.get(..n).unwrap_or_default());
        while let Some(item) = reader.next_request() {
            if answer(shared, item, &mut stream).is_err() {
                return;
            }
        }
        if reader.is_closed() {
            return;
        }
    }
    if let Err(e) = reader.finish() {
        log_debug!(
            "{}: UAPI connection closed mid-request: {e}",
            shared.interface
        );
    }
}

/// Answers one request (or parse error) on `stream`.
fn answer(
    shared: &Shared,
    item: Result<Request, wgxdp_uapi::UapiError>,
    stream: &mut UnixStream,
) -> std::io::Result<()> {
    let mut out = Zeroizing::new(String::new());
    match item {
        Ok(Request::Get) => return stream_get(shared, stream),
        Ok(Request::Set(request)) => match apply_set(shared, &request) {
            Ok(_) => {
                log_debug!("{}: UAPI set applied", shared.interface);
                write_set_errno(0, &mut out);
            }
            Err(e) => {
                log_info!("{}: UAPI set refused: {e}", shared.interface);
                write_set_errno(e.errno, &mut out);
            }
        },
        // A refused get keeps the positive errno `wg`'s get parser reads; everything else is answered as a
        // refused set (negated, as wireguard-go does).
        Err(e) if e.answers_get() => {
            log_info!("{}: bad UAPI request: {e}", shared.interface);
            write_errno(e.errno(), &mut out);
        }
        Err(e) => {
            log_info!("{}: bad UAPI request: {e}", shared.interface);
            write_set_errno(e.errno(), &mut out);
        }
    }
    stream.write_all(out.as_bytes())
}

/// Bytes of a `get` answer gathered before they are written to the socket.
const GET_CHUNK: usize = 256 << 10;

/// Writes the `get` answer in chunks as the peers are read from the last published state: a device with
/// 100 000 peers neither builds its whole answer (tens of MB) nor waits for an apply in progress. The text
/// holds keys: every chunk is wiped once written. After a write error the rest is not written.
fn stream_get(shared: &Shared, stream: &mut UnixStream) -> std::io::Result<()> {
    let mut out = Zeroizing::new(String::with_capacity(GET_CHUNK + 4096));
    write_get_interface(&shared.device.interface_state(), &mut out);
    let mut result = Ok(());
    let now = shared.clock.now();
    shared
        .device
        .for_each_peer_state(now, SystemTime::now(), |peer| {
            if result.is_err() {
                return;
            }
            write_get_peer(peer, &mut out);
            if out.len() >= GET_CHUNK {
                result = stream.write_all(out.as_bytes());
                out.zeroize();
            }
        });
    result?;
    write_errno(0, &mut out);
    stream.write_all(out.as_bytes())
}
