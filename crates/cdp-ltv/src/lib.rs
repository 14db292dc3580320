//! Lifetime value models (BTYD): BG/NBD for purchase frequency and P(alive),
//! Gamma-Gamma for spend, fitted by maximum likelihood; no Python at run time.
//!
//! The interface below is what `cdp build` calls; its bodies are being
//! written (issue: profiles, tags and LTV).
//!
//! Conventions (contract §6): purchases on the same calendar day are one
//! transaction; frequency = purchase days − 1; recency = time from the first
//! to the last purchase day; age = time from the first purchase day to the
//! as-of day; all in the model's time unit (days, or days / 7 for weeks).
//! Spend for Gamma-Gamma is the mean over repeat purchase days.

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
}
