//! Loads the embedded sink program (`ebpf/wgxdp_sink.bpf.c`) of the load generator, attaches it to the interface
//! where the load arrives and reads its counters. Dropping the [`SinkProgram`] detaches it.

use aya::programs::Xdp;
use aya::{Ebpf, EbpfLoader};

use crate::error::{Result, XdpError};
use crate::netlink_route::RtNetlink;
use crate::per_cpu_sums::counter_sums;
use crate::sink_counters::{SinkCounter, SinkCounters};
use crate::steer_program::{attach_program, AttachMode};
use crate::xdp_occupant::xdp_occupants;

/// The compiled `ebpf/wgxdp_sink.bpf.c` (see build.rs), aligned as the ELF parser requires.
static SINK_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/wgxdp_sink.bpf.o"));

const PROGRAM_NAME: &str = "wgxdp_sink";

// Values of the program's `sink_mode` global.
const MODE_INNER: u32 = 1;
const MODE_WIREGUARD: u32 = 2;

/// What the sink counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkMode {
    /// Plaintext UDP datagrams whose payload starts with `magic` (its first four bytes as a little-endian word);
    /// a datagram whose next four bytes (little-endian) have bit 0 set is passed to the kernel as a sample.
    Inner {
        /// The payload's first word.
        magic: u32,
    },
    /// WireGuard transport data; a message whose counter has no bit of `sample_mask` set is passed as a sample.
    /// Keepalives are counted apart; handshake messages and cookie replies are passed.
    WireGuard {
        /// Counter bits that must all be zero for a sample (0: every message is a sample).
        sample_mask: u64,
    },
}

/// Where and what the sink counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SinkConfig {
    /// UDP destination port of the load.
    pub port: u16,
    /// What a load packet looks like.
    pub mode: SinkMode,
}

/// The sink program, loaded and attached to one interface.
pub struct SinkProgram {
    ebpf: Ebpf,
    ifname: String,
    mode: AttachMode,
}

impl SinkProgram {
    /// Loads the program with `config` and attaches it to `ifname` in the calling thread's network namespace.
    pub fn attach(ifname: &str, config: &SinkConfig, mode: AttachMode) -> Result<Self> {
        if ifname.is_empty() || ifname.len() >= libc::IFNAMSIZ || ifname.contains('\0') {
            return Err(XdpError::InvalidInterfaceName(ifname.to_string()));
        }
        let (sink_mode, magic, sample_mask) = match config.mode {
            SinkMode::Inner { magic } => (MODE_INNER, magic, u64::MAX),
            SinkMode::WireGuard { sample_mask } => (MODE_WIREGUARD, 0, sample_mask),
        };
        let mut ebpf = EbpfLoader::new()
            .override_global("sink_mode", &sink_mode, true)
            .override_global("sink_port", &config.port, true)
            .override_global("sink_magic", &magic, true)
            .override_global("sample_mask", &sample_mask, true)
            .load(SINK_OBJECT)
            .map_err(|e| XdpError::Load(Box::new(e)))?;
        let program: &mut Xdp = ebpf
            .program_mut(PROGRAM_NAME)
            .ok_or(XdpError::MissingObject("program wgxdp_sink"))?
            .try_into()
            .map_err(|e| XdpError::Program {
                action: "the sink program is not XDP",
                source: Box::new(e),
            })?;
        program.load().map_err(|e| XdpError::Program {
            action: "loading the sink program",
            source: Box::new(e),
        })?;
        let if_index = RtNetlink::open()?
            .link_by_name(ifname)?
            .ok_or_else(|| XdpError::UnknownInterface(ifname.to_string()))?
            .index;
        let mode = match attach_program(program, ifname, if_index, mode) {
            Ok((mode, _)) => mode,
            // Something else holds the hook: say what, and leave it alone (the sink never replaces a program).
            Err(attempts) => {
                return Err(XdpError::Attach {
                    ifname: ifname.to_string(),
                    attempts,
                    occupants: xdp_occupants(if_index).unwrap_or_default(),
                })
            }
        };
        Ok(Self {
            ebpf,
            ifname: ifname.to_string(),
            mode,
        })
    }

    /// The interface the program is attached to.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The mode the program got: [`AttachMode::Native`] or [`AttachMode::Generic`].
    pub fn mode(&self) -> AttachMode {
        self.mode
    }

    /// The program's counters, summed over all CPUs.
    pub fn counters(&self) -> Result<SinkCounters> {
        let counts = counter_sums(
            &self.ebpf,
            SinkCounter::ALL.map(|c| c as u32),
            "reading the sink counters",
        )?;
        Ok(SinkCounters::from_counts(counts))
    }
}

impl Drop for SinkProgram {
    fn drop(&mut self) {
        log::info!("detaching the wgxdp sink program from {}", self.ifname);
    }
}

impl std::fmt::Debug for SinkProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkProgram")
            .field("ifname", &self.ifname)
            .field("mode", &self.mode)
            .finish()
    }
}
