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
use wgxdp_uapi::{write_errno, write_get_response, write_set_errno, Request, RequestReader};
use zeroize::Zeroizing;

/// Handles one UAPI connection until the client closes it, stalls, or sends a fatal error.
pub fn handle_connection(shared: &Shared, mut stream: UnixStream) {
    let mut reader = RequestReader::default();
    // Reads may carry private keys: wiped on drop.
    let mut buf = Zeroizing::new([0u8; 4096]);
    loop {
        let n = match stream.read(&mut buf[..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        reader.feed(buf.get(..n).unwrap_or_default());
        while let Some(item) = reader.next_request() {
            let answer = answer(shared, item);
            if stream.write_all(answer.as_bytes()).is_err() {
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

/// The text answering one request (or parse error).
fn answer(shared: &Shared, item: Result<Request, wgxdp_uapi::UapiError>) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    match item {
        Ok(Request::Get) => {
            let state = shared
                .device
                .get_state(shared.clock.now(), SystemTime::now());
            write_get_response(&state, &mut out);
        }
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
    out
}
