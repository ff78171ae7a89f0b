//! UAPI response text: `get` state dumps and `errno=` status lines.

use std::fmt::Write as _;
use std::time::UNIX_EPOCH;

use crate::key::write_hex_line;
use crate::state::{nonzero_key, DeviceState, PeerState};

/// Appends the answer to `get=1`: the state, `errno=0` and the empty line.
///
/// Keys and order follow what wireguard-go sends and the `wg` tool parses:
/// `private_key` (if set), `listen_port`, `fwmark` (if nonzero), then per
/// peer `public_key`, `preshared_key` (if set), `protocol_version=1`,
/// `endpoint` (if known), `last_handshake_time_sec`/`_nsec`, `tx_bytes`,
/// `rx_bytes`, `persistent_keepalive_interval` and one `allowed_ip` per
/// prefix. The output contains the private key: keep `out` in a
/// `zeroize::Zeroizing<String>`.
pub fn write_get_response(state: &DeviceState, out: &mut String) {
    write_get_interface(state, out);
    for peer in &state.peers {
        write_get_peer(peer, out);
    }
    write_errno(0, out);
}

/// Appends the interface part of a `get` answer (`state.peers` is not looked at). With
/// [`write_get_peer`] per peer and `write_errno(0, ..)` at the end, a daemon can stream a large answer in
/// pieces instead of building it whole; the result is what [`write_get_response`] writes.
pub fn write_get_interface(state: &DeviceState, out: &mut String) {
    if let Some(key) = nonzero_key(&state.private_key) {
        write_hex_line(out, "private_key", key);
    }
    // fmt::Write for String cannot fail, so the results are ignored.
    let _ = writeln!(out, "listen_port={}", state.listen_port);
    if state.fwmark != 0 {
        let _ = writeln!(out, "fwmark={}", state.fwmark);
    }
}

/// Appends one peer of a `get` answer (see [`write_get_interface`]).
pub fn write_get_peer(peer: &PeerState, out: &mut String) {
    write_hex_line(out, "public_key", &peer.public_key);
    if let Some(psk) = nonzero_key(&peer.preshared_key) {
        write_hex_line(out, "preshared_key", psk);
    }
    out.push_str("protocol_version=1\n");
    if let Some(endpoint) = peer.endpoint {
        let _ = writeln!(out, "endpoint={endpoint}");
    }
    // A handshake before 1970 cannot happen on a sane clock; report it
    // as "never" (0) rather than failing the whole response.
    let since_epoch = peer
        .last_handshake
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default();
    let _ = writeln!(out, "last_handshake_time_sec={}", since_epoch.as_secs());
    let _ = writeln!(
        out,
        "last_handshake_time_nsec={}",
        since_epoch.subsec_nanos()
    );
    let _ = writeln!(out, "tx_bytes={}", peer.tx_bytes);
    let _ = writeln!(out, "rx_bytes={}", peer.rx_bytes);
    let _ = writeln!(
        out,
        "persistent_keepalive_interval={}",
        peer.persistent_keepalive_interval
    );
    for prefix in &peer.allowed_ips {
        let _ = writeln!(out, "allowed_ip={prefix}");
    }
}

/// Appends `errno=CODE` and the terminating empty line, `CODE` as the positive
/// errno (0 = OK): the tail of a `get` answer, as `wg` parses it (its `get`
/// reader takes digits only and negates what it reads).
pub fn write_errno(code: u32, out: &mut String) {
    let _ = write!(out, "errno={code}\n\n");
}

/// Appends the whole answer to `set=1` (or to a request that is not a `get`):
/// `errno=0` on success, else the NEGATED errno, as wireguard-go answers and as
/// `wg` expects: it negates what it reads, so `errno=-98` prints "Address
/// already in use" where `errno=98` would print "Unknown error -98".
pub fn write_set_errno(code: u32, out: &mut String) {
    if code == 0 {
        let _ = write!(out, "errno=0\n\n");
    } else {
        let _ = write!(out, "errno=-{code}\n\n");
    }
}
