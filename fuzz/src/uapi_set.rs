//! Target `uapi_set`: bytes on the UAPI socket, as `wg set` (or anyone who can reach the socket) sends them.
//!
//! The first byte picks how the rest is cut into reads (1 to 64 bytes each); the rest is fed to a
//! `RequestReader` read by read, as the daemon does.
//!
//! What must hold, besides never panicking:
//! - reading in pieces gives the same requests and errors as reading everything at once;
//! - every error has a non-zero errno;
//! - every parsed `set` request is written back by the client writer as text that parses to the same request;
//! - applying it is all or nothing, the `get` answer is terminated, and `wg showconf` of the result, read back as
//!   a config file, makes the same device.

use wgxdp_uapi::{Limits, Request, RequestReader, UapiError};

use crate::config_checks::{apply, device, round_trip, showconf_round_trip};

/// The target's entry point.
pub fn run(data: &[u8]) {
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let piece = usize::from(cut % 64) + 1;
    let pieces = read(body.chunks(piece));
    let whole = read(std::iter::once(body));
    assert_eq!(
        pieces, whole,
        "reading in {piece}-byte pieces gives other requests"
    );

    let (dev, mut rng) = device();
    for item in pieces {
        match item {
            Ok(Request::Set(request)) => {
                round_trip(&request);
                if apply(&dev, &mut rng, &request) {
                    showconf_round_trip(&dev);
                }
            }
            Ok(Request::Get) => {}
            Err(error) => {
                assert_ne!(error.errno(), 0, "{error}");
                std::hint::black_box(error.to_string());
            }
        }
    }
}

/// Every request and error the reader produces from `reads`, then its verdict on the end of the stream.
fn read<'a>(reads: impl Iterator<Item = &'a [u8]>) -> Vec<Result<Request, UapiError>> {
    let mut reader = RequestReader::new(Limits::default());
    let mut items = Vec::new();
    for bytes in reads {
        reader.feed(bytes);
        items.extend(std::iter::from_fn(|| reader.next_request()));
    }
    if let Err(error) = reader.finish() {
        items.push(Err(error));
    }
    items
}
