//! Ethernet II frames, optionally carrying one IEEE 802.1Q VLAN tag.

use core::fmt;

use crate::error::WireError;
use crate::field;

/// Length of an untagged Ethernet II header.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Length of an 802.1Q tag (TPID is the outer EtherType slot; this is TCI plus inner EtherType).
pub const VLAN_TAG_LEN: usize = 4;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType (TPID) announcing an 802.1Q tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;

/// A MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A checked view of an Ethernet II frame.
#[derive(Clone, Copy, Debug)]
pub struct EthernetFrame<'a> {
    header: &'a [u8; ETHERNET_HEADER_LEN],
    /// TCI and inner EtherType when the outer EtherType is 802.1Q.
    vlan: Option<&'a [u8; VLAN_TAG_LEN]>,
    payload: &'a [u8],
}

/// Splits a frame into its fixed header, optional VLAN tag and payload; shared by both views.
macro_rules! split_frame {
    ($bytes:expr, $split_chunk:ident) => {{
        let available = $bytes.len();
        let Some((header, rest)) = $bytes.$split_chunk::<ETHERNET_HEADER_LEN>() else {
            return Err(WireError::TooShort {
                needed: ETHERNET_HEADER_LEN,
                available,
            });
        };
        if field::u16_be::<12, ETHERNET_HEADER_LEN>(header) == ETHERTYPE_VLAN {
            let Some((tag, payload)) = rest.$split_chunk::<VLAN_TAG_LEN>() else {
                return Err(WireError::TooShort {
                    needed: ETHERNET_HEADER_LEN + VLAN_TAG_LEN,
                    available,
                });
            };
            (header, Some(tag), payload)
        } else {
            (header, None, rest)
        }
    }};
}

impl<'a> EthernetFrame<'a> {
    /// Checks `bytes` holds an Ethernet header (and the whole 802.1Q tag, if one is announced).
    pub fn new(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (header, vlan, payload) = split_frame!(bytes, split_first_chunk);
        Ok(Self {
            header,
            vlan,
            payload,
        })
    }

    /// Destination MAC address.
    pub fn dst(&self) -> MacAddr {
        MacAddr(*field::array::<0, 6, ETHERNET_HEADER_LEN>(self.header))
    }

    /// Source MAC address.
    pub fn src(&self) -> MacAddr {
        MacAddr(*field::array::<6, 6, ETHERNET_HEADER_LEN>(self.header))
    }

    /// EtherType of the payload: the inner one when the frame is VLAN-tagged.
    pub fn ethertype(&self) -> u16 {
        match self.vlan {
            Some(tag) => field::u16_be::<2, VLAN_TAG_LEN>(tag),
            None => field::u16_be::<12, ETHERNET_HEADER_LEN>(self.header),
        }
    }

    /// The 12-bit VLAN identifier, if the frame carries an 802.1Q tag.
    pub fn vlan_id(&self) -> Option<u16> {
        self.vlan_tci().map(|tci| tci & 0x0fff)
    }

    /// The whole 16-bit tag control information (priority, DEI, VLAN id), if the frame carries an 802.1Q tag.
    pub fn vlan_tci(&self) -> Option<u16> {
        self.vlan.map(field::u16_be::<0, VLAN_TAG_LEN>)
    }

    /// Length of the header including any VLAN tag, i.e. the offset of the payload in the frame.
    pub fn header_len(&self) -> usize {
        ETHERNET_HEADER_LEN + self.vlan.map_or(0, |_| VLAN_TAG_LEN)
    }

    /// Everything after the header (may include trailing Ethernet padding).
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// A checked, writable view of an Ethernet II frame.
#[derive(Debug)]
pub struct EthernetFrameMut<'a> {
    header: &'a mut [u8; ETHERNET_HEADER_LEN],
    vlan: Option<&'a mut [u8; VLAN_TAG_LEN]>,
    payload: &'a mut [u8],
}

impl<'a> EthernetFrameMut<'a> {
    /// Same checks as [`EthernetFrame::new`].
    pub fn new(bytes: &'a mut [u8]) -> Result<Self, WireError> {
        let (header, vlan, payload) = split_frame!(bytes, split_first_chunk_mut);
        Ok(Self {
            header,
            vlan,
            payload,
        })
    }

    /// A read-only view of the same frame.
    pub fn as_view(&self) -> EthernetFrame<'_> {
        EthernetFrame {
            header: self.header,
            vlan: self.vlan.as_deref(),
            payload: self.payload,
        }
    }

    /// Sets the destination MAC address.
    pub fn set_dst(&mut self, mac: MacAddr) {
        field::set_array::<0, 6, ETHERNET_HEADER_LEN>(self.header, &mac.0);
    }

    /// Sets the source MAC address.
    pub fn set_src(&mut self, mac: MacAddr) {
        field::set_array::<6, 6, ETHERNET_HEADER_LEN>(self.header, &mac.0);
    }

    /// Sets the payload EtherType (the inner one when the frame is VLAN-tagged, so the tag is kept).
    pub fn set_ethertype(&mut self, ethertype: u16) {
        match self.vlan.as_deref_mut() {
            Some(tag) => field::set_u16_be::<2, VLAN_TAG_LEN>(tag, ethertype),
            None => field::set_u16_be::<12, ETHERNET_HEADER_LEN>(self.header, ethertype),
        }
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.payload
    }
}

/// Writes an Ethernet header (with an 802.1Q tag when `vlan_tci` is given) at the start of `buf` and returns its
/// length.
pub fn write_ethernet_header(
    buf: &mut [u8],
    dst: MacAddr,
    src: MacAddr,
    vlan_tci: Option<u16>,
    ethertype: u16,
) -> Result<usize, WireError> {
    let needed = ETHERNET_HEADER_LEN + vlan_tci.map_or(0, |_| VLAN_TAG_LEN);
    let available = buf.len();
    if available < needed {
        // Checked up front so a failed call leaves the buffer untouched.
        return Err(WireError::BufferTooSmall { needed, available });
    }
    let Some((header, rest)) = buf.split_first_chunk_mut::<ETHERNET_HEADER_LEN>() else {
        return Err(WireError::BufferTooSmall { needed, available });
    };
    field::set_array::<0, 6, ETHERNET_HEADER_LEN>(header, &dst.0);
    field::set_array::<6, 6, ETHERNET_HEADER_LEN>(header, &src.0);
    match vlan_tci {
        None => field::set_u16_be::<12, ETHERNET_HEADER_LEN>(header, ethertype),
        Some(tci) => {
            let Some(tag) = rest.first_chunk_mut::<VLAN_TAG_LEN>() else {
                return Err(WireError::BufferTooSmall { needed, available });
            };
            field::set_u16_be::<12, ETHERNET_HEADER_LEN>(header, ETHERTYPE_VLAN);
            field::set_u16_be::<0, VLAN_TAG_LEN>(tag, tci);
            field::set_u16_be::<2, VLAN_TAG_LEN>(tag, ethertype);
        }
    }
    Ok(needed)
}
