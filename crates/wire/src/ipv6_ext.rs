//! Walking IPv6 extension headers (RFC 8200 section 4) to find the upper-layer protocol and any fragment header.

use crate::error::WireError;
use crate::field;

/// Next-header value of the hop-by-hop options header.
pub const NEXT_HEADER_HOP_BY_HOP: u8 = 0;
/// Next-header value of the routing header.
pub const NEXT_HEADER_ROUTING: u8 = 43;
/// Next-header value of the fragment header.
pub const NEXT_HEADER_FRAGMENT: u8 = 44;
/// Next-header value of the authentication header.
pub const NEXT_HEADER_AUTH: u8 = 51;
/// Next-header value of the destination options header.
pub const NEXT_HEADER_DEST_OPTS: u8 = 60;

const FRAGMENT_HEADER_LEN: usize = 8;

/// What an IPv6 fragment header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Fragment {
    /// Offset of this fragment's data in the original packet, in bytes.
    pub offset: usize,
    /// The M (more fragments) flag.
    pub more: bool,
    /// Identification shared by all fragments of one packet.
    pub identification: u32,
}

impl Ipv6Fragment {
    /// An atomic fragment (offset 0, no more fragments) is a whole packet (RFC 6946).
    pub fn is_atomic(&self) -> bool {
        self.offset == 0 && !self.more
    }
}

/// The protocol and bytes after the IPv6 extension headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6UpperLayer<'a> {
    /// The upper-layer protocol (17 for UDP). For a non-atomic fragment this is the fragment header's next header
    /// and [`Self::payload`] is fragment data, not a parseable header unless the offset is 0.
    pub protocol: u8,
    /// The bytes after the last extension header that was walked.
    pub payload: &'a [u8],
    /// The fragment header, if one was met.
    pub fragment: Option<Ipv6Fragment>,
}

impl Ipv6UpperLayer<'_> {
    /// Whether the packet is part of a fragmented datagram (a fragment header that is not atomic).
    pub fn is_fragment(&self) -> bool {
        self.fragment.is_some_and(|f| !f.is_atomic())
    }
}

/// Walks the extension-header chain that starts with `next_header` over `payload`. Stops at the first header that
/// is not hop-by-hop, routing, destination options, authentication or an atomic fragment; a non-atomic fragment
/// header also stops the walk, since what follows it is only part of the datagram.
pub fn upper_layer(mut next_header: u8, payload: &[u8]) -> Result<Ipv6UpperLayer<'_>, WireError> {
    let mut rest = payload;
    let mut fragment = None;
    // Each round consumes at least 8 bytes, so the loop ends within payload.len() / 8 rounds.
    loop {
        let len = match next_header {
            NEXT_HEADER_HOP_BY_HOP | NEXT_HEADER_ROUTING | NEXT_HEADER_DEST_OPTS => {
                let [_, units, ..] = *rest else {
                    return Err(WireError::BadExtensionHeader);
                };
                (usize::from(units) + 1) * 8
            }
            // RFC 4302: the AH length counts 32-bit words minus 2.
            NEXT_HEADER_AUTH => {
                let [_, words, ..] = *rest else {
                    return Err(WireError::BadExtensionHeader);
                };
                (usize::from(words) + 2) * 4
            }
            NEXT_HEADER_FRAGMENT => FRAGMENT_HEADER_LEN,
            protocol => {
                return Ok(Ipv6UpperLayer {
                    protocol,
                    payload: rest,
                    fragment,
                })
            }
        };
        let (header, after) = rest
            .split_at_checked(len)
            .ok_or(WireError::BadExtensionHeader)?;
        let Some(&following) = header.first() else {
            return Err(WireError::BadExtensionHeader);
        };
        if next_header == NEXT_HEADER_FRAGMENT {
            let Some(fixed) = header.first_chunk::<FRAGMENT_HEADER_LEN>() else {
                return Err(WireError::BadExtensionHeader);
            };
            let offset_flags = field::u16_be::<2, FRAGMENT_HEADER_LEN>(fixed);
            let found = Ipv6Fragment {
                offset: usize::from(offset_flags >> 3) * 8,
                more: offset_flags & 1 != 0,
                identification: field::u32_be::<4, FRAGMENT_HEADER_LEN>(fixed),
            };
            fragment = Some(found);
            if !found.is_atomic() {
                return Ok(Ipv6UpperLayer {
                    protocol: following,
                    payload: after,
                    fragment,
                });
            }
        }
        next_header = following;
        rest = after;
    }
}
