//! Command line: `wgxdp up|explain|stats ...`, and `wgxdp [-f] IFNAME` as a wireguard-go drop-in.
//!
//! The drop-in form is a top-level positional that conflicts with the subcommands, so
//! `wgxdp wg0` and `wgxdp up wg0` both parse (an interface literally named `up`, `explain`,
//! `stats` or `help` must use `wgxdp up NAME`).

use crate::xdp_cpus::{parse_cpu_list, CpuList};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Largest worker count accepted; more threads than this only add contention on one device.
pub const MAX_WORKERS: usize = 64;

/// wgxdp: a userspace WireGuard endpoint.
#[derive(Debug, Parser)]
#[command(
    name = "wgxdp",
    version,
    about = "Userspace WireGuard endpoint (kernel sockets or AF_XDP kernel bypass)",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "The drop-in form `wgxdp IFNAME` (what wg-quick runs as WG_QUICK_USERSPACE_IMPLEMENTATION) takes \
                  the settings of `wgxdp up` from the environment: WGXDP_IO, WGXDP_LINK, WGXDP_WORKERS, WGXDP_CPUS, \
                  WGXDP_XDP_MODE, ... (each option of `wgxdp up --help` names its variable)."
)]
pub struct Cli {
    /// Stay in the foreground (drop-in form only; `up` always does).
    #[arg(short, long)]
    pub foreground: bool,
    /// Drop-in form: append the daemon's log to this file (default: syslog when detached, stderr with -f).
    /// `WGXDP_LOG_FILE` does the same.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Drop-in form: serve the counters at http://ADDR:PORT/metrics (Prometheus); `WGXDP_METRICS` does the same.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<SocketAddr>,
    /// Interface to create, wireguard-go style: returns once it is ready and keeps serving in
    /// the background (what wg-quick expects from WG_QUICK_USERSPACE_IMPLEMENTATION).
    #[arg(value_name = "IFNAME")]
    pub interface: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the interface and serve it in the foreground until SIGINT/SIGTERM, until the
    /// interface is deleted, or until its UAPI socket is removed.
    Up(UpArgs),
    /// Explain routing and source filtering: for an address, which peer traffic to it goes to
    /// and from which peer a packet with that source is accepted; for a public key, which of
    /// the peer's AllowedIPs other peers shadow; with neither, every peer.
    Explain {
        /// Interface of a running wgxdp.
        interface: String,
        /// An IPv4/IPv6 address or a peer's base64 public key.
        subject: Option<String>,
    },
    /// Counters per worker and per drop reason.
    Stats {
        /// Interface of a running wgxdp.
        interface: String,
        /// One JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Internal: write the man pages and shell completions, generated from these definitions (packaging).
    #[command(hide = true)]
    GenerateDocs(DocsArgs),
}

/// Internal: what `wgxdp generate-docs` writes.
#[derive(Clone, Debug, Args)]
pub struct DocsArgs {
    /// Directory for the man pages (`man1/wgxdp.1`, `man1/wgxdp-up.1`, ...) and completions
    /// (`completions/wgxdp.bash`, `completions/_wgxdp`, `completions/wgxdp.fish`).
    pub dir: PathBuf,
}

/// Which packet I/O path to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IoMode {
    /// Kernel UDP sockets (recvmmsg/sendmmsg, GRO/GSO).
    Socket,
    /// AF_XDP on the `--link` device: transport data bypasses the kernel's UDP stack.
    Xdp,
    /// AF_XDP when `--link` is given and the program attaches, the socket path otherwise (the log says why).
    Auto,
}

/// How to attach the XDP steering program (`--xdp-mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum XdpModeArg {
    /// In the driver; fails where the driver has no native XDP.
    Native,
    /// In the generic network stack path: works on every device, slower.
    Generic,
}

/// `--spin-us` unless set: sleep at once. Measured on the 2-core bench (docs/performance.md), where the workers
/// share their cores with the traffic, spinning (50) and busy polling (20) cost throughput, CPU and idle latency.
pub const DEFAULT_SPIN_US: u32 = 0;
/// `--busy-poll-us` unless set: off (see [`DEFAULT_SPIN_US`]).
pub const DEFAULT_BUSY_POLL_US: u32 = 0;

