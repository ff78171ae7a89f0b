//! The DUT's CPU, from /proc: per thread (utime + stime of /proc/PID/task/TID/stat) and per CPU, system-wide
//! (every field of /proc/stat's cpuN lines, softirq and irq included). Snapshots before and after a test give the
//! time spent, which the report turns into nanoseconds per packet and cores per Gbit/s.

use std::collections::BTreeMap;
use std::fs;

use serde::{Deserialize, Serialize};

/// Nanoseconds per clock tick (USER_HZ).
fn tick_ns() -> u64 {
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|hz| *hz > 0)
        .unwrap_or(100);
    1_000_000_000 / hz as u64
}

/// utime and stime (ticks) and name of one thread, from its stat line.
pub fn parse_thread_stat(line: &str) -> Option<(String, u64, u64)> {
    // The name is in parentheses and may itself contain spaces and parentheses: take the last ')'.
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let name = line.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = line.get(close + 1..)?.split_whitespace().collect();
    // After the name: state is field 3 of the line; utime and stime are fields 14 and 15.
    let utime = fields.get(11)?.parse().ok()?;
    let stime = fields.get(12)?.parse().ok()?;
    Some((name, utime, stime))
}

/// The time of one CPU in ticks, by /proc/stat field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuTicks {
    /// user + nice.
    pub user: u64,
    /// system.
    pub system: u64,
    /// idle + iowait.
    pub idle: u64,
    /// irq.
    pub irq: u64,
    /// softirq.
    pub softirq: u64,
    /// steal, guest...
    pub other: u64,
}

impl CpuTicks {
    fn since(&self, earlier: &Self) -> Self {
        Self {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
            idle: self.idle.saturating_sub(earlier.idle),
            irq: self.irq.saturating_sub(earlier.irq),
            softirq: self.softirq.saturating_sub(earlier.softirq),
            other: self.other.saturating_sub(earlier.other),
        }
    }

    fn busy(&self) -> u64 {
        self.user + self.system + self.irq + self.softirq + self.other
    }
}

/// The cpuN lines of /proc/stat, by CPU number.
pub fn parse_proc_stat(text: &str) -> BTreeMap<u32, CpuTicks> {
    let mut cpus = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(cpu) = words
            .next()
            .and_then(|w| w.strip_prefix("cpu"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let v: Vec<u64> = words.map(|w| w.parse().unwrap_or(0)).collect();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        cpus.insert(
            cpu,
            CpuTicks {
                user: at(0) + at(1),
                system: at(2),
                idle: at(3) + at(4),
                irq: at(5),
                softirq: at(6),
                other: v.iter().skip(7).take(1).sum(),
            },
        );
    }
    cpus
}

/// A snapshot of the DUT process's threads and of every CPU.
#[derive(Clone, Debug, Default)]
pub struct CpuSnapshot {
    threads: BTreeMap<u32, (String, u64)>,
    cpus: BTreeMap<u32, CpuTicks>,
    process_alive: bool,
}

impl CpuSnapshot {
    /// Reads the threads of `pid` (if given) and /proc/stat.
    pub fn take(pid: Option<u32>) -> Self {
        let mut threads = BTreeMap::new();
        let mut process_alive = false;
        if let Some(pid) = pid {
            if let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) {
                process_alive = true;
                for entry in dir.flatten() {
                    let Some(tid) = entry
                        .file_name()
                        .to_str()
                        .and_then(|s| s.parse::<u32>().ok())
                    else {
                        continue;
                    };
                    let Ok(line) = fs::read_to_string(entry.path().join("stat")) else {
                        continue;
                    };
                    if let Some((name, utime, stime)) = parse_thread_stat(&line) {
                        threads.insert(tid, (name, utime + stime));
                    }
                }
            }
        }
        let cpus = fs::read_to_string("/proc/stat")
            .map(|text| parse_proc_stat(&text))
            .unwrap_or_default();
        Self {
            threads,
            cpus,
            process_alive,
        }
    }
}

