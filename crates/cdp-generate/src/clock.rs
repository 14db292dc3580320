//! Time formats of the four feeds, written by hand from epoch milliseconds
//! (chrono's formatter would dominate the run time at 10M lines).
//!
//! All simulation times are UTC epoch milliseconds; the offline feed and the
//! `+08:00` ad timestamps are Asia/Shanghai local time, which has had no DST
//! since 1991, so local = UTC + 8 h exactly.

use crate::json::push_uint_padded;

pub const SECOND_MS: i64 = 1000;
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;
pub const SHANGHAI_OFFSET_MS: i64 = 8 * HOUR_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub milli: u32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil(ms: i64) -> Civil {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (rem / HOUR_MS) as u32,
        minute: (rem % HOUR_MS / MINUTE_MS) as u32,
        second: (rem % MINUTE_MS / SECOND_MS) as u32,
        milli: (rem % SECOND_MS) as u32,
    }
}

fn push_date(out: &mut Vec<u8>, c: &Civil, sep: u8) {
    push_uint_padded(out, c.year as u64, 4);
    out.push(sep);
    push_uint_padded(out, c.month as u64, 2);
    out.push(sep);
    push_uint_padded(out, c.day as u64, 2);
}

fn push_hm(out: &mut Vec<u8>, c: &Civil) {
    push_uint_padded(out, c.hour as u64, 2);
    out.push(b':');
    push_uint_padded(out, c.minute as u64, 2);
}

fn push_hms(out: &mut Vec<u8>, c: &Civil) {
    push_hm(out, c);
    out.push(b':');
    push_uint_padded(out, c.second as u64, 2);
}

/// `2026-11-20T06:35:00.123Z` (transaction `updated_at`, `paid_at`).
pub fn push_utc_millis(out: &mut Vec<u8>, ms: i64) {
    let c = civil(ms);
    push_date(out, &c, b'-');
    out.push(b'T');
    push_hms(out, &c);
    out.push(b'.');
    push_uint_padded(out, c.milli as u64, 3);
    out.push(b'Z');
}

/// `2026-11-20T10:00:00+08:00` (ad `event_time`, most platforms).
pub fn push_shanghai_rfc3339(out: &mut Vec<u8>, ms: i64) {
    let c = civil(ms + SHANGHAI_OFFSET_MS);
    push_date(out, &c, b'-');
    out.push(b'T');
    push_hms(out, &c);
    out.extend_from_slice(b"+08:00");
}

/// `2026-11-20T02:00:00Z` (ad `event_time` of a platform that reports UTC).
pub fn push_utc_seconds(out: &mut Vec<u8>, ms: i64) {
    let c = civil(ms);
    push_date(out, &c, b'-');
    out.push(b'T');
    push_hms(out, &c);
    out.push(b'Z');
}

/// `2026-11-20 14:33:05`, local Shanghai time without offset (offline).
pub fn push_local_dash(out: &mut Vec<u8>, ms: i64) {
    let c = civil(ms + SHANGHAI_OFFSET_MS);
    push_date(out, &c, b'-');
    out.push(b' ');
    push_hms(out, &c);
}

/// `2026/11/20 14:33`, local Shanghai time to the minute (some store systems).
pub fn push_local_slash(out: &mut Vec<u8>, ms: i64) {
    let c = civil(ms + SHANGHAI_OFFSET_MS);
    push_date(out, &c, b'/');
    out.push(b' ');
    push_hm(out, &c);
}

/// `20261120`, the local business date used inside record and order ids.
pub fn push_local_yyyymmdd(out: &mut Vec<u8>, ms: i64) {
    let c = civil(ms + SHANGHAI_OFFSET_MS);
    push_uint_padded(out, c.year as u64, 4);
    push_uint_padded(out, c.month as u64, 2);
    push_uint_padded(out, c.day as u64, 2);
}

/// Epoch ms of local midnight (Asia/Shanghai) starting `date`.
pub fn shanghai_midnight_ms(date: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    days_from_civil(date.year() as i64, date.month(), date.day()) * DAY_MS - SHANGHAI_OFFSET_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDateTime};

    fn s(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut b = Vec::new();
        f(&mut b);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn agrees_with_chrono_over_a_wide_range() {
        let mut ms = -86_400_000i64 * 400;
        while ms < 4_102_444_800_000 {
            let ours = s(|b| push_utc_millis(b, ms));
            let theirs = DateTime::from_timestamp_millis(ms)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(ours, theirs);
            ms += 86_400_000 * 7 + 3_601_234;
        }
    }

    #[test]
    fn local_formats_are_utc_plus_eight() {
        // 2026-11-20T06:33:05Z is 14:33:05 in Shanghai.
        let ms = DateTime::parse_from_rfc3339("2026-11-20T06:33:05.123Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(s(|b| push_local_dash(b, ms)), "2026-11-20 14:33:05");
        assert_eq!(s(|b| push_local_slash(b, ms)), "2026/11/20 14:33");
        assert_eq!(
            s(|b| push_shanghai_rfc3339(b, ms)),
            "2026-11-20T14:33:05+08:00"
        );
        assert_eq!(s(|b| push_utc_seconds(b, ms)), "2026-11-20T06:33:05Z");
        assert_eq!(s(|b| push_local_yyyymmdd(b, ms)), "20261120");
        let local =
            NaiveDateTime::parse_from_str("2026-11-20 14:33:05", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            local.and_utc().timestamp_millis() - SHANGHAI_OFFSET_MS,
            ms - 123
        );
    }

    #[test]
    fn shanghai_midnight_is_sixteen_hundred_utc_the_day_before() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let ms = shanghai_midnight_ms(d);
        assert_eq!(s(|b| push_utc_millis(b, ms)), "2025-12-31T16:00:00.000Z");
    }
}
