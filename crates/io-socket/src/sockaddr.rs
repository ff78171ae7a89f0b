//! Conversions between `std::net::SocketAddr` and nix's `SockaddrStorage`.

use nix::sys::socket::SockaddrStorage;
use std::net::SocketAddr;

/// Converts a std address into the form the kernel calls take.
pub(crate) fn to_storage(addr: SocketAddr) -> SockaddrStorage {
    SockaddrStorage::from(addr)
}

/// Converts a kernel-filled address back; `None` for families a UDP socket never reports.
pub(crate) fn from_storage(storage: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = storage.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    storage.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_families() {
        for text in ["198.18.0.1:51820", "[fd00::1]:7", "[::1]:65535"] {
            let addr: SocketAddr = text.parse().unwrap();
            assert_eq!(from_storage(&to_storage(addr)), Some(addr));
        }
    }
}
