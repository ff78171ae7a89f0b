//! Batched send: sendmmsg from a preallocated [`SendBatch`], turning runs of equal-size
//! datagrams to one destination into UDP GSO super-datagrams.

use crate::error::BatchError;
use crate::pktinfo::PacketInfo;
use crate::sockaddr::to_storage;
use crate::udp_scratch::{with_send, MAX_BATCH};
use crate::udp_socket::BatchUdpSocket;
use nix::errno::Errno;
use nix::sys::socket::{sendmmsg, ControlMessage, MsgFlags};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// Longest a send waits for room in a full socket buffer.
const SEND_STALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(1);
/// Kernel limit on segments in one GSO send (UDP_MAX_SEGMENTS).
const MAX_GSO_SEGMENTS: usize = 64;
/// Largest UDP payload of one IPv4 packet; the GSO super-datagram must fit in it.
const MAX_GSO_BYTES: usize = 65_507;

/// Datagrams queued for one [`BatchUdpSocket::send_batch`] call, packed one after the other in a preallocated
/// arena; pushing and sending never allocate. A batch holds at most `messages` datagrams and `messages *
/// slot_len` bytes, so a few large datagrams fit as well as many small ones.
#[derive(Debug)]
pub struct SendBatch {
    buffer: Vec<u8>,
    /// Bytes of the arena in use.
    used: usize,
    max_messages: usize,
    /// (offset in the arena, length, destination, source address to leave from) per datagram.
    entries: Vec<(usize, usize, SocketAddr, Option<PacketInfo>)>,
}

impl SendBatch {
    /// Room for `messages` datagrams (at least 1) of `slot_len` bytes each on average.
    pub fn new(messages: usize, slot_len: usize) -> Self {
        let messages = messages.max(1);
        Self {
            buffer: vec![0; messages * slot_len.max(1)],
            used: 0,
            max_messages: messages,
            entries: Vec::with_capacity(messages),
        }
    }

    /// Appends a copy of `data` addressed to `dest`.
    pub fn push(&mut self, data: &[u8], dest: SocketAddr) -> Result<(), BatchError> {
        if data.len() > self.buffer.len() {
            return Err(BatchError::TooLong {
                len: data.len(),
                max: self.buffer.len(),
            });
        }
        let slot = self.next_slot_mut(data.len()).ok_or(BatchError::Full)?;
        slot.copy_from_slice(data);
        self.commit_slot(data.len(), dest, None);
        Ok(())
    }

    /// The next `len` free bytes, to write a datagram into before [`commit_slot`](Self::commit_slot); `None` when
    /// the batch has no room for that many bytes or no free entry. Writing without committing queues nothing.
    pub fn next_slot_mut(&mut self, len: usize) -> Option<&mut [u8]> {
        if self.entries.len() >= self.max_messages {
            return None;
        }
        let end = self.used.checked_add(len)?;
        self.buffer.get_mut(self.used..end)
    }

    /// Queues the first `len` bytes just written into [`next_slot_mut`](Self::next_slot_mut) for `dest`, to leave
    /// from `source` when given (else the routing choice); returns the length queued (0, and nothing queued, when
    /// they do not fit).
    pub fn commit_slot(
        &mut self,
        len: usize,
        dest: SocketAddr,
        source: Option<PacketInfo>,
    ) -> usize {
        if self.entries.len() >= self.max_messages || self.used + len > self.buffer.len() {
            return 0;
        }
        self.entries.push((self.used, len, dest, source));
        self.used += len;
        len
    }

    /// Forgets every queued datagram, keeping the buffers.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.used = 0;
    }

    /// Queued datagrams.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many datagrams fit.
    pub fn capacity(&self) -> usize {
        self.max_messages
    }

    /// Bytes queued.
    pub fn bytes(&self) -> usize {
        self.used
    }

    /// The `index`-th queued datagram and its destination.
    pub fn get(&self, index: usize) -> Option<(&[u8], SocketAddr)> {
        let (start, len, dest, _) = *self.entries.get(index)?;
        Some((self.buffer.get(start..start + len)?, dest))
    }

    /// The source address the `index`-th datagram asks to leave from.
    pub fn source(&self, index: usize) -> Option<PacketInfo> {
        self.entries.get(index).and_then(|e| e.3)
    }
}

