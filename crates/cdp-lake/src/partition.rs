//! Hive partition paths of the lake (`table/source=…/dt=…/file`).

use chrono::DateTime;

/// The UTC calendar day of an event time, as the `dt=` partition value.
pub fn day_of(event_time_us: i64) -> String {
    DateTime::from_timestamp_micros(event_time_us)
        .map(|t| t.format("%Y-%m-%d").to_string())
        // Out-of-range times cannot come out of the normalisers; keep them
        // visible rather than panic.
        .unwrap_or_else(|| "invalid".to_string())
}

/// Folder of one events partition.
pub fn events_dir(source: &str, dt: &str) -> String {
    format!("{}/source={source}/dt={dt}", crate::schema::EVENTS_TABLE)
}

/// Folder of one source's dead letters.
pub fn dead_letters_dir(source: &str) -> String {
    format!("{}/source={source}", crate::schema::DEAD_LETTERS_TABLE)
}

/// The value of `key=` in a Hive path, if present.
pub fn hive_value<'a>(path: &'a str, key: &str) -> Option<&'a str> {
    path.split('/')
        .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_is_the_utc_day() {
        // 2026-11-20T23:59:59.999999Z and one microsecond later.
        let t = 1_795_219_199_999_999;
        assert_eq!(day_of(t), "2026-11-20");
        assert_eq!(day_of(t + 1), "2026-11-21");
    }

    #[test]
    fn hive_values_are_read_back() {
        let p = "events/source=online/dt=2026-11-20/part-1.parquet";
        assert_eq!(hive_value(p, "source"), Some("online"));
        assert_eq!(hive_value(p, "dt"), Some("2026-11-20"));
        assert_eq!(hive_value(p, "run"), None);
    }
}
