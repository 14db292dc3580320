//! `summarise` against lifetimes' `summary_data_from_transaction_data` on the
//! CDNOW sample (freq="D", observation_period_end 1997-09-30, monetary the
//! mean of repeat purchase days).

use cdp_ltv::{summarise, Rfm, TimeUnit};

use crate::cdnow;

#[test]
fn cdnow_histories_match_lifetimes_in_days() {
    let s = summarise(
        &mut cdnow::purchases(),
        cdnow::calibration_end(),
        TimeUnit::Day,
    )
    .unwrap();
    let history = |key: i64| s.rfm[s.customers.binary_search(&key).unwrap()];
    // Rows of lifetimes' output for these customer ids.
    for (key, frequency, recency, age, monetary) in [
        (4, 2.0, 213.0, 272.0, 22.345),
        (18, 0.0, 0.0, 269.0, 0.0),
        (21, 1.0, 12.0, 272.0, 11.77),
        (50, 0.0, 0.0, 272.0, 0.0),
        (60, 0.0, 0.0, 241.0, 0.0),
    ] {
        let got = history(key);
        let want = Rfm {
            frequency,
            recency,
            age,
            monetary,
        };
        assert_eq!(got.frequency, want.frequency, "customer {key}");
        assert_eq!(
            (got.recency, got.age),
            (want.recency, want.age),
            "customer {key}"
        );
        assert!(
            (got.monetary - want.monetary).abs() < 1e-9,
            "customer {key}: {got:?}"
        );
    }
}

#[test]
fn weeks_are_days_divided_by_seven() {
    let days = summarise(
        &mut cdnow::purchases(),
        cdnow::calibration_end(),
        TimeUnit::Day,
    )
    .unwrap();
    let weeks = summarise(
        &mut cdnow::purchases(),
        cdnow::calibration_end(),
        TimeUnit::Week,
    )
    .unwrap();
    assert_eq!(days.customers, weeks.customers);
    for (d, w) in days.rfm.iter().zip(&weeks.rfm) {
        assert_eq!((d.frequency, d.monetary), (w.frequency, w.monetary));
        assert_eq!((d.recency / 7.0, d.age / 7.0), (w.recency, w.age));
    }
}

#[test]
fn distinct_customer_days_are_the_transactions() {
    // The README: 6,919 lines, 6,696 distinct customer-days. As of the end
    // of the holdout every line is in, so Σ (frequency + 1) is 6,696.
    let mut purchases = cdnow::purchases();
    assert_eq!(purchases.len(), 6919);
    let s = summarise(&mut purchases, cdnow::holdout_end(), TimeUnit::Day).unwrap();
    assert_eq!(s.rfm.iter().map(|c| c.frequency + 1.0).sum::<f64>(), 6696.0);
}
