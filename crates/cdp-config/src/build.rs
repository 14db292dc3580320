//! `[build]`: settings of `cdp build` (profiles, tags, LTV) — the thresholds
//! of the built-in tag groups, the LTV discount rate, output and engine
//! sizes.

use serde::Deserialize;

use crate::error::{ConfigError, Result};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuildConfig {
    /// Lifecycle: a customer whose last order is more than this many days
    /// before the as-of day is `dormant`.
    pub dormant_after_days: u32,
    /// … and `churned` past this many days (more than `dormant_after_days`).
    pub churned_after_days: u32,
    /// RFM cut-offs; absent: the median customer's value at build time.
    pub rfm_recency_days: Option<f64>,
    pub rfm_frequency_orders: Option<f64>,
    pub rfm_monetary_yuan: Option<f64>,
    /// Value tier thresholds on net revenue (yuan); absent: the values that
    /// put the top `value_tier_a_share` of customers in A and the next
    /// `value_tier_b_share` in B.
    pub value_tier_a_min_yuan: Option<f64>,
    pub value_tier_b_min_yuan: Option<f64>,
    pub value_tier_a_share: f64,
    pub value_tier_b_share: f64,
    /// Annual discount rate of the predicted CLV (0.1 = 10% a year).
    pub ltv_discount_rate: f64,
    /// Rows per output Parquet file.
    pub max_rows_per_file: usize,
    /// Threads of the query engine; absent: every core.
    pub threads: Option<usize>,
}

impl Default for BuildConfig {
    fn default() -> Self {
        Self {
            dormant_after_days: 90,
            churned_after_days: 180,
            rfm_recency_days: None,
            rfm_frequency_orders: None,
            rfm_monetary_yuan: None,
            value_tier_a_min_yuan: None,
            value_tier_b_min_yuan: None,
            value_tier_a_share: 0.2,
            value_tier_b_share: 0.3,
            ltv_discount_rate: 0.1,
            max_rows_per_file: 1_000_000,
            threads: None,
        }
    }
}

/// The `{placeholders}` tag rules may use; `cdp build` fills them in.
pub const TAG_PLACEHOLDERS: [&str; 7] = [
    "dormant_after_days",
    "churned_after_days",
    "rfm_recency_days",
    "rfm_frequency_orders",
    "rfm_monetary_yuan",
    "value_tier_a_min_yuan",
    "value_tier_b_min_yuan",
];

impl BuildConfig {
    pub fn validate(&self) -> Result<()> {
        let bad =
            |field: &str, reason: &str| Err(ConfigError::field(format!("build.{field}"), reason));
        if self.churned_after_days <= self.dormant_after_days {
            return bad(
                "churned_after_days",
                "must be greater than build.dormant_after_days",
            );
        }
        let finite = [
            ("rfm_recency_days", self.rfm_recency_days),
            ("rfm_frequency_orders", self.rfm_frequency_orders),
            ("rfm_monetary_yuan", self.rfm_monetary_yuan),
            ("value_tier_a_min_yuan", self.value_tier_a_min_yuan),
            ("value_tier_b_min_yuan", self.value_tier_b_min_yuan),
        ];
        for (field, value) in finite {
            if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
                return bad(field, "must be a finite number >= 0");
            }
        }
        if let (Some(a), Some(b)) = (self.value_tier_a_min_yuan, self.value_tier_b_min_yuan) {
            if a < b {
                return bad(
                    "value_tier_a_min_yuan",
                    "must be at least build.value_tier_b_min_yuan",
                );
            }
        }
        let shares_ok = |s: f64| s.is_finite() && s > 0.0 && s < 1.0;
        if !shares_ok(self.value_tier_a_share) {
            return bad("value_tier_a_share", "must be between 0 and 1 (exclusive)");
        }
        if !shares_ok(self.value_tier_b_share)
            || self.value_tier_a_share + self.value_tier_b_share > 1.0
        {
            return bad(
                "value_tier_b_share",
                "must be between 0 and 1, and value_tier_a_share + value_tier_b_share <= 1",
            );
        }
        if !(self.ltv_discount_rate.is_finite() && (0.0..10.0).contains(&self.ltv_discount_rate)) {
            return bad(
                "ltv_discount_rate",
                "must be an annual rate >= 0 and < 10 (0.1 = 10% a year)",
            );
        }
        if self.max_rows_per_file == 0 {
            return bad("max_rows_per_file", "must be > 0");
        }
        if self.threads == Some(0) {
            return bad("threads", "must be > 0");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        BuildConfig::default().validate().unwrap();
    }

    #[test]
    fn churn_before_dormancy_is_refused_by_name() {
        let c = BuildConfig {
            churned_after_days: 30,
            ..Default::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("build.churned_after_days"), "{err}");
    }

    #[test]
    fn tier_shares_above_one_are_refused() {
        let c = BuildConfig {
            value_tier_a_share: 0.6,
            value_tier_b_share: 0.5,
            ..Default::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("build.value_tier_b_share"), "{err}");
    }
}
