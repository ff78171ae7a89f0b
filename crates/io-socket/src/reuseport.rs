//! The listening sockets of a WireGuard port as one SO_REUSEPORT group per address family: a handshake socket and
//! one data socket per worker, with a classic BPF program deciding which socket each datagram goes to:
//!
//! - handshake initiations, responses, cookie replies and anything else that is not transport data go to the
//!   handshake socket (group index 0), which the handshake thread serves, so a flood of them never reaches the
//!   data workers;
//! - transport data goes to data socket `1 + hash(source address, source port) % workers`, so every datagram of
//!   one peer endpoint lands on the same worker and leaves in the order it arrived (a shared socket read by
//!   several workers reorders a flow).
//!
//! Index order in a reuseport group is bind order, so the group is bound handshake socket first. A kernel that
//! refuses the program (older than 4.6) fails the bind: without it handshakes would reach the data workers and
//! data the handshake socket.
//!
//! SO_REUSEPORT lets any socket of the same user join the group, so before binding a fixed port the group makes
//! sure nobody holds it: a probe socket without SO_REUSEPORT binds and closes first.

use crate::udp_options::UdpSocketOptions;
use crate::udp_socket::{BatchUdpSocket, DualStackSockets};
use nix::sys::socket::{setsockopt, sockopt};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// How many times binding with port 0 retries when the port picked for IPv4 is taken for IPv6.
const ANY_PORT_ATTEMPTS: usize = 32;

/// Every socket of one listen port.
#[derive(Debug)]
pub struct SocketGroup {
    /// Index 0 of both groups: handshake messages (and everything that is not transport data).
    pub handshake: DualStackSockets,
    /// Data socket pair of worker `i`: transport data of the flows hashed to it.
    pub workers: Vec<DualStackSockets>,
}

impl SocketGroup {
    /// Binds the handshake socket and `workers` data sockets per family on `port` (0: the kernel picks one for
    /// both) and attaches the steering program. `workers` is at least 1.
    pub fn bind(port: u16, workers: usize, opts: &UdpSocketOptions) -> io::Result<Self> {
        let workers = workers.max(1);
        let attempts = if port == 0 { ANY_PORT_ATTEMPTS } else { 1 };
        let mut last_error = io::Error::from(io::ErrorKind::AddrInUse);
        for _ in 0..attempts {
            match Self::bind_once(port, workers, opts) {
                Ok(group) => return Ok(group),
                Err(e) if port == 0 && e.kind() == io::ErrorKind::AddrInUse => last_error = e,
                Err(e) => return Err(e),
            }
        }
        Err(last_error)
    }

    fn bind_once(port: u16, workers: usize, opts: &UdpSocketOptions) -> io::Result<Self> {
        if port != 0 {
            // Anyone holding the port (with or without SO_REUSEPORT) makes this fail: we never join a group
            // someone else owns.
            probe(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), opts)?;
            probe(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)), opts)?;
        }
        let reuse = UdpSocketOptions {
            reuse_port: true,
            ..opts.clone()
        };
        let v4 = BatchUdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), &reuse)?;
        let port = v4.local_addr().port();
        if opts_port_taken_v6(port, opts)? {
            return Err(io::Error::from(io::ErrorKind::AddrInUse));
        }
        let v6 = BatchUdpSocket::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)), &reuse)?;
        let handshake = DualStackSockets { v4, v6 };
        let workers = (0..workers)
            .map(|_| {
                Ok(DualStackSockets {
                    v4: BatchUdpSocket::bind(
                        SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
                        &reuse,
                    )?,
                    v6: BatchUdpSocket::bind(
                        SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
                        &reuse,
                    )?,
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        let n = workers.len() as u32;
        attach(&handshake.v4, &steering_program(false, n))?;
        attach(&handshake.v6, &steering_program(true, n))?;
        Ok(Self { handshake, workers })
    }

    /// The port every socket is bound to.
    pub fn port(&self) -> u16 {
        self.handshake.port()
    }
}

/// Binds and closes a socket without SO_REUSEPORT on `addr`: fails with EADDRINUSE when anyone holds it.
fn probe(addr: SocketAddr, opts: &UdpSocketOptions) -> io::Result<()> {
    let plain = UdpSocketOptions {
        reuse_port: false,
        recv_buffer: 0,
        send_buffer: 0,
        ..opts.clone()
    };
    BatchUdpSocket::bind(addr, &plain).map(drop)
}

/// With port 0 the kernel picked the IPv4 port; whether someone else holds it for IPv6.
fn opts_port_taken_v6(port: u16, opts: &UdpSocketOptions) -> io::Result<bool> {
    match probe(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)), opts) {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Ok(true),
        Err(e) => Err(e),
    }
}

