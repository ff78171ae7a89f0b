//! Reading a program's per-CPU counter array: each slot summed over all CPUs. The steering and the sink programs
//! both keep their counters this way.

use aya::maps::{MapData, PerCpuArray};
use aya::Ebpf;

use crate::error::{Result, XdpError};

/// The per-CPU array both programs keep their counters in.
const COUNTER_MAP: &str = "counters";

/// The sums of `N` slots of the program's counter array, slot `indices[i]` into entry `i`; `what` says what was
/// being read in errors.
pub(crate) fn counter_sums<const N: usize>(
    ebpf: &Ebpf,
    indices: [u32; N],
    what: &'static str,
) -> Result<[u64; N]> {
    let map = ebpf
        .map(COUNTER_MAP)
        .ok_or(XdpError::MissingObject("map counters"))?;
    let array: PerCpuArray<&MapData, u64> =
        PerCpuArray::try_from(map).map_err(|e| XdpError::Map {
            action: what,
            source: Box::new(e),
        })?;
    let mut sums = [0u64; N];
    for (sum, index) in sums.iter_mut().zip(indices) {
        let per_cpu = array.get(&index, 0).map_err(|e| XdpError::Map {
            action: what,
            source: Box::new(e),
        })?;
        *sum = per_cpu.iter().sum();
    }
    Ok(sums)
}
