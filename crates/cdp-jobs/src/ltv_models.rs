//! The one place `cdp build` calls the LTV model mathematics of `cdp-ltv`
//! (BG/NBD and Gamma-Gamma, fitted by maximum likelihood). Everything else of
//! the `ltv` stage — the purchases query, the tables, the manifest — is in
//! `ltv.rs` and does not depend on how the models are written.

use cdp_ltv::{FitOptions, LtvOptions, Purchase, Rfm, TimeUnit};

/// One fitted parameter (a row of `ltv_model`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelParam {
    /// `bgnbd` or `gamma_gamma`.
    pub model: &'static str,
    /// `r`, `alpha`, `a`, `b` (BG/NBD); `p`, `q`, `gamma` (Gamma-Gamma).
    pub param: &'static str,
    pub value: f64,
    /// Of the model at its optimum.
    pub log_likelihood: f64,
    /// Customers the model was fitted on.
    pub customers: u64,
}

/// The models' view of one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerValue {
    pub one_key: i64,
    /// Frequency, recency, age, mean repeat spend, in the build's time unit.
    pub rfm: Rfm,
    pub p_alive: f64,
    pub expected_purchases_90d: f64,
    pub expected_purchases_365d: f64,
    pub expected_average_spend: f64,
    pub predicted_clv_365d: f64,
    /// `low`, `medium`, `high`.
    pub churn_risk: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelOutput {
    pub params: Vec<ModelParam>,
    /// Sorted by one_key.
    pub customers: Vec<CustomerValue>,
}

/// Fits both models on `purchases` (one_key, UTC day since the epoch,
/// amount) as of `as_of_day`, and predicts every customer: CLV over 365 days
/// discounted at `discount_rate` a year, month by month (cdp-ltv's
/// defaults). `threads` 0: every core; the results are the same bits
/// whatever the number.
pub fn fit_and_predict(
    purchases: &[(i64, i32, f64)],
    as_of_day: i32,
    unit: TimeUnit,
    discount_rate: f64,
    threads: usize,
) -> Result<ModelOutput, cdp_ltv::LtvError> {
    let mut purchases: Vec<Purchase> = purchases
        .iter()
        .map(|&(customer, day, amount)| Purchase {
            customer,
            day,
            amount,
        })
        .collect();
    let options = LtvOptions {
        time_unit: unit,
        annual_discount_rate: discount_rate,
        fit: FitOptions {
            threads,
            ..FitOptions::default()
        },
        ..LtvOptions::default()
    };
    let run = cdp_ltv::fit_and_predict(&mut purchases, as_of_day, &options)?;
    let rows = |model: &'static str, params: &[(&'static str, f64)], ll: f64, n: usize| {
        params
            .iter()
            .map(|&(param, value)| ModelParam {
                model,
                param,
                value,
                log_likelihood: ll,
                customers: n as u64,
            })
            .collect::<Vec<_>>()
    };
    let (bg, gg) = (&run.bgnbd, &run.gamma_gamma);
    let mut params = rows("bgnbd", &bg.params(), bg.log_likelihood, bg.customers);
    params.extend(rows(
        "gamma_gamma",
        &gg.params(),
        gg.log_likelihood,
        gg.customers,
    ));
    let customers = run
        .summaries
        .customers
        .iter()
        .zip(&run.summaries.rfm)
        .zip(&run.predictions)
        .map(|((&one_key, rfm), p)| CustomerValue {
            one_key,
            rfm: *rfm,
            p_alive: p.p_alive,
            expected_purchases_90d: p.expected_purchases_90d,
            expected_purchases_365d: p.expected_purchases_365d,
            expected_average_spend: p.expected_average_spend,
            predicted_clv_365d: p.predicted_clv,
            churn_risk: p.churn_risk.as_str(),
        })
        .collect();
    Ok(ModelOutput { params, customers })
}
