//! What a run did, printed as one JSON object at the end.

use core::time::Duration;

use serde::Serialize;

/// Counts of a finished run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Datagrams the kernel accepted.
    pub sent: u64,
    /// Datagrams the kernel refused (or a send call that failed as a whole).
    pub errors: u64,
    /// sendmmsg batches.
    pub batches: u64,
    /// Time from the first send to the end.
    pub duration: Duration,
    /// The requested rate.
    pub target_pps: u64,
    /// Sockets (source address and port pairs) used.
    pub sockets: usize,
    /// Distinct messages.
    pub pool: usize,
}

impl Summary {
    /// Datagrams sent per second of the run.
    pub fn achieved_pps(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            self.sent as f64 / secs
        } else {
            0.0
        }
    }

    /// `{"sent":..,"errors":..,"batches":..,"duration_s":..,"achieved_pps":..,"target_pps":..,"sockets":..,"pool":..}`
    /// (seconds to the millisecond, the rate to a tenth).
    pub fn to_json(&self) -> String {
        let json = SummaryJson {
            sent: self.sent,
            errors: self.errors,
            batches: self.batches,
            duration_s: round_to(self.duration.as_secs_f64(), 1000.0),
            achieved_pps: round_to(self.achieved_pps(), 10.0),
            target_pps: self.target_pps,
            sockets: self.sockets,
            pool: self.pool,
        };
        // Numbers only: serializing them cannot fail; were it ever to, say so in JSON.
        serde_json::to_string(&json)
            .unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
    }
}

/// The printed form of a [`Summary`].
#[derive(Serialize)]
struct SummaryJson {
    sent: u64,
    errors: u64,
    batches: u64,
    duration_s: f64,
    achieved_pps: f64,
    target_pps: u64,
    sockets: usize,
    pool: usize,
}

/// `value` rounded to `1 / per` (e.g. `per` = 1000: milliseconds of seconds).
fn round_to(value: f64, per: f64) -> f64 {
    (value * per).round() / per
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_every_field() {
        let summary = Summary {
            sent: 400,
            errors: 2,
            batches: 399,
            duration: Duration::from_millis(2000),
            target_pps: 200,
            sockets: 64,
            pool: 4096,
        };
        assert_eq!(
            summary.to_json(),
            "{\"sent\":400,\"errors\":2,\"batches\":399,\"duration_s\":2.0,\"achieved_pps\":200.0,\"target_pps\":200,\"sockets\":64,\"pool\":4096}"
        );
        assert_eq!(Summary::default().achieved_pps(), 0.0);
    }
}
