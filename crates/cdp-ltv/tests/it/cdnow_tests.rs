//! Every figure of shared/data/cdnow/README.md, within its tolerance, from
//! the CDNOW sample through the path `cdp build` takes (`fit_and_predict`,
//! weeks, as of 1997-09-30); and lifetimes 0.11.3's figures on the same data
//! to tighter tolerances (its BFGS stops at a gradient of 1e-7, so not to
//! the last digit).

use std::sync::OnceLock;

use cdp_ltv::{fit_and_predict, summarise, BgNbd, LtvOptions, LtvRun, Rfm, TimeUnit};

use crate::cdnow;

fn run() -> &'static LtvRun {
    static RUN: OnceLock<LtvRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let options = LtvOptions {
            time_unit: TimeUnit::Week,
            ..LtvOptions::default()
        };
        fit_and_predict(&mut cdnow::purchases(), cdnow::calibration_end(), &options).unwrap()
    })
}

fn assert_within(name: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{name}: got {got}, want {want} ± {tolerance}"
    );
}

#[test]
fn aggregate_counts() {
    let rfm = &run().summaries.rfm;
    assert_eq!(rfm.len(), 2357);
    assert_eq!(rfm.iter().filter(|c| c.frequency == 0.0).count(), 1411);
    assert_eq!(rfm.iter().filter(|c| c.frequency > 0.0).count(), 946);
    assert_eq!(rfm.iter().map(|c| c.frequency).sum::<f64>(), 2457.0);
    // First purchases are in Q1 1997: ages from 183 to 272 days.
    assert!(rfm
        .iter()
        .all(|c| c.age >= 183.0 / 7.0 && c.age <= 272.0 / 7.0));
}

#[test]
fn bgnbd_parameters_and_log_likelihood() {
    let fit = &run().bgnbd;
    let m = fit.model;
    assert_within("r", m.r, 0.243, 0.001);
    assert_within("alpha", m.alpha, 4.414, 0.001);
    assert_within("a", m.a, 0.793, 0.001);
    assert_within("b", m.b, 2.426, 0.001);
    assert_within("log-likelihood", fit.log_likelihood, -9582.4, 0.05);
    assert_eq!(fit.customers, 2357);
    assert!(fit.iterations > 0);
}

#[test]
fn bgnbd_matches_lifetimes() {
    // BetaGeoFitter().fit(frequency, recency, T) on the same summary.
    let m = run().bgnbd.model;
    assert_within("r", m.r, 0.242594543421, 1e-5);
    assert_within("alpha", m.alpha, 4.413602716077, 1e-4);
    assert_within("a", m.a, 0.792921833348, 1e-5);
    assert_within("b", m.b, 2.425905728722, 1e-4);
    // Ours is the optimum: at least lifetimes' likelihood.
    assert!(run().bgnbd.log_likelihood >= -9582.429206673936 - 1e-9);
}

#[test]
fn the_published_customer() {
    let customer = Rfm {
        frequency: 2.0,
        recency: 30.43,
        age: 38.86,
        monetary: 0.0,
    };
    let m = run().bgnbd.model;
    assert_within(
        "expected purchases in 39 weeks",
        m.expected_purchases(39.0, &customer),
        1.226,
        0.001,
    );
    assert_within("P(alive)", m.p_alive(&customer), 0.7266, 0.0005);
}

#[test]
fn every_customer_without_repeat_purchases_is_alive() {
    let run = run();
    let mut seen = 0;
    for (c, p) in run.summaries.rfm.iter().zip(&run.predictions) {
        if c.frequency == 0.0 {
            assert_eq!(p.p_alive, 1.0);
            seen += 1;
        } else {
            assert!(p.p_alive > 0.0 && p.p_alive < 1.0, "{c:?} {p:?}");
        }
    }
    assert_eq!(seen, 1411);
}

#[test]
fn gamma_gamma_parameters_and_log_likelihood() {
    let fit = &run().gamma_gamma;
    let m = fit.model;
    assert_eq!((fit.customers, fit.excluded), (946, 0));
    assert_within("p", m.p, 6.25, 0.01);
    assert_within("q", m.q, 3.74, 0.01);
    assert_within("gamma", m.gamma, 15.44, 0.01);
    // The optimum is flat: the likelihood pins it better than a parameter.
    // lifetimes' GammaGammaFitter reaches −4055.9176948 (p 6.249572, q
    // 3.744225, v 15.443521); ours must be at least as high, and close.
    assert!(
        fit.log_likelihood >= -4055.9176948018726 - 1e-9,
        "{}",
        fit.log_likelihood
    );
    assert_within("log-likelihood", fit.log_likelihood, -4055.9176948, 1e-6);
    assert_within("p vs lifetimes", m.p, 6.249572277639, 1e-3);
    assert_within("q vs lifetimes", m.q, 3.744224674758, 1e-3);
    assert_within("gamma vs lifetimes", m.gamma, 15.443521018352, 1e-3);
}

