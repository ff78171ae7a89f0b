//! The command line and what it becomes: a validated plan, every bound checked, or a clear error.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;

use clap::Parser;
use wgxdp_noise::PublicKey;

/// Highest rate accepted (datagrams per second): well above what a test machine can offer, low enough that a typo
/// cannot turn a test into an accident.
pub const MAX_RATE: u64 = 2_000_000;
/// Longest run accepted.
pub const MAX_SECONDS: f64 = 600.0;
/// Most sockets (source address and port pairs) one run opens.
pub const MAX_SOCKETS: usize = 4096;
/// Most distinct pre-computed messages.
pub const MAX_POOL: usize = 1 << 20;

/// Sends WireGuard handshake initiations with a valid mac1 for one responder and random contents otherwise,
/// from many source ports (and addresses), at a bounded rate for a bounded time, then prints a JSON summary.
#[derive(Debug, Parser)]
#[command(name = "wgxdp-flood", version)]
pub struct Args {
    /// The responder's UDP address, e.g. 198.18.1.1:51820 or [fd00::1]:51820.
    #[arg(long)]
    pub target: SocketAddr,
    /// The responder's static public key (base64, as `wg show` prints it): what mac1 is keyed by.
    #[arg(long)]
    pub public_key: String,
    /// Datagrams per second (token bucket; at most 2000000).
    #[arg(long)]
    pub rate: u64,
    /// How long to send, in seconds (fractions allowed; at most 600). Never more than rate x seconds datagrams.
    #[arg(long)]
    pub seconds: f64,
    /// Source ports per source address (kernel-chosen, one socket each).
    #[arg(long, default_value_t = 64)]
    pub ports: usize,
    /// Source address to send from (repeatable), or an IPv4 range FIRST-LAST; must be assigned locally. Default:
    /// the kernel's choice for the target.
    #[arg(long = "source", value_name = "ADDR|FIRST-LAST")]
    pub sources: Vec<String>,
    /// Distinct pre-computed messages, sent round robin.
    #[arg(long, default_value_t = 4096)]
    pub pool: usize,
    /// Datagrams per sendmmsg call, at most.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Seed of the message contents (default: random).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// A run, validated.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Where to send.
    pub target: SocketAddr,
    /// The responder's public key.
    pub responder: PublicKey,
    /// Datagrams per second.
    pub rate: u64,
    /// How long.
    pub duration: Duration,
    /// Hard cap on datagrams: rate x seconds, rounded up.
    pub max_messages: u64,
    /// Addresses to bind (each with `ports` sockets).
    pub sources: Vec<IpAddr>,
    /// Sockets per source address.
    pub ports: usize,
    /// Distinct messages.
    pub pool: usize,
    /// Datagrams per send call.
    pub batch: usize,
    /// Seed of the contents, if fixed.
    pub seed: Option<u64>,
}

/// Expands one `--source` value.
fn parse_source(text: &str) -> Result<Vec<IpAddr>, String> {
    let Some((first, last)) = text.split_once('-') else {
        return text.parse::<IpAddr>().map(|ip| vec![ip]).map_err(|_| {
            format!("--source {text}: not an IP address or an IPv4 range FIRST-LAST")
        });
    };
    let (Ok(first), Ok(last)) = (first.parse::<Ipv4Addr>(), last.parse::<Ipv4Addr>()) else {
        return Err(format!(
            "--source {text}: a range is two IPv4 addresses, FIRST-LAST"
        ));
    };
    let (first, last) = (u32::from(first), u32::from(last));
    if first > last {
        return Err(format!("--source {text}: the range ends before it starts"));
    }
    if (last - first) as usize >= MAX_SOCKETS {
        return Err(format!(
            "--source {text}: more than {MAX_SOCKETS} addresses"
        ));
    }
    Ok((first..=last)
        .map(|n| IpAddr::V4(Ipv4Addr::from(n)))
        .collect())
}

