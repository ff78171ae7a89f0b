//! `--cpus LIST`: which CPU each worker is pinned to, and the pinning itself.

use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// Most CPUs a list may name (as `CpuSet` holds).
const MAX_CPU: usize = 1023;

/// CPUs in the order given: worker i goes to entry i.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuList(pub Vec<usize>);

/// What is wrong with a CPU list, or with pinning to a CPU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuError {
    /// `4-2`.
    #[error("CPU range {0} runs backwards")]
    Backwards(String),
    /// Nothing listed.
    #[error("empty CPU list")]
    Empty,
    /// Not a number.
    #[error("{0:?} is not a CPU number")]
    NotANumber(String),
    /// Past what a CPU set holds.
    #[error("CPU {0} is beyond {MAX_CPU}")]
    TooLarge(usize),
    /// The CPU is not in a set.
    #[error("CPU {cpu}: {source}")]
    NotInSet {
        /// The CPU asked for.
        cpu: usize,
        /// Why.
        source: nix::Error,
    },
    /// The kernel refused the affinity.
    #[error("pinning to CPU {cpu}: {source}")]
    Pin {
        /// The CPU asked for.
        cpu: usize,
        /// Why.
        source: nix::Error,
    },
}

/// Parses `0,2,4-7` (entries and inclusive ranges, in the order written).
pub fn parse_cpu_list(text: &str) -> Result<CpuList, CpuError> {
    let mut cpus = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (cpu_number(a)?, cpu_number(b)?),
            None => (cpu_number(part)?, cpu_number(part)?),
        };
        if first > last {
            return Err(CpuError::Backwards(part.to_owned()));
        }
        cpus.extend(first..=last);
    }
    if cpus.is_empty() {
        return Err(CpuError::Empty);
    }
    Ok(CpuList(cpus))
}

fn cpu_number(text: &str) -> Result<usize, CpuError> {
    let cpu: usize = text
        .trim()
        .parse()
        .map_err(|_| CpuError::NotANumber(text.to_owned()))?;
    if cpu > MAX_CPU {
        return Err(CpuError::TooLarge(cpu));
    }
    Ok(cpu)
}

/// Pins the calling thread to `cpu`.
pub fn pin_current_thread(cpu: usize) -> Result<(), CpuError> {
    let mut set = CpuSet::new();
    set.set(cpu)
        .map_err(|source| CpuError::NotInSet { cpu, source })?;
    // Pid 0 is the calling thread.
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|source| CpuError::Pin { cpu, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges_keep_their_order() {
        assert_eq!(parse_cpu_list("3").unwrap().0, vec![3]);
        assert_eq!(parse_cpu_list("2,0-1, 5").unwrap().0, vec![2, 0, 1, 5]);
        assert!(parse_cpu_list("").is_err());
        assert!(parse_cpu_list("1,,2").is_err());
        assert!(parse_cpu_list("a").is_err());
        assert_eq!(
            parse_cpu_list("4-2"),
            Err(CpuError::Backwards("4-2".into()))
        );
        assert_eq!(
            parse_cpu_list("5000").map_err(|e| e.to_string()),
            Err("CPU 5000 is beyond 1023".into())
        );
    }

    #[test]
    fn pins_to_a_cpu_we_may_run_on() {
        assert!(pin_current_thread(0).is_ok());
        assert!(pin_current_thread(MAX_CPU).is_err());
    }
}