#[test]
fn mean_expected_average_spend() {
    let predictions = &run().predictions;
    let mean = predictions
        .iter()
        .map(|p| p.expected_average_spend)
        .sum::<f64>()
        / predictions.len() as f64;
    assert_within("mean expected average spend", mean, 35.25, 0.01);
}

#[test]
fn holdout_repeat_purchases_of_one_time_buyers() {
    // The README's check: BG/NBD predicts 0.23 repeat transactions in the
    // 39-week holdout for an average x = 0 customer, 0.24 are observed.
    let run = run();
    let m: BgNbd = run.bgnbd.model;
    let one_time: Vec<(i64, &Rfm)> = run
        .summaries
        .customers
        .iter()
        .copied()
        .zip(&run.summaries.rfm)
        .filter(|(_, c)| c.frequency == 0.0)
        .collect();
    let predicted = one_time
        .iter()
        .map(|(_, c)| m.expected_purchases(39.0, c))
        .sum::<f64>()
        / one_time.len() as f64;
    assert_within("predicted", predicted, 0.23, 0.006);

    // Observed: purchase days in the holdout, from a summary at its end
    // minus the calibration's purchase days.
    let mut all = cdnow::purchases();
    let to_holdout_end = summarise(&mut all, cdnow::holdout_end(), TimeUnit::Week).unwrap();
    let observed: f64 = one_time
        .iter()
        .map(|(key, _)| {
            let i = to_holdout_end.customers.binary_search(key).unwrap();
            to_holdout_end.rfm[i].frequency
        })
        .sum::<f64>()
        / one_time.len() as f64;
    assert_within("observed", observed, 0.24, 0.005);
}

#[test]
fn days_and_weeks_are_the_same_model() {
    // In days α is 7 times α in weeks and r, a, b do not change; the
    // log-likelihood differs by the Jacobian of the time scale, −Σx·ln 7.
    let options = LtvOptions {
        time_unit: TimeUnit::Day,
        ..LtvOptions::default()
    };
    let days =
        fit_and_predict(&mut cdnow::purchases(), cdnow::calibration_end(), &options).unwrap();
    let (d, w) = (days.bgnbd.model, run().bgnbd.model);
    assert_within("r", d.r, w.r, 1e-6);
    assert_within("alpha", d.alpha / 7.0, w.alpha, 1e-5);
    assert_within("a", d.a, w.a, 1e-6);
    assert_within("b", d.b, w.b, 1e-5);
    let jacobian = -2457.0 * 7f64.ln();
    assert_within(
        "log-likelihood",
        days.bgnbd.log_likelihood,
        run().bgnbd.log_likelihood + jacobian,
        1e-6,
    );
    // Predictions over the same calendar time agree.
    for (p_days, p_weeks) in days.predictions.iter().zip(&run().predictions) {
        assert_within("p_alive", p_days.p_alive, p_weeks.p_alive, 1e-6);
        assert_within(
            "365 days",
            p_days.expected_purchases_365d,
            p_weeks.expected_purchases_365d,
            1e-5,
        );
    }
    // Spend does not depend on time.
    assert_eq!(days.gamma_gamma.model, run().gamma_gamma.model);
}

#[test]
fn predictions_are_reproducible() {
    // Same purchases in another order, on one thread: the same bits.
    let mut purchases = cdnow::purchases();
    purchases.reverse();
    let mut options = LtvOptions {
        time_unit: TimeUnit::Week,
        ..LtvOptions::default()
    };
    options.fit.threads = 1;
    let again = fit_and_predict(&mut purchases, cdnow::calibration_end(), &options).unwrap();
    let first = run();
    assert_eq!(again.bgnbd, first.bgnbd);
    assert_eq!(again.gamma_gamma, first.gamma_gamma);
    assert_eq!(again.summaries, first.summaries);
    assert_eq!(again.predictions, first.predictions);
}
