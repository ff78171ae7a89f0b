//! The send loop: sockets on every source address and port, batches of pre-computed messages taken from the pool
//! as the token bucket allows, one sendmmsg (with UDP GSO where the kernel has it) per batch, sockets in turn.

use core::net::SocketAddr;
use core::time::Duration;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::SeedableRng;
use wgxdp_io_socket::{BatchUdpSocket, SendBatch, UdpSocketOptions};
use wgxdp_wire::wg_layout::INITIATION_LEN;

use crate::plan::Plan;
use crate::pool::Pool;
use crate::summary::Summary;
use crate::token_bucket::TokenBucket;

/// Longest sleep between two looks at the clock (the deadline is checked at least this often).
const MAX_SLEEP: Duration = Duration::from_millis(50);

/// Tokens the bucket may save up: 20 ms of the rate, at least a batch, so that a sleep that overshoots (timer
/// slack, a busy machine) is made up for instead of lost, while the rate over any 20 ms stays bounded.
pub fn burst_size(rate: u64, batch: usize) -> u64 {
    (rate / 50).max(batch.max(1) as u64)
}

/// Tokens to wait for before a send: about a millisecond's worth, between one and a whole batch, so a low rate
/// trickles instead of bursting and a high one fills batches.
pub fn send_size(rate: u64, batch: usize) -> u64 {
    (rate / 1000).clamp(1, batch.max(1) as u64)
}

/// Binds `ports` sockets on each source address.
fn bind_sockets(plan: &Plan) -> Result<Vec<BatchUdpSocket>, String> {
    let options = UdpSocketOptions {
        recv_buffer: 1 << 16,
        send_buffer: 1 << 20,
        gro: false,
        gso: true,
        ..UdpSocketOptions::default()
    };
    let mut sockets = Vec::with_capacity(plan.sources.len() * plan.ports);
    for source in &plan.sources {
        for _ in 0..plan.ports {
            let socket =
                BatchUdpSocket::bind(SocketAddr::new(*source, 0), &options).map_err(|e| {
                    format!(
                        "cannot bind a UDP socket on {source}: {e} (is the address assigned here?)"
                    )
                })?;
            sockets.push(socket);
        }
    }
    Ok(sockets)
}

/// Runs the flood of `plan` to its end: the deadline or rate x seconds datagrams, whichever comes first.
pub fn flood(plan: &Plan) -> Result<Summary, String> {
    let sockets = bind_sockets(plan)?;
    let mut rng = match plan.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_entropy(),
    };
    let mut pool = Pool::new(&plan.responder, plan.pool, &mut rng);
    let mut batch = SendBatch::new(plan.batch, INITIATION_LEN);
    let step = send_size(plan.rate, plan.batch);
    let mut summary = Summary {
        target_pps: plan.rate,
        sockets: sockets.len(),
        pool: pool.len(),
        ..Summary::default()
    };
    let start = Instant::now();
    let mut bucket = TokenBucket::new(plan.rate, burst_size(plan.rate, plan.batch), Duration::ZERO);
    let mut turn = 0usize;
    loop {
        let now = start.elapsed();
        let attempted = summary.sent + summary.errors;
        if now >= plan.duration || attempted >= plan.max_messages {
            break;
        }
        let want = (plan.max_messages - attempted).min(plan.batch as u64);
        let wait = bucket.wait_for(now, want.min(step));
        if !wait.is_zero() {
            std::thread::sleep(wait.min(MAX_SLEEP).min(plan.duration - now));
            continue;
        }
        let n = bucket.take(now, want);
        batch.clear();
        for _ in 0..n {
            batch
                .push(pool.next_message(), plan.target)
                .map_err(|e| format!("internal: a message does not fit its batch slot: {e}"))?;
        }
        let socket = &sockets[turn % sockets.len()];
        turn = turn.wrapping_add(1);
        match socket.send_batch(&batch) {
            Ok(accepted) => {
                summary.sent += accepted as u64;
                summary.errors += n.saturating_sub(accepted as u64);
            }
            Err(_) => summary.errors += n,
        }
        summary.batches += 1;
    }
    summary.duration = start.elapsed();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_rates_trickle_high_rates_fill_batches() {
        assert_eq!(send_size(200, 64), 1);
        assert_eq!(send_size(5_000, 64), 5);
        assert_eq!(send_size(1_000_000, 64), 64);
        assert_eq!(send_size(1_000_000, 0), 1);
    }

    #[test]
    fn the_burst_covers_an_oversleep_but_stays_small() {
        assert_eq!(burst_size(200, 64), 64);
        assert_eq!(burst_size(200_000, 64), 4_000);
    }
}
