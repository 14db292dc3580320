//! The CDNOW sample (fixtures/CDNOW_sample.txt, a copy of
//! shared/data/cdnow/CDNOW_sample.txt) as purchases, with its conventions:
//! calibration ends 1997-09-30, holdout 1997-10-01 … 1998-06-30.

use cdp_ltv::Purchase;
use chrono::NaiveDate;

const SAMPLE: &str = include_str!("../fixtures/CDNOW_sample.txt");

/// Days since 1970-01-01.
pub fn day(year: i32, month: u32, day: u32) -> i32 {
    let date = NaiveDate::from_ymd_opt(year, month, day).expect("a valid date");
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

pub fn calibration_end() -> i32 {
    day(1997, 9, 30)
}

pub fn holdout_end() -> i32 {
    day(1998, 6, 30)
}

/// One purchase per line: customer id, sample id, YYYYMMDD, CDs, dollars.
pub fn purchases() -> Vec<Purchase> {
    SAMPLE
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 5, "{line}");
            let date = fields[2];
            let (y, m, d) = (&date[..4], &date[4..6], &date[6..]);
            Purchase {
                customer: fields[0].parse().unwrap(),
                day: day(y.parse().unwrap(), m.parse().unwrap(), d.parse().unwrap()),
                amount: fields[4].parse().unwrap(),
            }
        })
        .collect()
}
