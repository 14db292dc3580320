//! Event times of every source, as microseconds since the epoch, UTC.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

use super::json::Scalar;
use super::Rejection;

/// Epoch values below this are seconds, not milliseconds (contract §1: old
/// SDKs send seconds; 10^11 ms is 1973, 10^11 s is the year 5138).
const SECONDS_BELOW: i64 = 100_000_000_000;

/// Beyond this an epoch in milliseconds is a corrupt value (year 2286), not
/// a time: it would overflow or land in a meaningless partition.
const MAX_EPOCH_MS: i64 = 10_000_000_000_000;

/// Asia/Shanghai: fixed UTC+8, China has had no daylight saving since 1991.
const SHANGHAI_OFFSET_S: i64 = 8 * 3600;

/// The unit of an epoch number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EpochUnit {
    /// Seconds below 10^11, otherwise milliseconds (the online SDK rule).
    Auto,
    Seconds,
    Millis,
    Micros,
}

/// An epoch number given as a JSON integer or a numeric string.
pub(crate) fn epoch(field: &str, value: &Scalar<'_>, unit: EpochUnit) -> Result<i64, Rejection> {
    let n: i64 = match value {
        Scalar::Int(i) => *i,
        Scalar::UInt(u) => i64::try_from(*u)
            .map_err(|_| Rejection::invalid(field, &u.to_string(), "is out of range"))?,
        Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => *f as i64,
        Scalar::Str(s) => {
            let t = s.trim();
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Rejection::invalid(field, s, "is not an epoch number"));
            }
            t.parse()
                .map_err(|_| Rejection::invalid(field, s, "is out of range"))?
        }
        Scalar::Float(f) => {
            return Err(Rejection::invalid(
                field,
                &f.to_string(),
                "is not a whole number",
            ))
        }
        Scalar::Null => return Err(Rejection::missing(field)),
        other => {
            return Err(Rejection::wrong_type(
                field,
                "an integer or a numeric string",
                other.type_name(),
            ))
        }
    };
    if n < 0 {
        return Err(Rejection::invalid(field, &n.to_string(), "is before 1970"));
    }
    let micros = match unit {
        EpochUnit::Auto if n < SECONDS_BELOW => n.checked_mul(1_000_000),
        EpochUnit::Auto | EpochUnit::Millis => n.checked_mul(1_000),
        EpochUnit::Seconds => n.checked_mul(1_000_000),
        EpochUnit::Micros => Some(n),
    };
    match micros {
        Some(us) if us <= MAX_EPOCH_MS * 1_000 => Ok(us),
        _ => Err(Rejection::invalid(field, &n.to_string(), "is out of range")),
    }
}

/// RFC 3339 with an offset, e.g. `2026-11-20T10:00:00+08:00`.
pub(crate) fn rfc3339(field: &str, value: &str) -> Result<i64, Rejection> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.timestamp_micros())
        .map_err(|e| {
            Rejection::invalid(
                field,
                value,
                format_args!("is not an RFC 3339 time with offset ({e})"),
            )
        })
}

/// Store-local time in Asia/Shanghai without an offset (contract §1):
/// `2026-11-20 14:33:05` or `2026/11/20 14:33`, seconds optional in both.
pub(crate) fn shanghai_local(field: &str, value: &str) -> Result<i64, Rejection> {
    let bad = || {
        Rejection::invalid(
            field,
            value,
            "is not a local time like \"2026-11-20 14:33:05\" or \"2026/11/20 14:33\"",
        )
    };
    let local = parse_local(value.trim()).ok_or_else(bad)?;
    Ok(local.and_utc().timestamp_micros() - SHANGHAI_OFFSET_S * 1_000_000)
}

/// Hand-written because this runs for every offline message and the forms
/// are few: `Y-M-D H:M[:S]` or `Y/M/D H:M[:S]` (a `T` is accepted too).
fn parse_local(s: &str) -> Option<NaiveDateTime> {
    let (date, time) = s.split_once([' ', 'T'])?;
    let sep = if date.contains('/') { '/' } else { '-' };
    let mut d = date.split(sep);
    let (y, m, dd) = (num(d.next()?, 4)?, num(d.next()?, 2)?, num(d.next()?, 2)?);
    let mut t = time.trim_start().split(':');
    let (h, mi) = (num(t.next()?, 2)?, num(t.next()?, 2)?);
    let sec = match t.next() {
        Some(sec) => num(sec, 2)?,
        None => 0,
    };
    if d.next().is_some() || t.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, dd)?;
    Some(date.and_time(NaiveTime::from_hms_opt(h, mi, sec)?))
}

