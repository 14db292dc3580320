//! Lifetime value models (BTYD): BG/NBD for purchase frequency and P(alive),
//! Gamma-Gamma for spend, fitted by maximum likelihood; no Python at run time.
//!
//! `cdp build` calls [`fit_and_predict`] (purchases → summaries → fits →
//! per-customer predictions); the steps are public on their own too:
//! [`summarise`], [`fit_bgnbd`], [`fit_gamma_gamma`], [`predict`].
//!
//! Conventions (contract §6): purchases on the same calendar day are one
//! transaction; frequency = purchase days − 1; recency = time from the first
//! to the last purchase day; age = time from the first purchase day to the
//! as-of day; all in the model's time unit (days, or days / 7 for weeks).
//! Spend for Gamma-Gamma is the mean over repeat purchase days.
//!
//! The formulas are those of Fader, Hardie & Lee (2005) as the Python
//! `lifetimes` package implements them; the crate reproduces the published
//! CDNOW figures (tests/it/cdnow_tests.rs) and lifetimes' parameters
//! (benches/ltv_vs_lifetimes.sh).

use std::fmt;
use std::str::FromStr;

mod bgnbd;
mod gamma_gamma;
pub mod optimise;
mod parallel;
mod predict;
pub mod special;
mod summary;
#[cfg(test)]
mod test_support;

pub use bgnbd::{fit_bgnbd, fit_bgnbd_with, BgNbd, BgNbdFit};
pub use gamma_gamma::{fit_gamma_gamma, fit_gamma_gamma_with, GammaGamma, GammaGammaFit};
pub use predict::{predict, ChurnBands, ChurnRisk, CustomerLtv, LtvOptions};
pub use summary::{summarise, CustomerSummaries, Purchase};

/// The unit models are fitted and predicted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Day,
    Week,
}

impl TimeUnit {
    /// Days in one unit.
    pub fn days(self) -> f64 {
        match self {
            Self::Day => 1.0,
            Self::Week => 7.0,
        }
    }

    /// `day` or `week`, as `--ltv-time-unit` and the `ltv_model` table spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TimeUnit {
    type Err = LtvError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            other => Err(LtvError::Options {
                field: "time_unit",
                reason: format!("{other:?} is neither \"day\" nor \"week\""),
            }),
        }
    }
}

/// One customer's history in BTYD form, in the model's time unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rfm {
    /// Repeat purchase days: purchase days − 1.
    pub frequency: f64,
    /// Time from the first to the last purchase day.
    pub recency: f64,
    /// Time from the first purchase day to the as-of day.
    pub age: f64,
    /// Mean spend over repeat purchase days (the first excluded); 0 when
    /// `frequency` is 0.
    pub monetary: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum LtvError {
    /// Bad input: nothing to fit, or values no customer can have.
    #[error("cannot fit {model}: {reason}")]
    Input { model: &'static str, reason: String },
    /// The optimiser found no optimum (our problem or a degenerate data set).
    #[error("{model} fit did not converge after {iterations} iterations: {reason}")]
    NoConvergence {
        model: &'static str,
        iterations: usize,
        reason: String,
    },
    /// Bad input: a purchase no summary can use (its position in the input).
    #[error("purchase {index}: {reason}")]
    Purchase { index: usize, reason: String },
    /// Bad configuration: an option no prediction can use.
    #[error("LTV option {field}: {reason}")]
    Options { field: &'static str, reason: String },
}

/// How to fit: threads and the optimiser's stopping rule.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FitOptions {
    /// Threads for the likelihood sums and predictions; 0: every core.
    /// Results are the same bits whatever the number.
    pub threads: usize,
    pub bfgs: optimise::BfgsOptions,
}

impl FitOptions {
    fn threads(&self) -> usize {
        if self.threads == 0 {
            parallel::default_threads()
        } else {
            self.threads
        }
    }
}

/// Log-parameters are searched within ±this: beyond e^25 ≈ 7·10¹⁰ the
/// likelihoods' `ln Γ` differences lose their precision. A parameter that
/// heads there means the data do not identify the model (e.g. Gamma-Gamma on
/// spends with no heterogeneity between customers sends q and γ to ∞); the
/// fit then fails, naming where it stopped.
const MAX_LOG_PARAMETER: f64 = 25.0;

fn in_domain(log_parameters: &[f64]) -> bool {
    log_parameters.iter().all(|t| t.abs() <= MAX_LOG_PARAMETER)
}

fn no_convergence(model: &'static str, names: &[&str], e: optimise::NotConverged) -> LtvError {
    let at: Vec<String> = names
        .iter()
        .zip(&e.x)
        .map(|(name, t)| format!("{name} = {:.6e}", t.exp()))
        .collect();
    LtvError::NoConvergence {
        model,
        iterations: e.iterations,
        reason: format!("{}, at {}", e.reason, at.join(", ")),
    }
}

/// Everything `cdp build` needs for the `ltv` and `ltv_model` tables.
#[derive(Debug, Clone)]
pub struct LtvRun {
    pub time_unit: TimeUnit,
    /// Customers (ascending keys) and their histories.
    pub summaries: CustomerSummaries,
    pub bgnbd: BgNbdFit,
    pub gamma_gamma: GammaGammaFit,
    /// `predictions[i]` is for `summaries.customers[i]`.
    pub predictions: Vec<CustomerLtv>,
}

/// Summarises `purchases` as of the end of `as_of_day` (days since
/// 1970-01-01), fits both models in `options.time_unit` and predicts every
/// customer. Reorders `purchases`.
pub fn fit_and_predict(
    purchases: &mut [Purchase],
    as_of_day: i32,
    options: &LtvOptions,
) -> Result<LtvRun, LtvError> {
    options.validate()?;
    let summaries = summarise(purchases, as_of_day, options.time_unit)?;
    let bgnbd = fit_bgnbd_with(&summaries.rfm, &options.fit)?;
    let gamma_gamma = fit_gamma_gamma_with(&summaries.rfm, &options.fit)?;
    let predictions = predict(&bgnbd.model, &gamma_gamma.model, &summaries.rfm, options)?;
    Ok(LtvRun {
        time_unit: options.time_unit,
        summaries,
        bgnbd,
        gamma_gamma,
        predictions,
    })
}