impl Args {
    /// Checks every bound and builds the plan.
    pub fn plan(&self) -> Result<Plan, String> {
        let responder = PublicKey::from_base64(&self.public_key)
            .map_err(|e| format!("--public-key: not a base64 WireGuard key ({e})"))?;
        if self.rate == 0 || self.rate > MAX_RATE {
            return Err(format!(
                "--rate {}: must be 1 to {MAX_RATE} per second",
                self.rate
            ));
        }
        if !(self.seconds > 0.0 && self.seconds <= MAX_SECONDS) {
            return Err(format!(
                "--seconds {}: must be more than 0 and at most {MAX_SECONDS}",
                self.seconds
            ));
        }
        if self.ports == 0 {
            return Err("--ports: at least 1".into());
        }
        if self.pool == 0 || self.pool > MAX_POOL {
            return Err(format!("--pool {}: must be 1 to {MAX_POOL}", self.pool));
        }
        if self.batch == 0 || self.batch > wgxdp_io_socket::MAX_BATCH {
            return Err(format!(
                "--batch {}: must be 1 to {}",
                self.batch,
                wgxdp_io_socket::MAX_BATCH
            ));
        }
        let mut sources = Vec::new();
        for text in &self.sources {
            sources.extend(parse_source(text)?);
        }
        if sources.is_empty() {
            sources.push(match self.target {
                SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            });
        }
        if let Some(wrong) = sources
            .iter()
            .find(|ip| ip.is_ipv4() != self.target.is_ipv4())
        {
            return Err(format!(
                "--source {wrong}: not the address family of --target {}",
                self.target
            ));
        }
        if sources.len().saturating_mul(self.ports) > MAX_SOCKETS {
            return Err(format!(
                "{} sources x {} ports: more than {MAX_SOCKETS} sockets",
                sources.len(),
                self.ports
            ));
        }
        Ok(Plan {
            target: self.target,
            responder,
            rate: self.rate,
            duration: Duration::from_secs_f64(self.seconds),
            max_messages: (self.rate as f64 * self.seconds).ceil() as u64,
            sources,
            ports: self.ports,
            pool: self.pool,
            batch: self.batch,
            seed: self.seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

    fn plan(extra: &[&str]) -> Result<Plan, String> {
        let mut argv = vec![
            "wgxdp-flood",
            "--target",
            "198.18.1.1:51820",
            "--public-key",
            KEY,
        ];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .plan()
    }

    #[test]
    fn a_good_command_line() {
        let plan = plan(&[
            "--rate",
            "1000",
            "--seconds",
            "2.5",
            "--source",
            "198.18.2.1-198.18.2.3",
            "--ports",
            "4",
        ])
        .expect("valid");
        assert_eq!(plan.max_messages, 2500);
        assert_eq!(plan.duration, Duration::from_millis(2500));
        assert_eq!(plan.sources.len(), 3);
        assert_eq!(plan.sources[2], "198.18.2.3".parse::<IpAddr>().unwrap());
        assert_eq!(plan.ports, 4);
    }

    #[test]
    fn the_default_source_follows_the_target() {
        let plan = plan(&["--rate", "10", "--seconds", "1"]).expect("valid");
        assert_eq!(plan.sources, vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)]);
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        let cases: &[(&[&str], &str)] = &[
            (&["--rate", "0", "--seconds", "1"], "--rate 0"),
            (&["--rate", "3000000", "--seconds", "1"], "--rate 3000000"),
            (&["--rate", "10", "--seconds", "0"], "--seconds 0"),
            (&["--rate", "10", "--seconds", "601"], "--seconds 601"),
            (&["--rate", "10", "--seconds", "NaN"], "--seconds NaN"),
            (
                &["--rate", "10", "--seconds", "1", "--ports", "0"],
                "--ports",
            ),
            (
                &["--rate", "10", "--seconds", "1", "--batch", "0"],
                "--batch 0",
            ),
            (
                &["--rate", "10", "--seconds", "1", "--source", "fd00::1"],
                "address family",
            ),
            (
                &[
                    "--rate",
                    "10",
                    "--seconds",
                    "1",
                    "--source",
                    "198.18.2.9-198.18.2.1",
                ],
                "ends before",
            ),
            (
                &["--rate", "10", "--seconds", "1", "--source", "nonsense"],
                "not an IP address",
            ),
            (
                &[
                    "--rate",
                    "10",
                    "--seconds",
                    "1",
                    "--source",
                    "198.18.0.0-198.18.255.255",
                ],
                "more than",
            ),
            (
                &["--rate", "10", "--seconds", "1", "--ports", "5000"],
                "sockets",
            ),
            (&["--rate", "ten", "--seconds", "1"], "invalid value 'ten'"),
        ];
        for (extra, expected) in cases {
            let error = plan(extra).expect_err(&format!("{extra:?} accepted"));
            assert!(error.contains(expected), "{extra:?}: {error}");
        }
        let bad_key = Args::try_parse_from([
            "wgxdp-flood",
            "--target",
            "198.18.1.1:51820",
            "--public-key",
            "abc",
            "--rate",
            "1",
            "--seconds",
            "1",
        ])
        .unwrap()
        .plan()
        .unwrap_err();
        assert!(bad_key.contains("--public-key"), "{bad_key}");
    }
}
