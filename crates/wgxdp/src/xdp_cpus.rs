//! `--cpus LIST`: which CPU each worker is pinned to, and the pinning itself.

use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// Most CPUs a list may name (as `CpuSet` holds).
const MAX_CPU: usize = 1023;

/// CPUs in the order given: worker i goes to entry i.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuList(pub Vec<usize>);

/// Parses `0,2,4-7` (entries and inclusive ranges, in the order written).
pub fn parse_cpu_list(text: &str) -> Result<CpuList, String> {
    let mut cpus = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (cpu_number(a)?, cpu_number(b)?),
            None => (cpu_number(part)?, cpu_number(part)?),
        };
        if first > last {
            return Err(format!("CPU range {part} runs backwards"));
        }
        cpus.extend(first..=last);
    }
    if cpus.is_empty() {
        return Err("empty CPU list".into());
    }
    Ok(CpuList(cpus))
}

fn cpu_number(text: &str) -> Result<usize, String> {
    let cpu: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a CPU number"))?;
    if cpu > MAX_CPU {
        return Err(format!("CPU {cpu} is beyond {MAX_CPU}"));
    }
    Ok(cpu)
}

/// Pins the calling thread to `cpu`.
pub fn pin_current_thread(cpu: usize) -> Result<(), String> {
    let mut set = CpuSet::new();
    set.set(cpu).map_err(|e| format!("CPU {cpu}: {e}"))?;
    // Pid 0 is the calling thread.
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| format!("pinning to CPU {cpu}: {e}"))
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
        assert!(parse_cpu_list("4-2").is_err());
        assert!(parse_cpu_list("5000").is_err());
    }

    #[test]
    fn pins_to_a_cpu_we_may_run_on() {
        assert!(pin_current_thread(0).is_ok());
        assert!(pin_current_thread(MAX_CPU).is_err());
    }
}
