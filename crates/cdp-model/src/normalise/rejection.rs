//! Why a message was refused. The reason goes to the dead-letter table, so it
//! must tell an operator what to fix in the sending system.

use std::fmt;

/// A message the pipeline refuses: it goes to the dead-letter table with
/// this reason. `field` names the offending field when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: String,
    pub field: Option<String>,
}

/// Values quoted in reasons are cut here: a reason is read by a person, and
/// the raw message is stored beside it anyway.
const MAX_QUOTED_CHARS: usize = 60;

impl Rejection {
    pub fn new(reason: impl Into<String>, field: Option<&str>) -> Self {
        Self {
            reason: reason.into(),
            field: field.map(str::to_string),
        }
    }

    /// A fault of the whole message (not JSON, not UTF-8, not an object).
    pub(crate) fn payload(reason: impl Into<String>) -> Self {
        Self::new(reason, None)
    }

    pub(crate) fn missing(field: &str) -> Self {
        Self::new(format!("missing required field `{field}`"), Some(field))
    }

    pub(crate) fn wrong_type(field: &str, expected: &str, got: &str) -> Self {
        Self::new(
            format!("`{field}` must be {expected}, got {got}"),
            Some(field),
        )
    }

    /// `field` holds `value`, which is wrong because of `problem`.
    pub(crate) fn invalid(field: &str, value: &str, problem: impl fmt::Display) -> Self {
        Self::new(
            format!("`{field}` {:?} {problem}", quote(value)),
            Some(field),
        )
    }
}

fn quote(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_the_brief_asks() {
        assert_eq!(
            Rejection::missing("ts").to_string(),
            "missing required field `ts`"
        );
        let r = Rejection::invalid("total_amount", "12.345", "has more than two decimals");
        assert_eq!(
            r.to_string(),
            r#"`total_amount` "12.345" has more than two decimals"#
        );
        assert_eq!(r.field.as_deref(), Some("total_amount"));
    }

    #[test]
    fn long_values_are_cut_on_a_char_boundary() {
        let long = "时".repeat(100);
        let r = Rejection::invalid("occurred_at", &long, "is not a time");
        assert!(r.reason.contains('…'));
        assert!(r.reason.chars().count() < 100);
    }
}
