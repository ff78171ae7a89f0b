//! The DUT's side of the emulated peers: one `[Peer]` per emulated peer, with its tunnel addresses as AllowedIPs,
//! written as a `wg setconf` file or as UAPI `set=1` requests (through the uapi crate's writers).

use std::net::IpAddr;

use wgxdp_noise::PrivateKey;
use wgxdp_uapi::{
    write_set_request, write_showconf, AllowedIp, AllowedIpChange, DeviceState, Key, KeyUpdate,
    PeerChange, PeerState, SetRequest,
};

use crate::peers::Peer;

/// Peers per UAPI request: keeps each request far below any daemon's request limit (wgxdp: 16 MiB).
pub const PEERS_PER_REQUEST: usize = 2_000;

/// What the DUT's interface section gets, when the load generator sets it.
pub struct Interface<'a> {
    /// The DUT's private key, if the load generator sets it.
    pub private_key: Option<&'a PrivateKey>,
    /// The DUT's listen port, if the load generator sets it.
    pub listen_port: Option<u16>,
}

fn public_key(peer: &Peer) -> Key {
    Key::from_bytes(*peer.local.public_key().as_bytes())
}

fn allowed_ips(peer: &Peer) -> [AllowedIp; 2] {
    [
        AllowedIp::host(IpAddr::V4(peer.tunnel4)),
        AllowedIp::host(IpAddr::V6(peer.tunnel6)),
    ]
}

/// The whole configuration as a `wg setconf` file (the interface section holds what `interface` sets).
pub fn setconf_file(interface: &Interface<'_>, peers: &[Peer]) -> String {
    let state = DeviceState {
        private_key: interface
            .private_key
            .map(|key| Key::from_bytes(*key.to_bytes())),
        listen_port: interface.listen_port.unwrap_or(0),
        fwmark: 0,
        peers: peers
            .iter()
            .map(|peer| {
                let mut state = PeerState::new(public_key(peer));
                state.allowed_ips = allowed_ips(peer).to_vec();
                state
            })
            .collect(),
    };
    let mut out = String::new();
    write_showconf(&state, &mut out);
    out
}

/// The UAPI requests that configure the DUT: the first replaces every peer (and sets the interface fields), the
/// others add [`PEERS_PER_REQUEST`] peers each.
pub fn uapi_requests(interface: &Interface<'_>, peers: &[Peer]) -> Vec<String> {
    let mut requests = Vec::new();
    let mut chunks = peers.chunks(PEERS_PER_REQUEST).peekable();
    let mut first = true;
    while first || chunks.peek().is_some() {
        let chunk = chunks.next().unwrap_or_default();
        let request = SetRequest {
            private_key: interface
                .private_key
                .filter(|_| first)
                .map(|key| KeyUpdate::from_key(Key::from_bytes(*key.to_bytes()))),
            listen_port: interface.listen_port.filter(|_| first),
            fwmark: None,
            replace_peers: first,
            peers: chunk
                .iter()
                .map(|peer| {
                    let mut change = PeerChange::new(public_key(peer));
                    change.replace_allowed_ips = true;
                    change.allowed_ips = allowed_ips(peer).map(AllowedIpChange::Add).to_vec();
                    change
                })
                .collect(),
        };
        let mut text = String::new();
        write_set_request(&request, &mut text);
        requests.push(text);
        first = false;
    }
    requests
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshakes::tests::peers;

    #[test]
    fn the_file_parses_back_with_every_peer() {
        let peers = peers(3);
        let text = setconf_file(
            &Interface {
                private_key: None,
                listen_port: Some(51820),
            },
            &peers,
        );
        let config = wgxdp_uapi::Config::parse(&text).expect("our own file parses");
        assert_eq!(config.peers.len(), 3);
        assert!(text.contains("AllowedIPs = 100.64.0.1/32, fd00:64::1/128"));
        assert!(text.contains(&peers[2].local.public_key().to_base64()));
    }

    #[test]
    fn requests_are_chunked_and_only_the_first_replaces() {
        let peers = peers(PEERS_PER_REQUEST as u32 + 1);
        let requests = uapi_requests(
            &Interface {
                private_key: None,
                listen_port: Some(51820),
            },
            &peers,
        );
        assert_eq!(requests.len(), 2);
        assert!(requests[0].starts_with("set=1\nlisten_port=51820\nreplace_peers=true\n"));
        assert!(!requests[1].contains("replace_peers") && !requests[1].contains("listen_port"));
        assert_eq!(requests[1].matches("public_key=").count(), 1);
        assert!(requests.iter().all(|r| r.ends_with("\n\n")));
        let empty = uapi_requests(
            &Interface {
                private_key: None,
                listen_port: None,
            },
            &[],
        );
        assert_eq!(empty, vec!["set=1\nreplace_peers=true\n\n".to_string()]);
    }
}