/// 1 to `max_len` ASCII digits.
fn num(s: &str, max_len: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A time in a strftime `pattern`; `zone` applies when the pattern has no
/// offset of its own. Date-only patterns mean midnight.
pub(crate) fn pattern(
    field: &str,
    value: &str,
    pattern: &str,
    zone: Option<FixedOffset>,
) -> Result<i64, Rejection> {
    let v = value.trim();
    let bad = || {
        Rejection::invalid(
            field,
            value,
            format_args!("does not match the time format {pattern:?}"),
        )
    };
    match zone {
        Some(zone) => {
            let naive = NaiveDateTime::parse_from_str(v, pattern)
                .or_else(|_| {
                    NaiveDate::parse_from_str(v, pattern).map(|d| d.and_time(NaiveTime::MIN))
                })
                .map_err(|_| bad())?;
            naive
                .and_local_timezone(zone)
                .single()
                .map(|t| t.timestamp_micros())
                .ok_or_else(bad)
        }
        None => DateTime::parse_from_str(v, pattern)
            .map(|t| t.timestamp_micros())
            .map_err(|_| bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn us(rfc: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn online_ts_seconds_and_millis() {
        let s = Scalar::Str(Cow::Borrowed("1763620500"));
        assert_eq!(
            epoch("ts", &s, EpochUnit::Auto).unwrap(),
            1_763_620_500_000_000
        );
        assert_eq!(
            epoch("ts", &Scalar::Int(1_763_620_385_123), EpochUnit::Auto).unwrap(),
            1_763_620_385_123_000
        );
        assert_eq!(us("2025-11-20T06:35:00Z"), 1_763_620_500_000_000);
    }

    #[test]
    fn bad_epochs_are_rejected_with_the_field() {
        let r = epoch(
            "ts",
            &Scalar::Str(Cow::Borrowed("yesterday")),
            EpochUnit::Auto,
        )
        .unwrap_err();
        assert_eq!(r.reason, r#"`ts` "yesterday" is not an epoch number"#);
        assert!(epoch("ts", &Scalar::Int(-1), EpochUnit::Auto).is_err());
        assert!(epoch("ts", &Scalar::UInt(u64::MAX), EpochUnit::Auto).is_err());
        assert!(epoch("ts", &Scalar::Int(i64::MAX), EpochUnit::Micros).is_err());
        assert!(epoch("ts", &Scalar::Float(1.5), EpochUnit::Auto).is_err());
        assert_eq!(
            epoch("ts", &Scalar::Bool(true), EpochUnit::Auto)
                .unwrap_err()
                .field
                .as_deref(),
            Some("ts")
        );
    }

    #[test]
    fn shanghai_local_forms() {
        assert_eq!(
            shanghai_local("occurred_at", "2026-11-20 14:33:05").unwrap(),
            us("2026-11-20T06:33:05Z")
        );
        assert_eq!(
            shanghai_local("occurred_at", "2026/11/20 15:02").unwrap(),
            us("2026-11-20T07:02:00Z")
        );
        assert_eq!(
            shanghai_local("occurred_at", "2026/11/20 15:02:09").unwrap(),
            us("2026-11-20T07:02:09Z")
        );
        assert_eq!(
            shanghai_local("occurred_at", "2026-11-20 15:02").unwrap(),
            us("2026-11-20T07:02:00Z")
        );
        for bad in [
            "",
            "2026-11-20",
            "2026-13-01 00:00",
            "2026-11-20 25:00",
            "2026-11-20 14:33:05:01",
            "20261120 143305",
            "2026-11/20 14:33",
        ] {
            assert!(shanghai_local("occurred_at", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rfc3339_needs_an_offset() {
        assert_eq!(
            rfc3339("event_time", "2026-11-20T10:00:00+08:00").unwrap(),
            us("2026-11-20T02:00:00Z")
        );
        assert!(rfc3339("event_time", "2026-11-20T10:00:00").is_err());
        let r = rfc3339("event_time", "not a time").unwrap_err();
        assert!(
            r.reason
                .starts_with(r#"`event_time` "not a time" is not an RFC 3339 time"#),
            "{}",
            r.reason
        );
    }

    #[test]
    fn patterns_with_and_without_zone() {
        let cst = FixedOffset::east_opt(8 * 3600);
        assert_eq!(
            pattern("t", "20261120143305", "%Y%m%d%H%M%S", cst).unwrap(),
            us("2026-11-20T06:33:05Z")
        );
        assert_eq!(
            pattern("t", "2026-11-20", "%Y-%m-%d", cst).unwrap(),
            us("2026-11-19T16:00:00Z")
        );
        assert_eq!(
            pattern("t", "2026-11-20 10:00 +0800", "%Y-%m-%d %H:%M %z", None).unwrap(),
            us("2026-11-20T02:00:00Z")
        );
        assert!(pattern("t", "2026-11-20", "%Y%m%d%H%M%S", cst).is_err());
    }

    proptest::proptest! {
        #[test]
        fn local_parser_never_panics(s in "\\PC{0,30}") {
            let _ = shanghai_local("occurred_at", &s);
        }

        #[test]
        fn local_time_round_trips(secs in 0i64..4_000_000_000) {
            let utc = DateTime::from_timestamp(secs, 0).unwrap();
            let local = (utc + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S").to_string();
            proptest::prop_assert_eq!(shanghai_local("t", &local).unwrap(), secs * 1_000_000);
        }
    }
}