/// CPU time spent in a window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuUse {
    /// Window length in seconds.
    pub seconds: f64,
    /// Whether the DUT process was there at both ends of the window.
    pub process_alive: bool,
    /// The DUT's threads: name (with thread id) -> CPU seconds.
    pub threads: BTreeMap<String, f64>,
    /// All the DUT's threads together, CPU seconds.
    pub process_seconds: f64,
    /// Per CPU: busy seconds by kind.
    pub cpus: BTreeMap<u32, CpuBusy>,
}

/// One CPU's busy time in a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuBusy {
    /// User time (nice included).
    pub user: f64,
    /// System time.
    pub system: f64,
    /// Hard interrupts.
    pub irq: f64,
    /// Soft interrupts (the network receive path).
    pub softirq: f64,
    /// Everything busy, in seconds.
    pub busy: f64,
    /// Idle, in seconds.
    pub idle: f64,
}

impl CpuUse {
    /// What was spent between two snapshots `seconds` apart.
    pub fn between(before: &CpuSnapshot, after: &CpuSnapshot, seconds: f64) -> Self {
        let tick = tick_ns() as f64 / 1e9;
        let mut threads = BTreeMap::new();
        let mut process_ticks = 0;
        for (tid, (name, ticks)) in &after.threads {
            let start = before.threads.get(tid).map_or(0, |(_, t)| *t);
            let spent = ticks.saturating_sub(start);
            process_ticks += spent;
            threads.insert(format!("{name}/{tid}"), spent as f64 * tick);
        }
        let cpus = after
            .cpus
            .iter()
            .map(|(cpu, ticks)| {
                let d = ticks.since(&before.cpus.get(cpu).copied().unwrap_or_default());
                let s = |t: u64| t as f64 * tick;
                (
                    *cpu,
                    CpuBusy {
                        user: s(d.user),
                        system: s(d.system),
                        irq: s(d.irq),
                        softirq: s(d.softirq),
                        busy: s(d.busy()),
                        idle: s(d.idle),
                    },
                )
            })
            .collect();
        Self {
            seconds,
            process_alive: before.process_alive && after.process_alive,
            threads,
            process_seconds: process_ticks as f64 * tick,
            cpus,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_stat_with_awkward_names() {
        let line =
            "4242 (wg (rx) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 12345 0 0";
        assert_eq!(
            parse_thread_stat(line),
            Some(("wg (rx) 1".to_string(), 250, 75))
        );
        assert_eq!(parse_thread_stat("garbage"), None);
        assert_eq!(parse_thread_stat("1 (x) S 1 2"), None);
    }

    #[test]
    fn proc_stat_per_cpu_and_deltas() {
        let before = parse_proc_stat(
            "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 5 1 5 50 2 1 3 0 0 0\ncpu1 5 0 5 50 0 0 0 0 0 0\nintr 5\n",
        );
        assert_eq!(before.len(), 2, "the aggregate line is not a CPU");
        assert_eq!(before[&0].user, 6);
        assert_eq!(before[&0].idle, 52);
        let after = parse_proc_stat("cpu0 105 1 55 50 2 11 53 0 0 0\ncpu1 5 0 5 150 0 0 0 0 0 0\n");
        let a = CpuSnapshot {
            cpus: before,
            ..CpuSnapshot::default()
        };
        let b = CpuSnapshot {
            cpus: after,
            ..CpuSnapshot::default()
        };
        let used = CpuUse::between(&a, &b, 2.0);
        let cpu0 = used.cpus[&0];
        let tick = tick_ns() as f64 / 1e9;
        assert!(
            (cpu0.busy - 210.0 * tick).abs() < 1e-9,
            "user 100 + system 50 + irq 10 + softirq 50"
        );
        assert!((cpu0.softirq - 50.0 * tick).abs() < 1e-9);
        assert!((used.cpus[&1].idle - 100.0 * tick).abs() < 1e-9);
        assert!(!used.process_alive);
    }
}
