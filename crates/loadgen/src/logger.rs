//! A minimal stderr logger for the `log` facade: `[seconds since start] LEVEL message`, level from `-v`/`-q`.

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::clock;

struct StderrLogger {
    level: LevelFilter,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        eprintln!(
            "[{:9.3}] {level} {}",
            clock::now().as_secs_f64(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Installs the logger; `verbosity` 0 is info, 1 debug, 2 and more trace, negative warnings only.
pub fn init(verbosity: i8) {
    let level = match verbosity {
        i8::MIN..=-1 => LevelFilter::Warn,
        0 => LevelFilter::Info,
        1 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    if log::set_boxed_logger(Box::new(StderrLogger { level })).is_ok() {
        log::set_max_level(level);
    }
}