/// Options of `wgxdp up`.
#[derive(Clone, Debug, Args)]
pub struct UpArgs {
    /// Interface name (at most 15 bytes).
    pub interface: String,
    /// Configuration in `wg setconf` format, applied before the interface is reported ready.
    #[arg(long, value_name = "FILE", env = "WGXDP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Packet I/O path.
    #[arg(long, value_enum, default_value_t = IoMode::Socket, env = "WGXDP_IO")]
    pub io: IoMode,
    /// Worker threads (one TUN queue each); default: one per CPU, at most 16.
    #[arg(long, value_name = "N", env = "WGXDP_WORKERS",
          value_parser = clap::value_parser!(u16).range(1..=MAX_WORKERS as i64))]
    pub workers: Option<u16>,
    /// Underlay device carrying the encrypted traffic: the XDP program and the AF_XDP sockets go there.
    #[arg(long, value_name = "NETDEV", env = "WGXDP_LINK")]
    pub link: Option<String>,
    /// XDP attach mode; without it native is tried first and generic used (and logged) if it fails.
    #[arg(long, value_enum, value_name = "MODE", env = "WGXDP_XDP_MODE")]
    pub xdp_mode: Option<XdpModeArg>,
    /// When another XDP program holds the link (attached over netlink), remove it and attach wgxdp's instead of
    /// refusing to start. A program held by another process's BPF link is never removed. In the environment:
    /// `WGXDP_XDP_REPLACE=1` (or `true`/`yes`/`on`; `0`/`false`/`no`/`off` leave it off).
    #[arg(long, env = "WGXDP_XDP_REPLACE", value_parser = clap::builder::BoolishValueParser::new(),
          action = clap::ArgAction::SetTrue, hide_env_values = true)]
    pub xdp_replace: bool,
    /// AF_XDP path: steer transport data only from this source prefix (repeatable; IPv4 or IPv6, `ADDR/LEN` or
    /// one address). Other sources are not dropped: they take the kernel path, where the host firewall
    /// (netfilter/nftables) and the kernel socket see them. Without it every source is steered, bypassing the
    /// host firewall. In the environment: a comma-separated list.
    #[arg(long = "xdp-allow-source", value_name = "PREFIX", env = "WGXDP_XDP_ALLOW_SOURCE", value_delimiter = ',',
          value_parser = crate::xdp_control::parse_source_prefix)]
    pub xdp_allow_source: Vec<wgxdp_io_xdp::SourcePrefix>,
    /// Append the log to this file (the detached form logs to syslog otherwise; the foreground form to stderr).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Serve the counters in OpenMetrics/Prometheus text at http://ADDR:PORT/metrics (off by default;
    /// `WGXDP_METRICS=ADDR:PORT` does the same). Anyone who can reach it reads every peer's key and counters.
    #[arg(long, value_name = "ADDR:PORT", env = "WGXDP_METRICS")]
    pub metrics: Option<SocketAddr>,
    /// CPUs to pin workers to, in order (worker i to entry i): `0,2,4-7`.
    #[arg(long, value_name = "LIST", env = "WGXDP_CPUS", value_parser = parse_cpu_list)]
    pub cpus: Option<CpuList>,
    /// Tunnel MTU.
    #[arg(long, default_value_t = 1420, env = "WGXDP_MTU", value_parser = clap::value_parser!(u16).range(576..=65_000))]
    pub mtu: u16,
    /// Seconds a thread may go without progress before the daemon calls it wedged and stops with a failure.
    #[arg(long, value_name = "SECS", default_value_t = crate::watchdog::DEFAULT_LIMIT_SECS, env = "WGXDP_WATCHDOG_SECS",
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub watchdog_secs: u32,
    /// Threads doing the Diffie-Hellman work of handshakes; default: one per CPU, at most 4.
    #[arg(long, value_name = "N", env = "WGXDP_HANDSHAKE_WORKERS", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub handshake_workers: Option<u16>,
    /// AF_XDP path: microseconds an idle worker keeps looking at its rings before it sleeps in epoll (default 0:
    /// sleep at once, and let the kernel wake it). A worker with a core to itself can catch the next packet of a
    /// busy flow without a wake-up with 50; where workers share cores with other work, spinning takes their CPU.
    #[arg(long, value_name = "USECS", default_value_t = DEFAULT_SPIN_US, env = "WGXDP_SPIN_US", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub spin_us: u32,
    /// AF_XDP path: preferred busy polling on each AF_XDP socket (SO_PREFER_BUSY_POLL, SO_BUSY_POLL = USECS,
    /// SO_BUSY_POLL_BUDGET 64), where the driver supports it; default 0: off (for dedicated cores, try 20).
    #[arg(long, value_name = "USECS", default_value_t = DEFAULT_BUSY_POLL_US, env = "WGXDP_BUSY_POLL_US", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub busy_poll_us: u32,
    /// Accepted for symmetry with the drop-in form; `up` always runs in the foreground.
    #[arg(long, hide = true)]
    pub foreground: bool,
    /// Internal: write `ready` (or `error: ...`) to stdout once serving; used by the drop-in
    /// form to know when to return.
    #[arg(long, hide = true)]
    pub notify_ready: bool,
    /// Internal: log to syslog (the detached drop-in form, whose stderr goes nowhere).
    #[arg(long, hide = true, conflicts_with = "log_file")]
    pub log_syslog: bool,
}

