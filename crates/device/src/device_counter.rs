//! The device-wide counters (everything of [`crate::Counters`] that is one number): their one list.

use crate::counter_info::CounterInfo;

/// One device-wide counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceCounter {
    /// Transport messages received and authenticated.
    RxPackets,
    /// Their bytes.
    RxBytes,
    /// Transport messages sealed for sending.
    TxPackets,
    /// Their bytes.
    TxBytes,
    /// Keepalives received.
    KeepalivesReceived,
    /// Keepalives sent.
    KeepalivesSent,
    /// Handshake initiations sent.
    InitiationsSent,
    /// Handshake initiations received that passed the macs.
    InitiationsReceived,
    /// Handshake responses sent.
    ResponsesSent,
    /// Handshake responses received that passed the macs.
    ResponsesReceived,
    /// Cookie replies sent.
    CookieRepliesSent,
    /// Cookie replies received and accepted.
    CookieRepliesReceived,
    /// Handshakes completed.
    HandshakesCompleted,
    /// Packets staged while waiting for a handshake.
    Staged,
}

impl DeviceCounter {
    /// Every counter, in report order.
    pub const ALL: [DeviceCounter; 14] = [
        DeviceCounter::RxPackets,
        DeviceCounter::RxBytes,
        DeviceCounter::TxPackets,
        DeviceCounter::TxBytes,
        DeviceCounter::KeepalivesReceived,
        DeviceCounter::KeepalivesSent,
        DeviceCounter::InitiationsSent,
        DeviceCounter::InitiationsReceived,
        DeviceCounter::ResponsesSent,
        DeviceCounter::ResponsesReceived,
        DeviceCounter::CookieRepliesSent,
        DeviceCounter::CookieRepliesReceived,
        DeviceCounter::HandshakesCompleted,
        DeviceCounter::Staged,
    ];

    /// Name, help and kind.
    pub const fn info(self) -> CounterInfo {
        let c = CounterInfo::counter;
        match self {
            DeviceCounter::RxPackets => c(
                "rx_packets",
                "Transport messages received and authenticated (keepalives included).",
            ),
            DeviceCounter::RxBytes => c(
                "rx_bytes",
                "Bytes of the authenticated transport messages received (UDP payloads).",
            ),
            DeviceCounter::TxPackets => c(
                "tx_packets",
                "Transport messages sealed for sending (keepalives and flushed staged packets included).",
            ),
            DeviceCounter::TxBytes => c(
                "tx_bytes",
                "Bytes of the transport messages sealed for sending (UDP payloads).",
            ),
            DeviceCounter::KeepalivesReceived => c("keepalives_received", "Keepalives received."),
            DeviceCounter::KeepalivesSent => c("keepalives_sent", "Keepalives sent."),
            DeviceCounter::InitiationsSent => c("initiations_sent", "Handshake initiations sent."),
            DeviceCounter::InitiationsReceived => c(
                "initiations_received",
                "Handshake initiations received that passed the macs.",
            ),
            DeviceCounter::ResponsesSent => c("responses_sent", "Handshake responses sent."),
            DeviceCounter::ResponsesReceived => c(
                "responses_received",
                "Handshake responses received that passed the macs.",
            ),
            DeviceCounter::CookieRepliesSent => c(
                "cookie_replies_sent",
                "Cookie replies sent (the device was under load).",
            ),
            DeviceCounter::CookieRepliesReceived => c(
                "cookie_replies_received",
                "Cookie replies received and accepted.",
            ),
            DeviceCounter::HandshakesCompleted => c(
                "handshakes_completed",
                "Handshakes completed (as initiator: response consumed; as responder: keypair confirmed).",
            ),
            DeviceCounter::Staged => c(
                "staged",
                "Packets staged while waiting for a handshake (cumulative).",
            ),
        }
    }

    /// The stable snake_case name.
    pub const fn name(self) -> &'static str {
        self.info().name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = DeviceCounter::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DeviceCounter::ALL.len());
    }
}
