//! `RequestReader`: incremental framing, resynchronisation and limits.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgxdp_uapi::errno::{EINVAL, EMSGSIZE};
use wgxdp_uapi::{Limits, Request, RequestReader, UapiError};

fn hex_key(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

/// A `set`, a `get` and another `set` on one connection, as a client that
/// pipelines requests would send them.
fn stream() -> String {
    format!(
        "set=1\nlisten_port=51820\npublic_key={}\nallowed_ip=10.0.0.0/8\n\n\
         get=1\n\n\
         set=1\nreplace_peers=true\n\n",
        hex_key(1)
    )
}

fn drain(reader: &mut RequestReader, out: &mut Vec<Result<Request, UapiError>>) {
    while let Some(item) = reader.next_request() {
        out.push(item);
    }
}

/// Feeds `bytes` in pieces of the given sizes (cycled) and collects results.
fn feed_in_chunks(
    bytes: &[u8],
    sizes: &mut dyn FnMut() -> usize,
) -> Vec<Result<Request, UapiError>> {
    let mut reader = RequestReader::default();
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = sizes().clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(n);
        reader.feed(chunk);
        drain(&mut reader, &mut out);
        rest = tail;
    }
    assert_eq!(reader.finish(), Ok(()));
    out
}

fn expected() -> Vec<Result<Request, UapiError>> {
    let mut reader = RequestReader::default();
    reader.feed(stream().as_bytes());
    let mut out = Vec::new();
    drain(&mut reader, &mut out);
    out
}

#[test]
fn whole_stream_gives_three_requests_in_order() {
    let items = expected();
    assert_eq!(items.len(), 3);
    let Ok(Request::Set(first)) = &items[0] else {
        panic!("{:?}", items[0])
    };
    assert_eq!(first.listen_port, Some(51820));
    assert_eq!(first.peers.len(), 1);
    assert_eq!(items[1], Ok(Request::Get));
    let Ok(Request::Set(third)) = &items[2] else {
        panic!("{:?}", items[2])
    };
    assert!(third.replace_peers);
    assert!(third.peers.is_empty());
}

#[test]
fn one_byte_at_a_time() {
    assert_eq!(feed_in_chunks(stream().as_bytes(), &mut || 1), expected());
}

#[test]
fn random_chunks() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let text = stream();
    for _ in 0..500 {
        let max = rng.gen_range(1..=text.len());
        let got = feed_in_chunks(text.as_bytes(), &mut || rng.gen_range(1..=max));
        assert_eq!(got, expected());
    }
}

#[test]
fn nothing_is_yielded_before_the_empty_line() {
    let mut reader = RequestReader::default();
    let text = stream();
    let first_end = text.find("\n\n").unwrap() + 1;
    reader.feed(&text.as_bytes()[..first_end]);
    assert_eq!(reader.next_request(), None);
    assert_eq!(reader.finish(), Err(UapiError::Truncated));
    reader.feed(b"\n");
    assert!(matches!(reader.next_request(), Some(Ok(Request::Set(_)))));
    assert_eq!(reader.finish(), Ok(()));
}

#[test]
fn bad_set_is_skipped_and_the_next_request_still_parses() {
    let text = format!(
        "set=1\nlisten_port=1\nbogus=1\npublic_key={}\n\nget=1\n\n",
        hex_key(2)
    );
    let mut reader = RequestReader::default();
    reader.feed(text.as_bytes());
    let err = reader.next_request().unwrap().unwrap_err();
    assert_eq!(err, UapiError::UnknownKey("bogus".into()));
    assert_eq!(err.errno(), EINVAL);
    assert_eq!(reader.next_request(), Some(Ok(Request::Get)));
    assert_eq!(reader.next_request(), None);
    assert!(!reader.is_closed());
}

#[test]
fn error_is_reported_as_soon_as_the_bad_line_arrives() {
    let mut reader = RequestReader::default();
    reader.feed(b"set=1\nlisten_port=x\n");
    assert!(matches!(
        reader.next_request(),
        Some(Err(UapiError::InvalidValue {
            key: "listen_port",
            ..
        }))
    ));
    // The rest of the request is skipped silently.
    reader.feed(b"fwmark=1\n\n");
    assert_eq!(reader.next_request(), None);
    assert_eq!(reader.finish(), Ok(()));
}

#[test]
fn unknown_operation_closes_the_reader() {
    let mut reader = RequestReader::default();
    reader.feed(b"hello\nget=1\n\n");
    assert_eq!(
        reader.next_request(),
        Some(Err(UapiError::UnknownOperation))
    );
    assert_eq!(reader.next_request(), None);
    assert!(reader.is_closed());
    reader.feed(b"get=1\n\n");
    assert_eq!(reader.next_request(), None);
}

#[test]
fn line_limit_applies_before_the_newline_arrives() {
    let limits = Limits {
        max_line_len: 32,
        max_request_len: 1 << 20,
    };
    let mut reader = RequestReader::new(limits);
    reader.feed(b"set=1\n");
    for _ in 0..32 {
        reader.feed(b"x");
    }
    assert_eq!(reader.next_request(), None, "exactly at the limit is fine");
    reader.feed(b"x");
    let err = reader.next_request().unwrap().unwrap_err();
    assert_eq!(err, UapiError::LineTooLong { limit: 32 });
    assert_eq!(err.errno(), EMSGSIZE);
    assert!(reader.is_closed());
}

#[test]
fn line_exactly_at_limit_parses() {
    let limits = Limits {
        max_line_len: "listen_port=00051820".len(),
        max_request_len: 1 << 20,
    };
    let mut reader = RequestReader::new(limits);
    reader.feed(b"set=1\nlisten_port=00051820\n\n");
    let Some(Ok(Request::Set(request))) = reader.next_request() else {
        panic!()
    };
    assert_eq!(request.listen_port, Some(51820));
}

#[test]
fn request_limit_counts_every_byte_including_skipped_ones() {
    let limits = Limits {
        max_line_len: 100,
        max_request_len: 64,
    };
    let sized = |total: usize| {
        let (head, tail) = ("set=1\nfwmark=", "\n\n");
        format!(
            "{head}{}{tail}",
            "0".repeat(total - head.len() - tail.len())
        )
    };
    let mut reader = RequestReader::new(limits);
    reader.feed(sized(64).as_bytes());
    assert!(matches!(reader.next_request(), Some(Ok(Request::Set(_)))));
    let mut reader = RequestReader::new(limits);
    reader.feed(sized(65).as_bytes());
    assert_eq!(
        reader.next_request(),
        Some(Err(UapiError::RequestTooLarge { limit: 64 }))
    );

    // A request that errors early, then keeps sending junk, still hits the cap.
    let mut reader = RequestReader::new(limits);
    reader.feed(b"set=1\nbogus=1\n");
    assert!(matches!(
        reader.next_request(),
        Some(Err(UapiError::UnknownKey(_)))
    ));
    for _ in 0..10 {
        reader.feed(b"more=junk\n");
    }
    assert_eq!(
        reader.next_request(),
        Some(Err(UapiError::RequestTooLarge { limit: 64 }))
    );
    assert!(reader.is_closed());
}

#[test]
fn many_small_requests_each_get_a_fresh_budget() {
    let limits = Limits {
        max_line_len: 16,
        max_request_len: 8,
    };
    let mut reader = RequestReader::new(limits);
    let gets = "get=1\n\n".repeat(1000);
    reader.feed(gets.as_bytes());
    let mut count = 0;
    while let Some(item) = reader.next_request() {
        assert_eq!(item, Ok(Request::Get));
        count += 1;
    }
    assert_eq!(count, 1000);
}