/// The environment variables of `wgxdp up`'s options, in the order `--help` lists them: the drop-in form
/// (`wgxdp IFNAME`, which wg-quick runs with no options) takes its settings from these only.
pub const ENV_SETTINGS: &[&str] = &[
    "WGXDP_CONFIG",
    "WGXDP_IO",
    "WGXDP_WORKERS",
    "WGXDP_LINK",
    "WGXDP_XDP_MODE",
    "WGXDP_XDP_REPLACE",
    "WGXDP_XDP_ALLOW_SOURCE",
    "WGXDP_METRICS",
    "WGXDP_CPUS",
    "WGXDP_MTU",
    "WGXDP_WATCHDOG_SECS",
    "WGXDP_HANDSHAKE_WORKERS",
    "WGXDP_SPIN_US",
    "WGXDP_BUSY_POLL_US",
];

/// The `WGXDP_*` settings present in the environment, as `NAME=VALUE` (for error messages).
fn env_settings_shown() -> String {
    let set: Vec<String> = ENV_SETTINGS
        .iter()
        .filter_map(|name| {
            std::env::var_os(name).map(|value| format!("{name}={}", value.to_string_lossy()))
        })
        .collect();
    if set.is_empty() {
        "no WGXDP_* setting".to_owned()
    } else {
        set.join(" ")
    }
}

impl UpArgs {
    /// The settings of the drop-in form `wgxdp IFNAME`: `wgxdp up IFNAME` with nothing but the environment
    /// (`WGXDP_IO`, `WGXDP_LINK`, ...: [`ENV_SETTINGS`]). A bad value is clap's error, followed by the
    /// variables that were set (the option it names came from one of them).
    pub fn from_env(interface: &str) -> Result<Self, String> {
        // `--`: an interface name is never taken for an option.
        match Cli::try_parse_from(["wgxdp", "up", "--", interface]) {
            Ok(Cli {
                command: Some(Command::Up(args)),
                ..
            }) => Ok(args),
            Ok(_) => Err("`wgxdp up` did not parse as itself".to_owned()),
            Err(e) => {
                let rendered = e.render().to_string();
                let first = rendered.lines().next().unwrap_or("invalid setting");
                let first = first.strip_prefix("error: ").unwrap_or(first);
                Err(format!(
                    "{first}; the drop-in form takes its settings from the environment, which has {}",
                    env_settings_shown()
                ))
            }
        }
    }

