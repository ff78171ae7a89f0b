//! What a run did, printed as one JSON object at the end.

use core::time::Duration;

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
    pub fn to_json(&self) -> String {
        format!(
            "{{\"sent\":{},\"errors\":{},\"batches\":{},\"duration_s\":{:.3},\"achieved_pps\":{:.1},\"target_pps\":{},\"sockets\":{},\"pool\":{}}}",
            self.sent,
            self.errors,
            self.batches,
            self.duration.as_secs_f64(),
            self.achieved_pps(),
            self.target_pps,
            self.sockets,
            self.pool
        )
    }
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
            "{\"sent\":400,\"errors\":2,\"batches\":399,\"duration_s\":2.000,\"achieved_pps\":200.0,\"target_pps\":200,\"sockets\":64,\"pool\":4096}"
        );
        assert_eq!(Summary::default().achieved_pps(), 0.0);
    }
}
