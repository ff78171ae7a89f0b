//! A tiny stderr logger: one line per event, UTC timestamp, level, message.
//!
//! The level comes from `LOG_LEVEL` (as wireguard-go reads it): `silent`, `error`, `info`
//! (default) or `verbose`/`debug`. Lines are written with one `write_all` so concurrent
//! threads do not interleave within a line.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// How much is logged; higher logs more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Nothing.
    Silent = 0,
    /// Failures only.
    Error = 1,
    /// Problems worth a look that do not stop the daemon.
    Warn = 2,
    /// Lifecycle events (start, stop, rebinds, config applied).
    Info = 3,
    /// Per-event detail (UAPI requests, rejected connections).
    Debug = 4,
}

impl Level {
    fn tag(self) -> &'static str {
        match self {
            Level::Silent => "",
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
        }
    }
}

static MAX_LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Reads `LOG_LEVEL` once at start-up; unknown values keep the default (`info`).
pub fn init_from_env() {
    let level = match std::env::var("LOG_LEVEL").as_deref() {
        Ok("silent") => Level::Silent,
        Ok("error") => Level::Error,
        Ok("warn") | Ok("warning") => Level::Warn,
        Ok("verbose") | Ok("debug") => Level::Debug,
        _ => Level::Info,
    };
    MAX_LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether a message at `level` would be written.
pub fn enabled(level: Level) -> bool {
    level != Level::Silent && level as u8 <= MAX_LEVEL.load(Ordering::Relaxed)
}

/// Writes one line (use the `log_*!` macros).
pub fn write(level: Level, args: std::fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let line = format!(
        "{} {:<5} {}\n",
        utc_timestamp(SystemTime::now()),
        level.tag(),
        args
    );
    // A closed stderr must not take the daemon down: logging is best effort.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
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

/// Logs at error level.
#[macro_export]
macro_rules! log_error { ($($t:tt)*) => { $crate::logger::write($crate::logger::Level::Error, format_args!($($t)*)) }; }
/// Logs at warning level.
#[macro_export]
macro_rules! log_warn { ($($t:tt)*) => { $crate::logger::write($crate::logger::Level::Warn, format_args!($($t)*)) }; }
/// Logs at info level.
#[macro_export]
macro_rules! log_info { ($($t:tt)*) => { $crate::logger::write($crate::logger::Level::Info, format_args!($($t)*)) }; }
/// Logs at debug level.
#[macro_export]
macro_rules! log_debug { ($($t:tt)*) => { $crate::logger::write($crate::logger::Level::Debug, format_args!($($t)*)) }; }

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
