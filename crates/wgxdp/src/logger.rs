//! The daemon's log, installed as the `log` crate's backend: the daemon's own lines (the `log_*!` macros are
//! `log::error!` and company) and every library crate's `log::` lines (io-xdp, datapath...) go to one sink
//! chosen at start-up:
//!
//! - stderr (the foreground forms), with a UTC timestamp;
//! - a file (`--log-file PATH`), appended, same lines;
//! - syslog (the detached form `wgxdp IFNAME`, whose stderr goes nowhere): RFC 3164 datagrams on `/dev/log`,
//!   which journald and rsyslog both read, facility `daemon`, tagged `wgxdp[PID]`.
//!
//! The level comes from `LOG_LEVEL` (as wireguard-go reads it): `silent`, `error`, `warn`, `info` (default) or
//! `verbose`/`debug`. Each line is written with one call so concurrent threads do not interleave within a line.
//! Logging is best effort: a sink that fails never takes the daemon down. A panic is logged too, so that no exit
//! goes unexplained.

use log::{Level, LevelFilter};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where syslog listens on Linux.
pub const SYSLOG_SOCKET: &str = "/dev/log";
/// syslog's `daemon` facility.
const FACILITY_DAEMON: u8 = 3;

/// The syslog severity of a level.
fn severity(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// The level's word in a line.
fn tag(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug | Level::Trace => "DEBUG",
    }
}

/// What `LOG_LEVEL` asks for; unknown values keep the default (`info`).
fn filter_of(value: Option<&str>) -> LevelFilter {
    match value {
        Some("silent") => LevelFilter::Off,
        Some("error") => LevelFilter::Error,
        Some("warn") | Some("warning") => LevelFilter::Warn,
        Some("verbose") | Some("debug") => LevelFilter::Debug,
        _ => LevelFilter::Info,
    }
}

/// Installs the backend with the level `LOG_LEVEL` asks for; called once at start-up, before any thread.
pub fn init_from_env() {
    let level = filter_of(std::env::var("LOG_LEVEL").ok().as_deref());
    if log::set_logger(&BACKEND).is_ok() {
        log::set_max_level(level);
    }
}

/// Where log lines go.
#[derive(Debug)]
enum Sink {
    Stderr,
    File(Mutex<File>),
    Syslog(Mutex<UnixDatagram>),
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sends the log to the file at `path` (appended, created if needed) from now on.
pub fn log_to_file(path: &Path) -> std::io::Result<()> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    set_sink(Sink::File(Mutex::new(file)));
    Ok(())
}

/// Sends the log to syslog from now on; fails when no syslog listens on [`SYSLOG_SOCKET`].
pub fn log_to_syslog() -> std::io::Result<()> {
    set_sink(Sink::Syslog(Mutex::new(syslog_socket()?)));
    Ok(())
}

/// Whether a syslog daemon listens on [`SYSLOG_SOCKET`] (so a detached daemon's log is kept there).
pub fn syslog_available() -> bool {
    syslog_socket().is_ok()
}

fn syslog_socket() -> std::io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    socket.connect(SYSLOG_SOCKET)?;
    Ok(socket)
}

fn set_sink(sink: Sink) {
    // Chosen once, before any thread logs; a second choice keeps the first.
    let _ = SINK.set(sink);
}

/// A panic in any thread ends the process: logged first (thread, location, message) to the sink in use, since
/// the default hook only prints to a stderr nobody may read, then the process aborts. A daemon with one thread
/// gone would look alive while it no longer forwards, times out or answers.
pub fn log_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        log::error!("thread {name} panicked: {info}; stopping the daemon (abort)");
        default(info);
        std::process::abort();
    }));
}

/// The `log` backend: every record at or above the level goes to the sink.
struct Backend;

impl log::Log for Backend {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            write(record.level(), *record.args());
        }
    }

    fn flush(&self) {}
}

static BACKEND: Backend = Backend;

/// Writes one line to the sink.
fn write(level: Level, args: std::fmt::Arguments<'_>) {
    // A failing sink must not take the daemon down: logging is best effort.
    match SINK.get().unwrap_or(&Sink::Stderr) {
        Sink::Stderr => {
            let _ = std::io::stderr()
                .lock()
                .write_all(line(level, args).as_bytes());
        }
        Sink::File(file) => {
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            let _ = file.write_all(line(level, args).as_bytes());
        }
        Sink::Syslog(socket) => {
            let message = syslog_message(level, std::process::id(), args);
            let mut socket = socket.lock().unwrap_or_else(|e| e.into_inner());
            if socket.send(message.as_bytes()).is_err() {
                // syslog restarted: its socket is a new one.
                if let Ok(fresh) = syslog_socket() {
                    *socket = fresh;
                    let _ = socket.send(message.as_bytes());
                }
            }
        }
    }
}

fn line(level: Level, args: std::fmt::Arguments<'_>) -> String {
    format!(
        "{} {:<5} {}\n",
        utc_timestamp(SystemTime::now()),
        tag(level),
        args
    )
}

/// `<PRI>wgxdp[PID]: MESSAGE`: syslogd and journald stamp the time themselves.
fn syslog_message(level: Level, pid: u32, args: std::fmt::Arguments<'_>) -> String {
    let priority = FACILITY_DAEMON * 8 + severity(level);
    format!("<{priority}>wgxdp[{pid}]: {args}")
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` without pulling in a date crate.
fn utc_timestamp(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Logs at error level (through the `log` crate, like every other crate's lines).
#[macro_export]
macro_rules! log_error { ($($t:tt)*) => { log::error!($($t)*) }; }
/// Logs at warning level.
#[macro_export]
macro_rules! log_warn { ($($t:tt)*) => { log::warn!($($t)*) }; }
/// Logs at info level.
#[macro_export]
macro_rules! log_info { ($($t:tt)*) => { log::info!($($t)*) }; }
/// Logs at debug level.
#[macro_export]
macro_rules! log_debug { ($($t:tt)*) => { log::debug!($($t)*) }; }

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn syslog_lines_carry_facility_severity_tag_and_pid() {
        assert_eq!(
            syslog_message(Level::Error, 42, format_args!("wg0: stopped (x)")),
            "<27>wgxdp[42]: wg0: stopped (x)"
        );
        assert_eq!(
            syslog_message(Level::Info, 7, format_args!("up")),
            "<30>wgxdp[7]: up"
        );
        assert_eq!(
            syslog_message(Level::Warn, 7, format_args!("w")),
            "<28>wgxdp[7]: w"
        );
    }

    #[test]
    fn lines_carry_time_level_and_message() {
        let l = line(Level::Warn, format_args!("wg0: x"));
        assert!(l.ends_with("Z WARN  wg0: x\n"), "{l:?}");
        assert_eq!(filter_of(Some("silent")), LevelFilter::Off);
        assert_eq!(filter_of(Some("verbose")), LevelFilter::Debug);
        assert_eq!(filter_of(Some("nonsense")), LevelFilter::Info);
        assert_eq!(filter_of(None), LevelFilter::Info);
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T12:34:56.789Z (a leap day) = 1709210096.789
        let t = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        assert_eq!(utc_timestamp(t), "2024-02-29T12:34:56.789Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_timestamp(t), "2000-02-29T00:00:00.000Z");
    }
}
