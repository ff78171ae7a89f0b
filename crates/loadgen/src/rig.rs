//! Everything a run holds on to between tests: the generator's socket and receive thread, the two sink programs
//! (on the generator's interface, counting what the DUT encrypts; on the sink's LAN interface, counting what it
//! decrypts) and the sink's sample receiver. Built once, torn down at the end, each piece in its namespace.

use std::net::{IpAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use wgxdp_io_xdp::{AttachMode, NeighbourCache, NextHop, SinkConfig, SinkMode, SinkProgram};

use crate::cli::{RunArgs, XdpModeArg};
use crate::gen_rx::{GenRx, GenShared};
use crate::gen_socket::GenSocket;
use crate::netns;
use crate::payload::MAGIC;
use crate::peers::Peer;
use crate::sink_rx::{self, SinkRx};

/// Inner UDP port of the peers' side of every flow.
pub const PEER_DATA_PORT: u16 = 4000;

/// The pieces of a run.
pub struct Rig {
    /// The generator's socket.
    pub gen_socket: GenSocket,
    /// Counts transport data arriving at the generator (egress).
    pub gen_sink: Option<SinkProgram>,
    /// Counts plaintext arriving at the sink (ingress).
    pub lan_sink: Option<SinkProgram>,
    /// The sink's sample receiver.
    pub sink_rx: Option<SinkRx>,
    /// The generator's receive thread.
    pub gen_rx: Option<GenRx>,
    /// What the receive thread shares.
    pub shared: Arc<GenShared>,
    /// Handshake answers from the receive thread.
    pub answers: Receiver<Vec<u8>>,
    gen_ns: Option<String>,
    sink_ns: Option<String>,
}

fn attach_mode(mode: XdpModeArg) -> AttachMode {
    match mode {
        XdpModeArg::Native => AttachMode::Native,
        XdpModeArg::Generic => AttachMode::Generic,
        XdpModeArg::Auto => AttachMode::Auto,
    }
}

impl Rig {
    /// Opens the sockets, attaches the sink programs and starts the receive threads.
    pub fn build(args: &RunArgs, peers: &[Peer]) -> Result<Self> {
        let gen_ns = args.gen_ns.as_deref();
        let sink_ns = args.sink_ns.as_deref();
        let mode = attach_mode(args.xdp_mode);
        // Sample mask: the largest power of two not above --sample-every, minus one.
        let every = args.sample_every.max(1);
        let mask = (1u64 << (63 - every.leading_zeros())) - 1;
        let gen_socket = netns::run_in(gen_ns, || GenSocket::bind(args.peers.src_port))?;
        let gen_sink = netns::run_in(gen_ns, || {
            let config = SinkConfig {
                port: args.peers.src_port,
                mode: SinkMode::WireGuard { sample_mask: mask },
            };
            SinkProgram::attach(&args.gen_dev, &config, mode)
                .with_context(|| format!("attaching the sink program to {}", args.gen_dev))
        })?;
        let lan_sink = netns::run_in(sink_ns, || {
            let config = SinkConfig {
                port: args.sink_port,
                mode: SinkMode::Inner { magic: MAGIC },
            };
            SinkProgram::attach(&args.sink_dev, &config, mode)
                .with_context(|| format!("attaching the sink program to {}", args.sink_dev))
        })?;
        log::info!(
            "sink programs attached: {} ({:?}), {} ({:?})",
            args.gen_dev,
            gen_sink.mode(),
            args.sink_dev,
            lan_sink.mode()
        );
        let sockets = netns::run_in(sink_ns, || sink_rx::bind(args.sink_port))?;
        let tunnel: Vec<IpAddr> = peers.iter().map(Peer::tunnel_addr).collect();
        let sink_rx = SinkRx::start(sockets, Arc::new(tunnel), PEER_DATA_PORT)?;
        let shared = Arc::new(GenShared::default());
        let (sender, answers) = mpsc::channel();
        let gen_rx = GenRx::start(gen_socket.clone(), shared.clone(), sender)?;
        Ok(Self {
            gen_socket,
            gen_sink: Some(gen_sink),
            lan_sink: Some(lan_sink),
            sink_rx: Some(sink_rx),
            gen_rx: Some(gen_rx),
            shared,
            answers,
            gen_ns: args.gen_ns.clone(),
            sink_ns: args.sink_ns.clone(),
        })
    }

    /// The generator's namespace.
    pub fn gen_ns(&self) -> Option<&str> {
        self.gen_ns.as_deref()
    }

    /// The sink's namespace.
    pub fn sink_ns(&self) -> Option<&str> {
        self.sink_ns.as_deref()
    }

    /// Stops the threads and detaches the programs (each in its namespace).
    pub fn tear_down(&mut self) -> Result<()> {
        let mut first_error = None;
        if let Some(rx) = self.gen_rx.take() {
            if let Err(e) = rx.stop() {
                first_error.get_or_insert(e);
            }
        }
        if let Some(rx) = self.sink_rx.take() {
            if let Err(e) = rx.stop() {
                first_error.get_or_insert(e);
            }
        }
        let gen = self.gen_sink.take();
        let _ = netns::run_in(self.gen_ns.as_deref(), move || {
            drop(gen);
            Ok(())
        });
        let lan = self.lan_sink.take();
        let _ = netns::run_in(self.sink_ns.as_deref(), move || {
            drop(lan);
            Ok(())
        });
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Err(e) = self.tear_down() {
            log::warn!("tearing down: {e:#}");
        }
    }
}

/// The next hop towards `dst` from namespace `ns`. While the kernel has no neighbour entry yet, a datagram to
/// `dst` (port 9, discard) makes it resolve one; gives up after 3 s.
pub fn next_hop(ns: Option<&str>, dst: IpAddr) -> Result<NextHop> {
    netns::run_in(ns, || {
        let mut cache =
            NeighbourCache::new(Duration::from_millis(100)).context("opening netlink")?;
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            if let Some(hop) = cache.resolve(dst).context("resolving the next hop")? {
                return Ok(hop);
            }
            if Instant::now() >= deadline {
                return Err(anyhow!(
                    "no neighbour entry for the next hop towards {dst} after 3 s"
                ));
            }
            let bind: IpAddr = if dst.is_ipv4() {
                std::net::Ipv4Addr::UNSPECIFIED.into()
            } else {
                std::net::Ipv6Addr::UNSPECIFIED.into()
            };
            if let Ok(socket) = UdpSocket::bind((bind, 0)) {
                let _ = socket.send_to(b"wgxdp-loadgen: resolving", (dst, 9));
            }
            std::thread::sleep(Duration::from_millis(100));
            cache.invalidate();
        }
    })
}