/// One message of a sendmmsg call: `count` consecutive batch datagrams starting at `first`,
/// sent as a GSO super-datagram of `segment`-byte segments, or plainly when `segment == 0`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SendUnit {
    pub(crate) first: usize,
    pub(crate) count: usize,
    pub(crate) segment: u16,
    /// The source address every datagram of the unit leaves from (`None`: the routing choice).
    pub(crate) source: Option<PacketInfo>,
}

/// Splits `lens[..]`/`dests[..]` (one window of the batch, starting at batch index `base`) into
/// send units. With `gso`, a unit is a run of equal-length datagrams to one destination, which
/// may end with one shorter datagram (GSO allows a short last segment), within the kernel's
/// segment-count and size limits. Returns how many units were written to `out`.
pub(crate) fn plan_units(
    batch: &SendBatch,
    range: std::ops::Range<usize>,
    gso: bool,
    sourceless_until: usize,
    out: &mut [SendUnit],
) -> usize {
    let source_of = |i: usize| batch.source(i).filter(|_| i >= sourceless_until);
    let mut units = 0;
    let mut i = range.start;
    while i < range.end && units < out.len() {
        let Some((first_data, dest)) = batch.get(i) else {
            break;
        };
        let source = source_of(i);
        let segment = first_data.len();
        let mut count = 1;
        let mut total = segment;
        if gso && segment > 0 {
            while i + count < range.end && count < MAX_GSO_SEGMENTS {
                let Some((data, next_dest)) = batch.get(i + count) else {
                    break;
                };
                let len = data.len();
                if next_dest != dest
                    || source_of(i + count) != source
                    || len > segment
                    || len == 0
                    || total + len > MAX_GSO_BYTES
                {
                    break;
                }
                count += 1;
                total += len;
                if len < segment {
                    break;
                }
            }
        }
        let segment = match u16::try_from(segment) {
            Ok(s) if count > 1 => s,
            _ => {
                // Nothing to coalesce (or a segment size GSO cannot express): send plainly.
                count = 1;
                0
            }
        };
        if let Some(unit) = out.get_mut(units) {
            *unit = SendUnit {
                first: i,
                count,
                segment,
                source,
            };
        }
        units += 1;
        i += count;
    }
    units
}

/// Outcome of one sendmmsg attempt over a group of units.
enum CallResult {
    /// This many units went out.
    Sent(usize),
    /// The first unit failed with a per-destination error; skip it.
    Failed(io::Error),
    /// The kernel refused GSO on this socket (EIO: no checksum offload on the egress
    /// device; EINVAL): disable it and resend from this unit.
    GsoRefused,
    /// A segment exceeds the route MTU (EMSGSIZE): resend this unit plainly so the kernel
    /// fragments it, but keep GSO for the rest.
    GsoTooLarge,
    /// The source address asked for is not (or no longer) ours (EINVAL, EADDRNOTAVAIL, or ENETUNREACH from the
    /// route lookup with it): resend the unit
    /// from the routing choice.
    SourceRefused,
}

