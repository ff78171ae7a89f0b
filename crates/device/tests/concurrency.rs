//! `Device` through `&self` from several threads at once: workers sealing and opening while the control
//! plane reconfigures and reads state. Every packet arrives and nothing deadlocks.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use common::{hex, ipv4, send_one, Net};
use rand::rngs::StdRng;
use rand::SeedableRng;
use wgxdp_device::{Inbound, Outbound};

#[test]
fn workers_and_control_plane_run_concurrently() {
    let mut net = Net::pair();
    net.ping(0, &ipv4("10.0.0.1", "10.0.0.2", 1));
    net.ping(1, &ipv4("10.0.0.2", "10.0.0.1", 1));
    let (a, b) = (&net.nodes[0].dev, &net.nodes[1].dev);
    let (src_a, now) = (net.nodes[0].addr, net.now);
    let wall = net.wall();
    let arrived = AtomicUsize::new(0);
    const WORKERS: usize = 4;
    const PER_WORKER: usize = 1000;

    thread::scope(|s| {
        for w in 0..WORKERS {
            let arrived = &arrived;
            s.spawn(move || {
                let packet = ipv4("10.0.0.1", "10.0.0.2", 64 + w);
                for _ in 0..PER_WORKER {
                    let (Outbound::Send { .. }, Some((_, mut buf))) = send_one(a, &packet, now)
                    else {
                        panic!("no session");
                    };
                    if let Inbound::Tun(r) = b.receive_transport(src_a, &mut buf, now) {
                        assert_eq!(&buf[r], &packet[..]);
                        arrived.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        // Control plane on the receiving device: unrelated peers come and go, state is read.
        s.spawn(move || {
            let mut rng = StdRng::seed_from_u64(1);
            for i in 0..50u8 {
                let key = hex(common::public_key(100 + i).as_bytes());
                let add =
                    common::set_request(&format!("public_key={key}\nallowed_ip=172.16.{i}.0/24\n"));
                b.apply_set(&add, now, &mut rng).unwrap();
                let _ = b.get_state(now, wall);
                let _ = serde_json::to_string(&b.counters());
                let _ = b.explain_all();
                let remove = common::set_request(&format!("public_key={key}\nremove=true\n"));
                b.apply_set(&remove, now, &mut rng).unwrap();
            }
        });
    });
    assert_eq!(arrived.load(Ordering::Relaxed), WORKERS * PER_WORKER);
    assert_eq!(b.counters().total_dropped(), 0);
    assert_eq!(b.get_state(now, wall).peers.len(), 1);
}
