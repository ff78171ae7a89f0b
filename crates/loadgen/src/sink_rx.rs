//! The sink's receive thread: reads the ingress samples that the sink program passes up (plaintext the DUT
//! decrypted and forwarded), checks each against the peer it claims to come from, and logs its arrival.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use wgxdp_io_socket::{BatchUdpSocket, RecvBatch, UdpSocketOptions};

use crate::clock;
use crate::netns;
use crate::payload::Payload;
use crate::samples::{Sample, SampleLog};

/// The running sink receiver.
pub struct SinkRx {
    handle: JoinHandle<Result<()>>,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<SampleLog>>,
}

/// Binds the sample sockets (`0.0.0.0:port` and `[::]:port`) in the calling thread's namespace.
pub fn bind(port: u16) -> Result<[BatchUdpSocket; 2]> {
    let options = UdpSocketOptions {
        gro: false,
        gso: false,
        ..UdpSocketOptions::default()
    };
    let v4 = BatchUdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), &options)
        .with_context(|| format!("binding the sink's sample socket 0.0.0.0:{port}"))?;
    let v6 = BatchUdpSocket::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)), &options)
        .with_context(|| format!("binding the sink's sample socket [::]:{port}"))?;
    Ok([v4, v6])
}

impl SinkRx {
    /// Starts receiving on `sockets`; a sample from peer `i` must come from `tunnel[i]`, port `src_port`.
    pub fn start(
        sockets: [BatchUdpSocket; 2],
        tunnel: Arc<Vec<IpAddr>>,
        src_port: u16,
    ) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(SampleLog::default()));
        let (flag, shared) = (stop.clone(), log.clone());
        let handle = netns::spawn_in(None, "sink-rx", move || {
            receive(&sockets, &tunnel, src_port, &shared, &flag);
            Ok(())
        })?;
        Ok(Self { handle, stop, log })
    }

    /// Takes the samples logged so far.
    pub fn take_log(&self) -> SampleLog {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Stops the thread.
    pub fn stop(self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        netns::join(self.handle)
    }
}

fn receive(
    sockets: &[BatchUdpSocket; 2],
    tunnel: &[IpAddr],
    src_port: u16,
    log: &Mutex<SampleLog>,
    stop: &AtomicBool,
) {
    let mut batch = RecvBatch::with_slot_len(64, 2048);
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [
            PollFd::new(sockets[0].as_fd(), PollFlags::POLLIN),
            PollFd::new(sockets[1].as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::from(50u8)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => {
                log::error!("sink sockets: poll failed ({e}); the sink receiver stops");
                return;
            }
        }
        for socket in sockets {
            let Ok(n) = socket.recv_batch(&mut batch) else {
                continue;
            };
            let received_ns = clock::now_ns();
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            for datagram in batch.iter().take(n) {
                let Some(payload) = Payload::parse(datagram.data) else {
                    log.defect_named("payload");
                    continue;
                };
                if !Payload::fill_ok(datagram.data) {
                    log.defect_named("fill");
                    continue;
                }
                let expected = tunnel.get(payload.peer as usize);
                if expected != Some(&datagram.source.ip().to_canonical())
                    || datagram.source.port() != src_port
                {
                    log.defect_named("addresses");
                    continue;
                }
                log.samples.push(Sample {
                    peer: payload.peer,
                    seq: payload.seq,
                    position: payload.position,
                    received_ns,
                    sent_ns: None,
                });
            }
        }
    }
}
