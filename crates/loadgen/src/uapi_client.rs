//! Talking to a DUT's UAPI socket (`/var/run/wireguard/IFNAME.sock`): send `set=1` requests, read the `errno=`
//! answers, each with a deadline, so a DUT that never answers is reported rather than waited for.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

/// Longest answer accepted to a `set` (it is one `errno=N` line).
const MAX_ANSWER: usize = 4096;

/// Reads the errno of a `set=1` answer: the value of its `errno=` line, once the empty line that ends it is there.
/// `Ok(None)`: not complete yet.
pub fn parse_errno(answer: &str) -> Result<Option<i64>> {
    if !answer.contains("\n\n") {
        return Ok(None);
    }
    let value = answer
        .lines()
        .find_map(|line| line.strip_prefix("errno="))
        .ok_or_else(|| anyhow!("the DUT's UAPI answer has no errno line: {answer:?}"))?;
    value
        .trim()
        .parse()
        .map(Some)
        .map_err(|_| anyhow!("the DUT's UAPI answer has a bad errno: {answer:?}"))
}

/// Sends every request in order on its own connection (some daemons take one request per connection) and checks
/// each answer is `errno=0`. Each request gets `timeout` to be answered.
pub fn apply(socket: &Path, requests: &[String], timeout: Duration) -> Result<()> {
    for (i, request) in requests.iter().enumerate() {
        apply_one(socket, request, timeout).with_context(|| {
            format!(
                "UAPI request {} of {} to {}",
                i + 1,
                requests.len(),
                socket.display()
            )
        })?;
    }
    Ok(())
}

fn apply_one(socket: &Path, request: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut stream = UnixStream::connect(socket).context("connecting")?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(request.as_bytes()).context("sending")?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(anyhow!("no complete answer within {timeout:?}"));
        }
        stream.set_read_timeout(Some(left))?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(anyhow!("no complete answer within {timeout:?}"));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the answer"),
        };
        if n == 0 {
            return Err(anyhow!(
                "the DUT closed the connection after {:?}",
                String::from_utf8_lossy(&answer)
            ));
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.len() > MAX_ANSWER {
            return Err(anyhow!(
                "the DUT's answer is longer than {MAX_ANSWER} bytes"
            ));
        }
        match parse_errno(&String::from_utf8_lossy(&answer))? {
            None => continue,
            Some(0) => return Ok(()),
            Some(errno) => return Err(anyhow!("the DUT refused the request: errno={errno}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_answers() {
        assert_eq!(parse_errno("errno=0\n\n").unwrap(), Some(0));
        assert_eq!(parse_errno("errno=22\n\n").unwrap(), Some(22));
        assert_eq!(parse_errno("errno=0\n").unwrap(), None);
        assert!(parse_errno("garbage\n\n").is_err());
        assert!(parse_errno("errno=x\n\n").is_err());
    }

    #[test]
    fn a_silent_socket_times_out_and_a_refusal_is_reported() {
        let dir = std::env::temp_dir().join(format!("wgxdp-loadgen-uapi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dut.sock");
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            // First connection: read, never answer. Second: refuse.
            let (mut silent, _) = listener.accept().unwrap();
            let mut buf = [0u8; 64];
            let _ = silent.read(&mut buf);
            let (mut refusing, _) = listener.accept().unwrap();
            let _ = refusing.read(&mut buf);
            refusing.write_all(b"errno=22\n\n").unwrap();
            std::thread::sleep(Duration::from_millis(300));
        });
        let request = vec!["set=1\n\n".to_string()];
        let err = apply(&path, &request, Duration::from_millis(200)).unwrap_err();
        assert!(format!("{err:#}").contains("no complete answer"), "{err:#}");
        let err = apply(&path, &request, Duration::from_secs(2)).unwrap_err();
        assert!(format!("{err:#}").contains("errno=22"), "{err:#}");
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
