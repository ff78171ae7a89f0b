//! Scratch network namespaces for the AF_XDP tests: two namespaces joined by a 2-queue veth pair.
//!
//! The default namespace is never touched: every interface lives in namespaces named after the test and the
//! process id, removed on drop. A test moves only its own thread between the namespaces (`setns`), and sockets keep
//! the namespace they were created in, so one thread can hold both ends.

#![allow(dead_code)] // each test file uses a different part

use std::fs::File;
use std::net::IpAddr;
use std::process::Command;

use nix::sched::{setns, CloneFlags};

/// Address of side A (the wgxdp side) and side B (the peer), IPv4 and IPv6.
pub const A_V4: &str = "198.18.0.1";
/// Side B's IPv4 address.
pub const B_V4: &str = "198.18.0.2";
/// Side A's IPv6 address.
pub const A_V6: &str = "fd00:5::1";
/// Side B's IPv6 address.
pub const B_V6: &str = "fd00:5::2";
/// The veth end in A and in B.
pub const A_IF: &str = "xa";
/// The veth end in B.
pub const B_IF: &str = "xb";

/// Runs a command, failing with its stderr.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the test can run: prints a loud SKIPPED line otherwise.
pub fn can_run(test: &str) -> bool {
    if !nix::unistd::geteuid().is_root() {
        println!("SKIPPED (needs root): {test}");
        eprintln!("SKIPPED (needs root): {test}");
        return false;
    }
    true
}

/// Two namespaces and the veth pair between them.
pub struct NetnsPair {
    /// Namespace of side A.
    pub a: String,
    /// Namespace of side B.
    pub b: String,
    a_fd: File,
    b_fd: File,
    home: File,
}

impl NetnsPair {
    /// Creates `wgxdp-<tag>-{a,b}-<pid>` with `xa` (A) and `xb` (B), 2 RX and 2 TX queues each, addressed and up.
    pub fn create(tag: &str) -> Self {
        let pid = std::process::id();
        let a = format!("wgxdp-{tag}-a-{pid}");
        let b = format!("wgxdp-{tag}-b-{pid}");
        for ns in [&a, &b] {
            // A leftover from a crashed run would make `add` fail.
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
            run("ip", &["netns", "add", ns]);
        }
        #[rustfmt::skip]
        run("ip", &["-n", &a, "link", "add", A_IF, "numtxqueues", "2", "numrxqueues", "2", "type", "veth",
                    "peer", "name", B_IF, "numtxqueues", "2", "numrxqueues", "2", "netns", &b]);
        for (ns, ifname, v4, v6) in [(&a, A_IF, A_V4, A_V6), (&b, B_IF, B_V4, B_V6)] {
            run(
                "ip",
                &["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", ifname],
            );
            run(
                "ip",
                &[
                    "-n",
                    ns,
                    "addr",
                    "add",
                    &format!("{v6}/64"),
                    "dev",
                    ifname,
                    "nodad",
                ],
            );
            run("ip", &["-n", ns, "link", "set", "lo", "up"]);
            run("ip", &["-n", ns, "link", "set", ifname, "up"]);
        }
        let open = |ns: &str| File::open(format!("/var/run/netns/{ns}")).expect("namespace file");
        Self {
            a_fd: open(&a),
            b_fd: open(&b),
            home: File::open("/proc/thread-self/ns/net").expect("own namespace"),
            a,
            b,
        }
    }

    /// Moves the calling thread into namespace A.
    pub fn enter_a(&self) {
        setns(&self.a_fd, CloneFlags::CLONE_NEWNET).expect("setns A");
    }

    /// Moves the calling thread into namespace B.
    pub fn enter_b(&self) {
        setns(&self.b_fd, CloneFlags::CLONE_NEWNET).expect("setns B");
    }

    /// Runs a command inside a namespace (`ip netns exec`), returning stdout.
    pub fn exec(&self, ns: &str, args: &[&str]) -> String {
        let mut full = vec!["netns", "exec", ns];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// The kernel's UDP datagram counters of a namespace: (UdpInDatagrams, Udp6InDatagrams), from `nstat`.
    pub fn udp_in_datagrams(&self, ns: &str) -> (u64, u64) {
        let out = self.exec(ns, &["nstat", "-asz", "UdpInDatagrams", "Udp6InDatagrams"]);
        let value = |name: &str| {
            out.lines()
                .find_map(|line| {
                    let mut fields = line.split_whitespace();
                    (fields.next() == Some(name))
                        .then(|| fields.next().and_then(|v| v.parse().ok()))
                        .flatten()
                })
                .unwrap_or(0)
        };
        (value("UdpInDatagrams"), value("Udp6InDatagrams"))
    }

    /// The MAC address of an interface in a namespace.
    pub fn mac(&self, ns: &str, ifname: &str) -> [u8; 6] {
        let text = self.exec(ns, &["cat", &format!("/sys/class/net/{ifname}/address")]);
        let bytes: Vec<u8> = text
            .trim()
            .split(':')
            .map(|h| u8::from_str_radix(h, 16).expect("hex MAC"))
            .collect();
        bytes.try_into().expect("6-byte MAC")
    }

    /// Whether `ip link show` reports an XDP program on the interface.
    pub fn has_xdp(&self, ns: &str, ifname: &str) -> bool {
        let out = run("ip", &["-n", ns, "link", "show", ifname]);
        // "xdp", "xdpgeneric", "xdpdrv" or "prog/xdp" as a word; namespace names (wgxdp-...) contain "xdp" too.
        out.split_whitespace()
            .any(|word| word.starts_with("xdp") || word.starts_with("prog/xdp"))
    }

    /// Whether the link's XDP hook is empty within two seconds: the kernel finishes a detach after the link's
    /// descriptor is closed, not always before `close` returns (seen a few milliseconds late under load).
    pub fn xdp_detached(&self, ns: &str, ifname: &str) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while self.has_xdp(ns, ifname) {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        true
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = setns(&self.home, CloneFlags::CLONE_NEWNET);
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// A WireGuard transport-data-shaped payload: type 4, three zero bytes, receiver index, counter, then `body` bytes.
pub fn transport_payload(counter: u64, body: usize) -> Vec<u8> {
    let mut payload = vec![4, 0, 0, 0];
    payload.extend_from_slice(&7u32.to_le_bytes());
    payload.extend_from_slice(&counter.to_le_bytes());
    payload.extend((0..body).map(|i| i as u8));
    payload
}

/// A handshake-initiation-shaped payload (type 1, 148 bytes).
pub fn handshake_payload() -> Vec<u8> {
    let mut payload = vec![0u8; 148];
    payload[0] = 1;
    payload
}

/// Parses an IP address constant.
pub fn ip(text: &str) -> IpAddr {
    text.parse().expect("address constant")
}
