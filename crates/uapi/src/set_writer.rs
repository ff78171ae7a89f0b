//! Client side of `set=1`: a `SetRequest` as the text `wg` would send.

use std::fmt::Write as _;

use crate::key::{write_hex_line, Key, KeyUpdate};
use crate::request::SetRequest;

/// Appends `request` as a complete `set=1` request, in the key order `wg`
/// uses, ending with the empty line. Parsing the output gives back an equal
/// `SetRequest`. The output may contain the private key: keep `out` in a
/// `zeroize::Zeroizing<String>`.
pub fn write_set_request(request: &SetRequest, out: &mut String) {
    out.push_str("set=1\n");
    if let Some(update) = &request.private_key {
        write_key_update(out, "private_key", update);
    }
    // fmt::Write for String cannot fail, so the results are ignored.
    if let Some(port) = request.listen_port {
        let _ = writeln!(out, "listen_port={port}");
    }
    if let Some(mark) = request.fwmark {
        let _ = writeln!(out, "fwmark={mark}");
    }
    if request.replace_peers {
        out.push_str("replace_peers=true\n");
    }
    for peer in &request.peers {
        write_hex_line(out, "public_key", &peer.public_key);
        if peer.remove {
            out.push_str("remove=true\n");
        }
        if peer.update_only {
            out.push_str("update_only=true\n");
        }
        if let Some(update) = &peer.preshared_key {
            write_key_update(out, "preshared_key", update);
        }
        if let Some(endpoint) = peer.endpoint {
            let _ = writeln!(out, "endpoint={endpoint}");
        }
        if let Some(secs) = peer.persistent_keepalive_interval {
            let _ = writeln!(out, "persistent_keepalive_interval={secs}");
        }
        // Must precede the allowed_ip lines: the parser (like wireguard-go)
        // drops edits that come before it.
        if peer.replace_allowed_ips {
            out.push_str("replace_allowed_ips=true\n");
        }
        for change in &peer.allowed_ips {
            let _ = writeln!(out, "allowed_ip={change}");
        }
    }
    out.push('\n');
}

fn write_key_update(out: &mut String, name: &str, update: &KeyUpdate) {
    match update {
        KeyUpdate::Set(key) => write_hex_line(out, name, key),
        KeyUpdate::Clear => write_hex_line(out, name, &Key::zero()),
    }
}
