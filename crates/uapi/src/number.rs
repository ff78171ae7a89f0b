//! Strict unsigned number parsing shared by the UAPI and config parsers.
//!
//! `str::parse::<u16>()` accepts a leading `+`, which neither wireguard-go
//! (`strconv.ParseUint`) nor wireguard-tools (`char_is_digit` first) accept, so
//! every number goes through these helpers instead.

/// Parses a non-empty string of ASCII decimal digits that is at most `max`.
///
/// Leading zeros are accepted, like `strtoul` and `strconv.ParseUint` do.
pub(crate) fn parse_decimal(text: &str, max: u64) -> Option<u64> {
    parse_digits(text, 10, max)
}

/// Parses a non-empty string of ASCII hex digits (no `0x`) that is at most `max`.
pub(crate) fn parse_hex(text: &str, max: u64) -> Option<u64> {
    parse_digits(text, 16, max)
}

fn parse_digits(text: &str, radix: u32, max: u64) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for ch in text.chars() {
        let digit = ch.to_digit(radix)?;
        // checked_* keeps a 40-digit input from wrapping into range.
        value = value
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(digit))?;
        if value > max {
            return None;
        }
    }
    Some(value)
}

/// Parses a decimal `u16`.
pub(crate) fn parse_u16(text: &str) -> Option<u16> {
    parse_decimal(text, u64::from(u16::MAX)).and_then(|v| u16::try_from(v).ok())
}

/// Parses a decimal `u32`.
pub(crate) fn parse_u32(text: &str) -> Option<u32> {
    parse_decimal(text, u64::from(u32::MAX)).and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_edges() {
        assert_eq!(parse_u16("0"), Some(0));
        assert_eq!(parse_u16("00080"), Some(80));
        assert_eq!(parse_u16("65535"), Some(65535));
        assert_eq!(parse_u16("65536"), None);
        assert_eq!(parse_u16("+1"), None);
        assert_eq!(parse_u16("-1"), None);
        assert_eq!(parse_u16(""), None);
        assert_eq!(parse_u16(" 1"), None);
        assert_eq!(parse_u16("1_0"), None);
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32("4294967296"), None);
        assert_eq!(parse_u32("99999999999999999999999999999"), None);
        // Non-ASCII digits must not sneak in through char::to_digit.
        assert_eq!(parse_u32("１"), None);
    }

    #[test]
    fn hex_edges() {
        assert_eq!(parse_hex("ff", 0xff), Some(255));
        assert_eq!(parse_hex("FF", 0xff), Some(255));
        assert_eq!(parse_hex("100", 0xff), None);
        assert_eq!(parse_hex("g", u64::MAX), None);
        assert_eq!(parse_hex("", u64::MAX), None);
    }
}