    /// Defaults for an interface name: what the drop-in form has without any `WGXDP_*` setting (tests build
    /// their arguments from it).
    #[cfg(test)]
    pub fn for_interface(interface: String) -> Self {
        Self {
            interface,
            config: None,
            io: IoMode::Socket,
            workers: None,
            link: None,
            xdp_mode: None,
            xdp_replace: false,
            xdp_allow_source: Vec::new(),
            log_file: None,
            metrics: None,
            cpus: None,
            mtu: 1420,
            watchdog_secs: crate::watchdog::DEFAULT_LIMIT_SECS,
            handshake_workers: None,
            spin_us: DEFAULT_SPIN_US,
            busy_poll_us: DEFAULT_BUSY_POLL_US,
            foreground: false,
            notify_ready: false,
            log_syslog: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Parsing reads the process environment: the tests that set `WGXDP_*` hold this lock, as does every parse.
    static ENV_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn env_lock() -> std::sync::MutexGuard<'static, ()> {
        ENV_LOCK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let _env = env_lock();
        Cli::try_parse_from(std::iter::once("wgxdp").chain(args.iter().copied()))
    }

    /// Runs `f` with exactly these `WGXDP_*` settings in the environment (the others removed), then removes them.
    fn with_env<T>(vars: &[(&str, &str)], f: impl FnOnce() -> T) -> T {
        let _env = env_lock();
        for name in ENV_SETTINGS {
            std::env::remove_var(name);
        }
        for (name, value) in vars {
            assert!(ENV_SETTINGS.contains(name), "{name} is not in ENV_SETTINGS");
            std::env::set_var(name, value);
        }
        let result = f();
        for (name, _) in vars {
            std::env::remove_var(name);
        }
        result
    }

    #[test]
    fn drop_in_form_takes_its_settings_from_the_environment() {
        let up = with_env(
            &[
                ("WGXDP_IO", "xdp"),
                ("WGXDP_LINK", "eth1"),
                ("WGXDP_WORKERS", "2"),
                ("WGXDP_CPUS", "1,3"),
                ("WGXDP_XDP_MODE", "generic"),
                ("WGXDP_XDP_REPLACE", "1"),
                ("WGXDP_XDP_ALLOW_SOURCE", "198.18.0.0/15,fd00::/8"),
                ("WGXDP_CONFIG", "/etc/wireguard/wg0.conf"),
                ("WGXDP_MTU", "1380"),
                ("WGXDP_WATCHDOG_SECS", "30"),
                ("WGXDP_HANDSHAKE_WORKERS", "1"),
                ("WGXDP_SPIN_US", "50"),
                ("WGXDP_BUSY_POLL_US", "20"),
            ],
            || UpArgs::from_env("wg0"),
        )
        .unwrap();
        assert_eq!(up.interface, "wg0");
        assert_eq!(up.io, IoMode::Xdp);
        assert_eq!(up.link.as_deref(), Some("eth1"));
        assert_eq!(up.workers, Some(2));
        assert_eq!(up.cpus.map(|c| c.0), Some(vec![1, 3]));
        assert_eq!(up.xdp_mode, Some(XdpModeArg::Generic));
        assert!(up.xdp_replace);
        let sources: Vec<String> = up.xdp_allow_source.iter().map(|p| p.to_string()).collect();
        assert_eq!(sources, ["198.18.0.0/15", "fd00::/8"]);
        assert_eq!(up.config, Some(PathBuf::from("/etc/wireguard/wg0.conf")));
        assert_eq!(
            (up.mtu, up.watchdog_secs, up.handshake_workers),
            (1380, 30, Some(1))
        );
        assert_eq!((up.spin_us, up.busy_poll_us), (50, 20));
        assert!(!up.notify_ready && !up.log_syslog && up.log_file.is_none());
    }

    #[test]
    fn without_settings_the_drop_in_form_has_the_defaults() {
        let up = with_env(&[], || UpArgs::from_env("wg0")).unwrap();
        let defaults = UpArgs::for_interface("wg0".into());
        assert_eq!(format!("{up:?}"), format!("{defaults:?}"));
        // An interface name that looks like an option is still a name.
        let up = with_env(&[], || UpArgs::from_env("--help")).unwrap();
        assert_eq!(up.interface, "--help");
        let off = with_env(&[("WGXDP_XDP_REPLACE", "off")], || UpArgs::from_env("wg0")).unwrap();
        assert!(!off.xdp_replace);
    }

    #[test]
    fn a_bad_setting_is_an_error_naming_the_variables() {
        for (name, value, says) in [
            ("WGXDP_IO", "dpdk", "'dpdk' for '--io"),
            ("WGXDP_WORKERS", "0", "'0' for '--workers"),
            ("WGXDP_CPUS", "2-1", "runs backwards"),
            ("WGXDP_XDP_REPLACE", "maybe", "'maybe' for '--xdp-replace"),
            ("WGXDP_XDP_ALLOW_SOURCE", "198.18.0.0/40", "198.18.0.0/40"),
            ("WGXDP_MTU", "100", "'100' for '--mtu"),
        ] {
            let err = with_env(&[(name, value)], || UpArgs::from_env("wg0")).unwrap_err();
            assert!(err.contains(says), "{name}={value}: {err}");
            assert!(
                err.contains(&format!("{name}={value}")),
                "{name}={value}: {err}"
            );
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn the_command_line_wins_over_the_environment() {
        let cli = with_env(&[("WGXDP_IO", "xdp"), ("WGXDP_MTU", "1380")], || {
            Cli::try_parse_from(["wgxdp", "up", "wg0", "--io", "socket"])
        })
        .unwrap();
        let Some(Command::Up(up)) = cli.command else {
            panic!("not up");
        };
        assert_eq!((up.io, up.mtu), (IoMode::Socket, 1380));
    }

    #[test]
    fn every_setting_is_an_option_of_up() {
        let command = Cli::command();
        let up = command.find_subcommand("up").expect("up");
        let mut names: Vec<String> = up
            .get_arguments()
            .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
            .collect();
        names.sort();
        let mut listed: Vec<String> = ENV_SETTINGS.iter().map(|s| (*s).to_owned()).collect();
        listed.sort();
        assert_eq!(names, listed);
    }

    #[test]
    fn drop_in_form_takes_a_bare_interface() {
        let cli = parse(&["wg0"]).unwrap();
        assert_eq!(cli.interface.as_deref(), Some("wg0"));
        assert!(cli.command.is_none());
        assert!(!cli.foreground);
        let cli = parse(&["-f", "wg1"]).unwrap();
        assert!(cli.foreground);
        assert_eq!(cli.interface.as_deref(), Some("wg1"));
        let cli = parse(&["--foreground", "wg2"]).unwrap();
        assert!(cli.foreground);
    }

    #[test]
    fn subcommands_parse_with_their_options() {
        let cli = parse(&[
            "up",
            "wg0",
            "--config",
            "/x.conf",
            "--io",
            "auto",
            "--workers",
            "3",
            "--mtu",
            "1380",
        ])
        .unwrap();
        let Some(Command::Up(up)) = cli.command else {
            panic!("not up: {cli:?}");
        };
        assert_eq!(up.interface, "wg0");
        assert_eq!(up.config, Some(PathBuf::from("/x.conf")));
        assert_eq!(up.io, IoMode::Auto);
        assert_eq!(up.workers, Some(3));
        assert_eq!(up.mtu, 1380);
        assert!(matches!(
            parse(&["explain", "wg0", "10.0.0.1"]).unwrap().command,
            Some(Command::Explain { subject: Some(s), .. }) if s == "10.0.0.1"
        ));
        assert!(matches!(
            parse(&["stats", "wg0", "--json"]).unwrap().command,
            Some(Command::Stats { json: true, .. })
        ));
        assert!(matches!(
            parse(&["up", "wg0", "--io", "xdp"]).unwrap().command,
            Some(Command::Up(UpArgs {
                io: IoMode::Xdp,
                ..
            }))
        ));
    }

    #[test]
    fn xdp_options_parse() {
        let cli = parse(&[
            "up",
            "wg0",
            "--io",
            "xdp",
            "--link",
            "veth0",
            "--xdp-mode",
            "generic",
            "--workers",
            "2",
            "--cpus",
            "1,3-4",
        ])
        .unwrap();
        let Some(Command::Up(up)) = cli.command else {
            panic!("not up: {cli:?}");
        };
        assert_eq!(up.link.as_deref(), Some("veth0"));
        assert_eq!(up.xdp_mode, Some(XdpModeArg::Generic));
        assert_eq!(up.cpus.map(|c| c.0), Some(vec![1, 3, 4]));
        assert!(parse(&["up", "wg0", "--xdp-mode", "offload"]).is_err());
        assert!(parse(&["up", "wg0", "--cpus", "2-1"]).is_err());
        let defaults = parse(&["up", "wg0"]).unwrap();
        let Some(Command::Up(up)) = defaults.command else {
            panic!("not up");
        };
        assert_eq!((up.link, up.xdp_mode, up.cpus), (None, None, None));
    }

    #[test]
    fn log_and_replace_options_parse() {
        let cli = parse(&["--log-file", "/tmp/w.log", "wg0"]).unwrap();
        assert_eq!(cli.log_file, Some(PathBuf::from("/tmp/w.log")));
        let Some(Command::Up(up)) = parse(&["up", "wg0", "--log-file", "/l", "--xdp-replace"])
            .unwrap()
            .command
        else {
            panic!("not up");
        };
        assert_eq!(up.log_file, Some(PathBuf::from("/l")));
        assert!(up.xdp_replace && !up.log_syslog);
        assert!(parse(&["up", "wg0", "--log-file", "/l", "--log-syslog"]).is_err());
    }

    #[test]
    fn allow_source_repeats_and_takes_both_families() {
        let Some(Command::Up(up)) = parse(&[
            "up",
            "wg0",
            "--xdp-allow-source",
            "198.18.2.0/24",
            "--xdp-allow-source",
            "fd00:198:18:2::/64",
        ])
        .unwrap()
        .command
        else {
            panic!("not up");
        };
        let shown: Vec<String> = up.xdp_allow_source.iter().map(|p| p.to_string()).collect();
        assert_eq!(shown, ["198.18.2.0/24", "fd00:198:18:2::/64"]);
        assert!(parse(&["up", "wg0", "--xdp-allow-source", "198.18.2.0/40"]).is_err());
        assert!(UpArgs::for_interface("wg0".into())
            .xdp_allow_source
            .is_empty());
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(parse(&["up", "wg0", "--workers", "0"]).is_err());
        assert!(parse(&["up", "wg0", "--io", "dpdk"]).is_err());
        assert!(parse(&["up"]).is_err());
        assert!(parse(&["wg0", "extra"]).is_err());
    }
}