impl BatchUdpSocket {
    /// Sends every datagram of `batch` (sendmmsg, plus UDP GSO where enabled), waiting for
    /// send-buffer room when the socket is full. A datagram the kernel rejects (e.g. no route)
    /// is dropped, as the network would; the rest are still sent. Returns how many datagrams
    /// were accepted, or the first error if none was.
    pub fn send_batch(&self, batch: &SendBatch) -> io::Result<usize> {
        let mut sent = 0;
        let mut first_error: Option<io::Error> = None;
        let mut next = 0;
        // Datagrams before this index must go out without GSO (after a GsoTooLarge).
        let mut plain_until = 0;
        // Datagrams before this index leave from the routing choice (after a SourceRefused).
        let mut sourceless_until = 0;
        while next < batch.len() {
            let (end, gso) = if next < plain_until {
                (plain_until.min(next + MAX_BATCH), false)
            } else {
                ((next + MAX_BATCH).min(batch.len()), self.gso_enabled())
            };
            let mut units = [SendUnit::default(); MAX_BATCH];
            let planned = plan_units(batch, next..end, gso, sourceless_until, &mut units);
            let mut iov = [IoSlice::new(&[]); MAX_BATCH];
            for (k, slot) in iov.iter_mut().enumerate().take(end - next) {
                if let Some((data, _)) = batch.get(next + k) {
                    *slot = IoSlice::new(data);
                }
            }
            let mut u = 0;
            let mut restart_at = None;
            while u < planned {
                let group_end = group_end(&units[..planned], u);
                match self.send_units(batch, &units[u..group_end], &iov, next) {
                    Ok(CallResult::Sent(n)) if n > 0 => {
                        let done = units.get(u..(u + n).min(planned)).unwrap_or_default();
                        sent += done.iter().map(|unit| unit.count).sum::<usize>();
                        u += n;
                    }
                    Ok(CallResult::Sent(_)) => {
                        // sendmmsg accepting nothing without an error: skip rather than spin.
                        first_error.get_or_insert(io::ErrorKind::WriteZero.into());
                        u += 1;
                    }
                    Ok(CallResult::Failed(e)) => {
                        first_error.get_or_insert(e);
                        u += 1;
                    }
                    Ok(CallResult::GsoRefused) => {
                        self.disable_gso();
                        restart_at = Some(units[u].first);
                        break;
                    }
                    Ok(CallResult::GsoTooLarge) => {
                        plain_until = units[u].first + units[u].count;
                        restart_at = Some(units[u].first);
                        break;
                    }
                    Ok(CallResult::SourceRefused) => {
                        sourceless_until = units[u].first + units[u].count;
                        restart_at = Some(units[u].first);
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            next = match restart_at {
                Some(first) => first,
                None => units[..planned]
                    .last()
                    .map_or(end, |last| last.first + last.count),
            };
        }
        match first_error {
            Some(e) if sent == 0 => Err(e),
            _ => Ok(sent),
        }
    }

    /// Sends a group of units sharing one segment size with a single sendmmsg, retrying on
    /// EINTR and waiting on EAGAIN. `iov` covers the batch window starting at `base`.
    fn send_units(
        &self,
        batch: &SendBatch,
        units: &[SendUnit],
        iov: &[IoSlice<'_>; MAX_BATCH],
        base: usize,
    ) -> io::Result<CallResult> {
        let Some((segment, source)) = units.first().map(|u| (u.segment, u.source)) else {
            return Ok(CallResult::Sent(0));
        };
        let v4_info = source.and_then(PacketInfo::to_v4);
        let v6_info = source.and_then(PacketInfo::to_v6);
        let mut unit_iovs: [&[IoSlice<'_>]; MAX_BATCH] = [&[]; MAX_BATCH];
        for (slot, unit) in unit_iovs.iter_mut().zip(units) {
            let start = unit.first - base;
            *slot = iov.get(start..start + unit.count).unwrap_or_default();
        }
        with_send(|scratch| loop {
            scratch.addrs.clear();
            scratch.addrs.extend(
                units
                    .iter()
                    .map(|u| batch.get(u.first).map(|(_, dest)| to_storage(dest))),
            );
            // At most two control messages: the GSO segment size, and the source address.
            let mut cmsg_array = [ControlMessage::UdpGsoSegments(&segment); 2];
            let mut n_cmsgs = usize::from(segment != 0);
            let pktinfo = match (&v4_info, &v6_info) {
                (Some(info), _) => Some(ControlMessage::Ipv4PacketInfo(info)),
                (None, Some(info)) => Some(ControlMessage::Ipv6PacketInfo(info)),
                (None, None) => None,
            };
            if let Some(pktinfo) = pktinfo {
                if let Some(slot) = cmsg_array.get_mut(n_cmsgs) {
                    *slot = pktinfo;
                }
                n_cmsgs += 1;
            }
            let cmsgs = cmsg_array.get(..n_cmsgs).unwrap_or_default();
            let headers = match (segment != 0, pktinfo.is_some()) {
                (false, false) => &mut scratch.plain,
                (true, false) => &mut scratch.gso,
                (false, true) => &mut scratch.source,
                (true, true) => &mut scratch.gso_source,
            };
            let result = sendmmsg(
                self.as_raw_fd(),
                headers,
                unit_iovs[..units.len()].iter(),
                &scratch.addrs,
                cmsgs,
                MsgFlags::empty(),
            )
            .map(|r| r.count());
            return match result {
                Ok(n) => Ok(CallResult::Sent(n)),
                Err(Errno::EINVAL | Errno::EADDRNOTAVAIL | Errno::ENETUNREACH)
                    if pktinfo.is_some() =>
                {
                    Ok(CallResult::SourceRefused)
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => {
                    // A full send buffer drains in microseconds; one that does not drain within the bound is
                    // stuck (a wedged device): give the batch up rather than the thread.
                    if !self.wait_writable(Some(SEND_STALL_LIMIT))? {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "send buffer stayed full for a second",
                        ));
                    }
                    continue;
                }
                Err(e) => Ok(classify_error(e, segment != 0)),
            };
        })
    }
}

/// What a failed sendmmsg (other than EINTR/EAGAIN) means for the first unit of the call.
fn classify_error(errno: Errno, gso: bool) -> CallResult {
    match errno {
        Errno::EIO | Errno::EINVAL if gso => CallResult::GsoRefused,
        Errno::EMSGSIZE if gso => CallResult::GsoTooLarge,
        e => CallResult::Failed(e.into()),
    }
}

/// End (exclusive) of the run of units starting at `start` that can share one sendmmsg call,
/// i.e. one UDP_SEGMENT value (nix applies the same control messages to every message).
fn group_end(units: &[SendUnit], start: usize) -> usize {
    // One sendmmsg carries one set of control messages: its units share segment size and source address.
    let key = units.get(start).map(|u| (u.segment, u.source));
    let mut end = start;
    while end < units.len() && units.get(end).map(|u| (u.segment, u.source)) == key {
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch_of(lens: &[(usize, u16)]) -> SendBatch {
        let mut batch = SendBatch::new(lens.len(), 2000);
        for &(len, port) in lens {
            let dest = SocketAddr::from(([198, 18, 0, 1], port));
            batch.push(&vec![7; len], dest).unwrap();
        }
        batch
    }

    fn plan(batch: &SendBatch, gso: bool) -> Vec<SendUnit> {
        let mut out = [SendUnit::default(); MAX_BATCH];
        let n = plan_units(batch, 0..batch.len(), gso, 0, &mut out);
        out[..n].to_vec()
    }

    #[test]
    fn equal_runs_coalesce_and_short_tail_closes_run() {
        let batch = batch_of(&[(100, 1), (100, 1), (100, 1), (40, 1), (100, 1), (100, 2)]);
        let units = plan(&batch, true);
        assert_eq!(
            units,
            vec![
                SendUnit {
                    first: 0,
                    count: 4,
                    segment: 100,
                    source: None
                },
                SendUnit {
                    first: 4,
                    count: 1,
                    segment: 0,
                    source: None
                },
                SendUnit {
                    first: 5,
                    count: 1,
                    segment: 0,
                    source: None
                },
            ]
        );
    }

    #[test]
    fn without_gso_every_datagram_is_its_own_unit() {
        let batch = batch_of(&[(100, 1), (100, 1), (100, 1)]);
        let units = plan(&batch, false);
        assert_eq!(units.len(), 3);
        assert!(units.iter().all(|u| u.count == 1 && u.segment == 0));
    }

    #[test]
    fn runs_respect_segment_and_byte_limits() {
        let batch = batch_of(&[(10, 1); 100]);
        let units = plan(&batch, true);
        assert_eq!(units[0].count, MAX_GSO_SEGMENTS);
        assert_eq!(units[1].count, 100 - MAX_GSO_SEGMENTS);

        let mut big = SendBatch::new(60, 1500);
        for _ in 0..60 {
            big.push(&[1; 1500], SocketAddr::from(([198, 18, 0, 1], 9)))
                .unwrap();
        }
        let units = plan(&big, true);
        assert!(units.iter().all(|u| u.count * 1500 <= MAX_GSO_BYTES));
        assert_eq!(units.iter().map(|u| u.count).sum::<usize>(), 60);
    }

    #[test]
    fn larger_datagram_breaks_a_run() {
        let batch = batch_of(&[(50, 1), (60, 1), (60, 1)]);
        let units = plan(&batch, true);
        assert_eq!(
            units[0],
            SendUnit {
                first: 0,
                count: 1,
                segment: 0,
                source: None
            }
        );
        assert_eq!(
            units[1],
            SendUnit {
                first: 1,
                count: 2,
                segment: 60,
                source: None
            }
        );
    }

    #[test]
    fn send_errors_are_classified() {
        assert!(matches!(
            classify_error(Errno::EIO, true),
            CallResult::GsoRefused
        ));
        assert!(matches!(
            classify_error(Errno::EINVAL, true),
            CallResult::GsoRefused
        ));
        assert!(matches!(
            classify_error(Errno::EMSGSIZE, true),
            CallResult::GsoTooLarge
        ));
        // Without GSO the same errors are per-datagram failures: drop, don't retry forever.
        assert!(matches!(
            classify_error(Errno::EIO, false),
            CallResult::Failed(_)
        ));
        assert!(matches!(
            classify_error(Errno::EMSGSIZE, false),
            CallResult::Failed(_)
        ));
        assert!(matches!(
            classify_error(Errno::ENETUNREACH, true),
            CallResult::Failed(_)
        ));
    }

    #[test]
    fn group_end_splits_by_segment_and_source() {
        let other = Some(PacketInfo {
            local: "198.18.0.9".parse().unwrap(),
            ifindex: 2,
        });
        let unit = |first, count, segment, source| SendUnit {
            first,
            count,
            segment,
            source,
        };
        let units = [
            unit(0, 2, 9, None),
            unit(2, 3, 9, None),
            unit(5, 1, 0, None),
            unit(6, 1, 0, other),
            unit(7, 1, 0, other),
        ];
        assert_eq!(group_end(&units, 0), 2);
        assert_eq!(group_end(&units, 2), 3);
        assert_eq!(group_end(&units, 3), 5);
    }

    #[test]
    fn a_source_change_breaks_a_gso_run() {
        let mut batch = SendBatch::new(4, 2000);
        let dest = SocketAddr::from(([198, 18, 0, 1], 9));
        let from = PacketInfo {
            local: "198.18.0.2".parse().unwrap(),
            ifindex: 3,
        };
        for source in [None, None, Some(from), Some(from)] {
            let slot = batch.next_slot_mut(100).unwrap();
            slot.fill(1);
            batch.commit_slot(100, dest, source);
        }
        let mut out = [SendUnit::default(); 8];
        let n = plan_units(&batch, 0..4, true, 0, &mut out);
        assert_eq!(n, 2);
        assert_eq!((out[0].count, out[0].source), (2, None));
        assert_eq!((out[1].count, out[1].source), (2, Some(from)));
        // After a refused source, the same datagrams leave from the routing choice.
        let n = plan_units(&batch, 0..4, true, 4, &mut out);
        assert_eq!((n, out[0].count, out[0].source), (1, 4, None));
    }

    #[test]
    fn push_rejects_oversize_and_overflow() {
        let mut batch = SendBatch::new(1, 10);
        let dest = SocketAddr::from(([198, 18, 0, 1], 9));
        assert_eq!(
            batch.push(&[0; 11], dest),
            Err(BatchError::TooLong { len: 11, max: 10 })
        );
        batch.push(&[1; 10], dest).unwrap();
        assert_eq!(batch.push(&[1], dest), Err(BatchError::Full));
        assert_eq!(batch.get(0), Some((&[1u8; 10][..], dest)));
    }
}
