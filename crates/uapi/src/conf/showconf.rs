//! `wg showconf` output from a `DeviceState`.

use std::fmt::Write as _;

use crate::state::{nonzero_key, DeviceState};

/// Appends the config text `wg showconf` prints for `state`, byte for byte:
/// `[Interface]` with ListenPort, FwMark (hex) and PrivateKey where set, an
/// empty line, then each `[Peer]` with PublicKey, PresharedKey, AllowedIPs,
/// Endpoint and PersistentKeepalive where set, peers separated by an empty
/// line. Feeding it back to [`crate::Config::parse`] gives the same settings.
/// The output contains the private key: keep `out` in a
/// `zeroize::Zeroizing<String>`.
pub fn write_showconf(state: &DeviceState, out: &mut String) {
    // fmt::Write for String cannot fail, so the results are ignored.
    out.push_str("[Interface]\n");
    if state.listen_port != 0 {
        let _ = writeln!(out, "ListenPort = {}", state.listen_port);
    }
    if state.fwmark != 0 {
        let _ = writeln!(out, "FwMark = {:#x}", state.fwmark);
    }
    if let Some(key) = nonzero_key(&state.private_key) {
        out.push_str("PrivateKey = ");
        key.write_base64(out);
        out.push('\n');
    }
    out.push('\n');
    for (index, peer) in state.peers.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str("[Peer]\nPublicKey = ");
        peer.public_key.write_base64(out);
        out.push('\n');
        if let Some(psk) = nonzero_key(&peer.preshared_key) {
            out.push_str("PresharedKey = ");
            psk.write_base64(out);
            out.push('\n');
        }
        if !peer.allowed_ips.is_empty() {
            out.push_str("AllowedIPs = ");
            for (i, prefix) in peer.allowed_ips.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{prefix}");
            }
            out.push('\n');
        }
        if let Some(endpoint) = peer.endpoint {
            let _ = writeln!(out, "Endpoint = {endpoint}");
        }
        if peer.persistent_keepalive_interval != 0 {
            let _ = writeln!(
                out,
                "PersistentKeepalive = {}",
                peer.persistent_keepalive_interval
            );
        }
    }
}