fn attach(socket: &BatchUdpSocket, program: &[libc::sock_filter]) -> io::Result<()> {
    let mut filter = program.to_vec();
    let fprog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // The kernel copies the program during the call; `filter` outlives it.
    setsockopt(socket, sockopt::AttachReusePortCbpf, &fprog).map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!(
                "the kernel refused the reuseport steering program (SO_ATTACH_REUSEPORT_CBPF): {e}"
            ),
        )
    })
}

// Classic BPF opcodes (linux/filter.h, linux/bpf_common.h): class | size | mode, class | op | source.
const BPF_LD: u16 = 0x00;
const BPF_ALU: u16 = 0x04;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_MISC: u16 = 0x07;
const BPF_ABS: u16 = 0x20;
const LD_W_ABS: u16 = BPF_LD | BPF_ABS;
const LD_H_ABS: u16 = BPF_LD | 0x08 | BPF_ABS;
const LD_B_ABS: u16 = BPF_LD | 0x10 | BPF_ABS;
const JEQ_K: u16 = BPF_JMP | 0x10;
const XOR_X: u16 = BPF_ALU | 0xa0 | 0x08;
const MUL_K: u16 = BPF_ALU | 0x20;
const RSH_K: u16 = BPF_ALU | 0x70;
const MOD_K: u16 = BPF_ALU | 0x90;
const ADD_K: u16 = BPF_ALU;
const TAX: u16 = BPF_MISC;
const RET_K: u16 = BPF_RET;
const RET_A: u16 = BPF_RET | 0x10;
/// Loads at `SKF_NET_OFF + k` read the IP header; a reuseport program's offset 0 is the UDP payload.
const SKF_NET_OFF: u32 = (-0x10_0000i32) as u32;
/// Knuth's multiplicative hash constant: spreads the folded address and port over the upper bits.
const HASH_MULTIPLIER: u32 = 0x9e37_79b1;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The steering program for a group of `workers` data sockets: `ret 0` (the handshake socket) unless the payload
/// starts with the transport type byte 4, else `ret 1 + (mix(src addr ^ src port) % workers)`. The source port
/// is read as if the IPv4 header had no options: a flow with options hashes on other bytes, but always the same.
pub(crate) fn steering_program(v6: bool, workers: u32) -> Vec<libc::sock_filter> {
    let mut p = vec![
        insn(LD_B_ABS, 0, 0, 0),
        // Transport data: go on; anything else: the handshake socket.
        insn(JEQ_K, 1, 0, 4),
        insn(RET_K, 0, 0, 0),
    ];
    let words: &[u32] = if v6 { &[8, 12, 16, 20] } else { &[12] };
    let port_at = if v6 { 40 } else { 20 };
    p.push(insn(LD_H_ABS, 0, 0, SKF_NET_OFF.wrapping_add(port_at)));
    for &at in words {
        p.push(insn(TAX, 0, 0, 0));
        p.push(insn(LD_W_ABS, 0, 0, SKF_NET_OFF.wrapping_add(at)));
        p.push(insn(XOR_X, 0, 0, 0));
    }
    p.extend([
        insn(MUL_K, 0, 0, HASH_MULTIPLIER),
        insn(RSH_K, 0, 0, 16),
        insn(MOD_K, 0, 0, workers.max(1)),
        insn(ADD_K, 0, 0, 1),
        insn(RET_A, 0, 0, 0),
    ]);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecvBatch;
    use std::net::UdpSocket;
    use std::time::Duration;

    fn drain(socket: &BatchUdpSocket, batch: &mut RecvBatch) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut got = Vec::new();
        while socket
            .wait_readable(Some(Duration::from_millis(50)))
            .unwrap()
        {
            if socket.recv_batch(batch).is_err() {
                break;
            }
            for i in 0..batch.len() {
                let d = batch.get(i).unwrap();
                for seg in d.segments() {
                    got.push((d.source, seg.to_vec()));
                }
            }
        }
        got
    }

    #[test]
    fn handshakes_go_to_the_handshake_socket_and_each_flow_to_one_worker() {
        let group = SocketGroup::bind(0, 3, &UdpSocketOptions::default()).unwrap();
        let port = group.port();
        let senders: Vec<UdpSocket> = (0..12)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        for (i, s) in senders.iter().enumerate() {
            let mut initiation = [0u8; 148];
            initiation[0] = 1;
            initiation[4] = i as u8;
            s.send_to(&initiation, ("127.0.0.1", port)).unwrap();
            for n in 0..5u8 {
                let mut data = [0u8; 64];
                data[0] = 4;
                data[16] = n;
                s.send_to(&data, ("127.0.0.1", port)).unwrap();
            }
        }
        let mut batch = RecvBatch::new(16);
        let handshakes = drain(&group.handshake.v4, &mut batch);
        assert_eq!(handshakes.len(), 12);
        assert!(handshakes.iter().all(|(_, d)| d[0] == 1));
        let mut owners = std::collections::HashMap::new();
        let mut used = std::collections::HashSet::new();
        for (w, sockets) in group.workers.iter().enumerate() {
            for (from, d) in drain(&sockets.v4, &mut batch) {
                assert_eq!(d[0], 4, "only transport data on the data sockets");
                assert_eq!(
                    *owners.entry(from).or_insert(w),
                    w,
                    "{from} split over workers"
                );
                used.insert(w);
            }
        }
        assert_eq!(owners.len(), 12, "every flow arrived");
        assert!(
            used.len() > 1,
            "12 flows spread over more than one of 3 workers"
        );
    }

    #[test]
    fn a_port_held_by_anyone_is_refused() {
        let holder = UdpSocket::bind("0.0.0.0:0").unwrap();
        let port = holder.local_addr().unwrap().port();
        let e = SocketGroup::bind(port, 2, &UdpSocketOptions::default()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        let first = SocketGroup::bind(0, 1, &UdpSocketOptions::default()).unwrap();
        let e = SocketGroup::bind(first.port(), 1, &UdpSocketOptions::default()).unwrap_err();
        assert_eq!(
            e.kind(),
            io::ErrorKind::AddrInUse,
            "no joining another daemon's group"
        );
    }

    #[test]
    fn ipv6_flows_are_steered_too() {
        let group = SocketGroup::bind(0, 2, &UdpSocketOptions::default()).unwrap();
        let port = group.port();
        let s = UdpSocket::bind("[::1]:0").unwrap();
        let mut data = [0u8; 64];
        data[0] = 4;
        s.send_to(&data, ("::1", port)).unwrap();
        s.send_to(&[2u8; 92], ("::1", port)).unwrap();
        let mut batch = RecvBatch::new(16);
        let hs = drain(&group.handshake.v6, &mut batch);
        assert_eq!(hs.len(), 1);
        assert_eq!(hs[0].1[0], 2);
        let data_count: usize = group
            .workers
            .iter()
            .map(|w| drain(&w.v6, &mut batch).len())
            .sum();
        assert_eq!(data_count, 1);
    }
}
