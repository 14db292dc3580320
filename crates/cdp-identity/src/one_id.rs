//! `one_key` and `one_id` (docs/architecture.md, "Interfaces between
//! stages"): keys are Int64 ≥ 1, allocated in order of first appearance and
//! never reused; the one_id people see is `OID` and the key in 12 digits.

/// The integer key of a person: joins, grouping, ClickHouse keys.
pub type OneKey = i64;

pub const ONE_ID_PREFIX: &str = "OID";

/// `OID` followed by the key zero-padded to 12 digits: `OID000000012345`.
pub fn one_id(key: OneKey) -> String {
    format!("{ONE_ID_PREFIX}{key:012}")
}

/// Appends `one_id(key)` to a string column without allocating a String.
pub(crate) fn append_one_id(builder: &mut arrow::array::StringBuilder, key: OneKey) {
    use std::fmt::Write as _;
    let _ = write!(builder, "{ONE_ID_PREFIX}{key:012}");
    builder.append_value("");
}

/// The key of a one_id, or `None` when it is not one.
pub fn parse_one_id(one_id: &str) -> Option<OneKey> {
    let digits = one_id.strip_prefix(ONE_ID_PREFIX)?;
    if digits.len() < 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&k| k >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_ids_are_padded_and_round_trip() {
        assert_eq!(one_id(12345), "OID000000012345");
        assert_eq!(parse_one_id("OID000000012345"), Some(12345));
        assert_eq!(one_id(1_234_567_890_123), "OID1234567890123");
        assert_eq!(
            parse_one_id(&one_id(1_234_567_890_123)),
            Some(1_234_567_890_123)
        );
        assert_eq!(parse_one_id("OID00000001234"), None);
        assert_eq!(parse_one_id("OID000000000000"), None);
        assert_eq!(parse_one_id("XID000000012345"), None);
    }
}
