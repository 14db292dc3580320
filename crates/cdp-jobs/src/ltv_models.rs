//! The one place `cdp build` calls the LTV model mathematics of `cdp-ltv`
//! (BG/NBD and Gamma-Gamma). Everything else of the `ltv` stage — the
//! purchases query, the tables, the manifest — is in `ltv.rs` and does not
//! depend on how the models are written.
//!
//! `cdp-ltv` on main has only its interface (`TimeUnit`, `Rfm`, `LtvError`);
//! its functions are being written. Until they land, [`fit_and_predict`]
//! returns [`ModelsUnavailable`] and `cdp build` says so (or skips the ltv
//! tables with `--skip-ltv`). Wiring them is the body of [`fit_and_predict`]:
//!
//! ```text
//! let rfm = cdp_ltv::summarise(purchases, as_of_day, unit);          // Vec<(i64, Rfm)>
//! let bgnbd = cdp_ltv::fit_bgnbd(&rfm)?;                             // r, alpha, a, b, log-likelihood
//! let gg = cdp_ltv::fit_gamma_gamma(&repeaters)?;                    // p, q, gamma, log-likelihood
//! per customer: p_alive, expected purchases in 90 / 365 days
//!   (t = days / unit.days()), expected average spend, CLV over 365 days
//!   at `discount_rate` a year, churn band
//! ```

use cdp_ltv::{Rfm, TimeUnit};

/// Whether [`fit_and_predict`] computes anything yet: `cdp demo` skips the
/// LTV tables while it does not; a test switches to checking values when it does.
pub const AVAILABLE: bool = false;

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
    pub churn_risk: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelOutput {
    pub params: Vec<ModelParam>,
    /// Sorted by one_key.
    pub customers: Vec<CustomerValue>,
}

/// Why no model output came out.
#[derive(Debug, thiserror::Error)]
pub enum ModelsUnavailable {
    #[error(
        "LTV models not available yet: crate cdp-ltv has only its interface on main \
         (fit_bgnbd, fit_gamma_gamma and the predictions are being written); \
         run `cdp build --skip-ltv` for profiles and tags"
    )]
    NotYet,
    #[error(transparent)]
    Fit(#[from] cdp_ltv::LtvError),
}

/// Fits both models on `purchases` (one_key, UTC day since the epoch,
/// amount; sorted) as of `as_of_day`, and predicts every customer.
pub fn fit_and_predict(
    purchases: &[(i64, i32, f64)],
    as_of_day: i32,
    unit: TimeUnit,
    discount_rate: f64,
) -> Result<ModelOutput, ModelsUnavailable> {
    let _ = (purchases, as_of_day, unit, discount_rate);
    Err(ModelsUnavailable::NotYet)
}
