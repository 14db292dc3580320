//! The job SQL: `pipelines/sql/*.sql`, what analysts read and extend,
//! compiled into the binary so that `cdp build` runs without the repository.
//!
//! A file is one query. `${name}` parameters are filled in before planning:
//! `${as_of_end}` (the first instant after the as-of day, an RFC 3339 UTC
//! string) and `${as_of_day}` (the as-of day as days since 1970-01-01).

use chrono::NaiveDate;

/// One SQL file of `pipelines/sql/`.
#[derive(Debug, Clone, Copy)]
pub struct SqlFile {
    /// The file name, for messages and `--emit-sql`.
    pub name: &'static str,
    pub text: &'static str,
}

pub const ORDERS: SqlFile = SqlFile {
    name: "orders.sql",
    text: include_str!("../../../pipelines/sql/orders.sql"),
};
pub const PROFILES: SqlFile = SqlFile {
    name: "profiles.sql",
    text: include_str!("../../../pipelines/sql/profiles.sql"),
};
pub const PURCHASES: SqlFile = SqlFile {
    name: "purchases.sql",
    text: include_str!("../../../pipelines/sql/purchases.sql"),
};
pub const TAG_CUTOFFS: SqlFile = SqlFile {
    name: "tag_cutoffs.sql",
    text: include_str!("../../../pipelines/sql/tag_cutoffs.sql"),
};
pub const TAG_COVERAGE: SqlFile = SqlFile {
    name: "tag_coverage.sql",
    text: include_str!("../../../pipelines/sql/tag_coverage.sql"),
};
pub const LTV: SqlFile = SqlFile {
    name: "ltv.sql",
    text: include_str!("../../../pipelines/sql/ltv.sql"),
};

/// Every file, in the order a build runs them.
pub const ALL: [SqlFile; 6] = [ORDERS, PROFILES, TAG_CUTOFFS, TAG_COVERAGE, PURCHASES, LTV];

/// The values of the `${…}` parameters for one build.
#[derive(Debug, Clone)]
pub struct SqlParams {
    pub as_of_end: String,
    pub as_of_day: i32,
}

impl SqlParams {
    pub fn for_as_of(as_of: NaiveDate) -> Self {
        let next = as_of
            .succ_opt()
            .expect("an as-of day before the end of time");
        Self {
            as_of_end: format!("{}T00:00:00Z", next.format("%Y-%m-%d")),
            as_of_day: day_number(as_of),
        }
    }
}

/// Days since 1970-01-01.
pub fn day_number(day: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    (day - epoch).num_days() as i32
}

impl SqlFile {
    /// The query with its parameters filled in.
    pub fn render(&self, params: &SqlParams) -> String {
        self.text
            .replace("${as_of_end}", &params.as_of_end)
            .replace("${as_of_day}", &params.as_of_day.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_filled_in_everywhere() {
        let params = SqlParams::for_as_of(NaiveDate::from_ymd_opt(1997, 9, 30).unwrap());
        assert_eq!(params.as_of_end, "1997-10-01T00:00:00Z");
        assert_eq!(params.as_of_day, 10134);
        for file in ALL {
            let sql = file.render(&params);
            assert!(!sql.contains("${"), "{} keeps a parameter", file.name);
        }
        assert!(PROFILES.render(&params).contains("10134 - utc_day"));
    }
}
