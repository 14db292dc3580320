//! Per-customer predictions from the two fitted models: P(alive), expected
//! purchases in the next 90 and 365 days, expected average spend, predicted
//! CLV and a churn-risk band.
//!
//! ## Predicted CLV
//!
//! With horizon `H` days cut into `K` equal steps, `t_k = k·H/K` days, an
//! annual discount rate `d`, the Gamma-Gamma expected average spend `S` and
//! the BG/NBD conditional expected purchases `E(t)` in the next `t` days:
//!
//! ```text
//! CLV = S · Σ_{k=1..K} [E(t_k) − E(t_{k−1})] / (1 + d)^(t_k / 365)
//! ```
//!
//! — the purchases expected in each step, valued at the expected spend and
//! discounted from the step's end. This is lifetimes'
//! `customer_lifetime_value` generalised: its `time=M` months,
//! `discount_rate=d_m` (monthly), `freq="D"` is `H = 30·M`, `K = M` and
//! `(1 + d)^(30/365) = 1 + d_m`. The defaults (365 days, 12 steps, 10 % a
//! year) value the next year month by month.
//!
//! The work is dominated by the hypergeometric series in `E(t)`, which
//! depends on a customer's frequency and age only: it is computed once per
//! distinct (frequency, age) pair and horizon, and shared by every customer
//! with that pair.

use rustc_hash::FxHashMap;

use crate::bgnbd::{AlivePurchases, BgNbd};
use crate::gamma_gamma::GammaGamma;
use crate::parallel::for_each_chunk;
use crate::{FitOptions, LtvError, Rfm, TimeUnit};

/// Days in the year the discount rate is for.
const DAYS_PER_YEAR: f64 = 365.0;

/// How risky a customer's churn is, from P(alive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChurnRisk {
    Low,
    Medium,
    High,
}

impl ChurnRisk {
    /// `low`, `medium` or `high`: the `churn_risk` column's values.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// P(alive) thresholds of the churn-risk bands: below `high_below` is high
/// risk, below `medium_below` medium, the rest low. Note that BG/NBD holds a
/// customer without repeat purchases alive (P(alive) = 1), so one-time
/// buyers are always low risk here, however long ago they bought.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChurnBands {
    pub high_below: f64,
    pub medium_below: f64,
}

impl Default for ChurnBands {
    fn default() -> Self {
        Self {
            high_below: 0.3,
            medium_below: 0.7,
        }
    }
}

impl ChurnBands {
    pub fn band(&self, p_alive: f64) -> ChurnRisk {
        if p_alive < self.high_below {
            ChurnRisk::High
        } else if p_alive < self.medium_below {
            ChurnRisk::Medium
        } else {
            ChurnRisk::Low
        }
    }
}

/// What to predict and how; `Default` is the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LtvOptions {
    /// The unit the models are fitted in (`--ltv-time-unit`).
    pub time_unit: TimeUnit,
    /// CLV horizon in days.
    pub clv_horizon_days: f64,
    /// Discounting steps over the horizon (12: monthly over a year).
    pub clv_steps: u32,
    /// Annual discount rate, e.g. 0.1 for 10 %.
    pub annual_discount_rate: f64,
    pub churn_bands: ChurnBands,
    pub fit: FitOptions,
}

impl Default for LtvOptions {
    fn default() -> Self {
        Self {
            time_unit: TimeUnit::Day,
            clv_horizon_days: 365.0,
            clv_steps: 12,
            annual_discount_rate: 0.1,
            churn_bands: ChurnBands::default(),
            fit: FitOptions::default(),
        }
    }
}

impl LtvOptions {
    /// Refuses options no prediction can use, naming the field.
    pub fn validate(&self) -> Result<(), LtvError> {
        let refuse = |field: &'static str, reason: String| Err(LtvError::Options { field, reason });
        if !(self.clv_horizon_days > 0.0 && self.clv_horizon_days.is_finite()) {
            return refuse(
                "clv_horizon_days",
                format!("{} is not a positive number of days", self.clv_horizon_days),
            );
        }
        if self.clv_steps == 0 {
            return refuse("clv_steps", "must be at least 1".into());
        }
        if !(self.annual_discount_rate > -1.0 && self.annual_discount_rate.is_finite()) {
            return refuse(
                "annual_discount_rate",
                format!(
                    "{} must be a finite rate above −1",
                    self.annual_discount_rate
                ),
            );
        }
        let bands = self.churn_bands;
        if !(0.0..=1.0).contains(&bands.high_below)
            || !(0.0..=1.0).contains(&bands.medium_below)
            || bands.high_below > bands.medium_below
        {
            return refuse(
                "churn_bands",
                format!(
                    "need 0 ≤ high_below ({}) ≤ medium_below ({}) ≤ 1",
                    bands.high_below, bands.medium_below
                ),
            );
        }
        Ok(())
    }
}

/// One customer's predictions. Purchases are repeat purchases (days with a
/// purchase), spend is per purchase day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerLtv {
    pub p_alive: f64,
    pub expected_purchases_90d: f64,
    pub expected_purchases_365d: f64,
    pub expected_average_spend: f64,
    /// Discounted value of the purchases expected over the CLV horizon.
    pub predicted_clv: f64,
    pub churn_risk: ChurnRisk,
}

/// The horizons (in model units) every customer is evaluated at, deduplicated.
struct Horizons {
    units: Vec<f64>,
    /// Indices into `units` of 90 days, 365 days and the CLV steps' ends.
    day_90: usize,
    day_365: usize,
    steps: Vec<usize>,
    /// Discount factor of each CLV step.
    discounts: Vec<f64>,
}

impl Horizons {
    fn new(options: &LtvOptions) -> Self {
        let unit_days = options.time_unit.days();
        let mut units: Vec<f64> = Vec::new();
        let mut index = |days: f64| {
            let t = days / unit_days;
            match units.iter().position(|u| *u == t) {
                Some(i) => i,
                None => {
                    units.push(t);
                    units.len() - 1
                }
            }
        };
        let day_90 = index(90.0);
        let day_365 = index(365.0);
        let steps = options.clv_steps;
        let step_days: Vec<f64> = (1..=steps)
            .map(|k| options.clv_horizon_days * f64::from(k) / f64::from(steps))
            .collect();
        let steps_at = step_days.iter().map(|d| index(*d)).collect();
        let discounts = step_days
            .iter()
            .map(|d| (1.0 + options.annual_discount_rate).powf(-d / DAYS_PER_YEAR))
            .collect();
        Self {
            units,
            day_90,
            day_365,
            steps: steps_at,
            discounts,
        }
    }
}

/// What customers with one (frequency, age) share: purchases expected if
/// alive in 90 and 365 days, and the discounted purchases of the CLV horizon.
#[derive(Debug, Clone, Copy, Default)]
struct Shared {
    x: f64,
    age: f64,
    purchases_90d: f64,
    purchases_365d: f64,
    discounted_purchases: f64,
}

/// Predictions for `customers` from fitted models (parameters in
/// `options.time_unit`).
pub fn predict(
    bgnbd: &BgNbd,
    gamma_gamma: &GammaGamma,
    customers: &[Rfm],
    options: &LtvOptions,
) -> Result<Vec<CustomerLtv>, LtvError> {
    options.validate()?;
    let horizons = Horizons::new(options);
    let threads = options.fit.threads();

    // Distinct (frequency, age) pairs, ascending by frequency so that each
    // thread builds one hypergeometric series per frequency.
    let mut group_of = Vec::with_capacity(customers.len());
    let mut groups: FxHashMap<(u64, u64), u32> = FxHashMap::default();
    let mut shared: Vec<Shared> = Vec::new();
    for c in customers {
        let key = ((c.frequency + 0.0).to_bits(), (c.age + 0.0).to_bits());
        let next = shared.len() as u32;
        let group = *groups.entry(key).or_insert_with(|| {
            shared.push(Shared {
                x: c.frequency,
                age: c.age,
                ..Shared::default()
            });
            next
        });
        group_of.push(group);
    }
    let mut order: Vec<u32> = (0..shared.len() as u32).collect();
    order.sort_unstable_by(|&i, &j| {
        let (a, b) = (&shared[i as usize], &shared[j as usize]);
        a.x.total_cmp(&b.x).then(a.age.total_cmp(&b.age))
    });
    let mut sorted: Vec<Shared> = order.iter().map(|&i| shared[i as usize]).collect();
    for_each_chunk(&mut sorted, threads, |_, chunk| {
        let mut alive: Option<(f64, AlivePurchases)> = None;
        let mut at = vec![0.0; horizons.units.len()];
        for group in chunk {
            let series = match &mut alive {
                Some((x, series)) if *x == group.x => series,
                _ => {
                    &mut alive
                        .insert((group.x, AlivePurchases::new(bgnbd, group.x)))
                        .1
                }
            };
            for (value, t) in at.iter_mut().zip(&horizons.units) {
                *value = series.expected(group.age, *t);
            }
            group.purchases_90d = at[horizons.day_90];
            group.purchases_365d = at[horizons.day_365];
            let mut before = 0.0;
            group.discounted_purchases = horizons
                .steps
                .iter()
                .zip(&horizons.discounts)
                .map(|(&i, discount)| {
                    let step = at[i] - before;
                    before = at[i];
                    step * discount
                })
                .sum();
        }
    });
    for (position, &group) in order.iter().enumerate() {
        shared[group as usize] = sorted[position];
    }

    let mut out = vec![
        CustomerLtv {
            p_alive: 0.0,
            expected_purchases_90d: 0.0,
            expected_purchases_365d: 0.0,
            expected_average_spend: 0.0,
            predicted_clv: 0.0,
            churn_risk: ChurnRisk::Low,
        };
        customers.len()
    ];
    for_each_chunk(&mut out, threads, |offset, chunk| {
        for (i, prediction) in (offset..).zip(chunk.iter_mut()) {
            let c = &customers[i];
            let g = &shared[group_of[i] as usize];
            let p_alive = bgnbd.p_alive(c);
            let spend = gamma_gamma.expected_average_spend(c);
            *prediction = CustomerLtv {
                p_alive,
                expected_purchases_90d: p_alive * g.purchases_90d,
                expected_purchases_365d: p_alive * g.purchases_365d,
                expected_average_spend: spend,
                predicted_clv: spend * p_alive * g.discounted_purchases,
                churn_risk: options.churn_bands.band(p_alive),
            };
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BG: BgNbd = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };
    const GG: GammaGamma = GammaGamma {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };

    fn customer(frequency: f64, recency: f64, age: f64, monetary: f64) -> Rfm {
        Rfm {
            frequency,
            recency,
            age,
            monetary,
        }
    }

    #[test]
    fn predictions_match_the_models_one_customer_at_a_time() {
        let options = LtvOptions {
            time_unit: TimeUnit::Week,
            ..LtvOptions::default()
        };
        let customers = [
            customer(2.0, 30.43, 38.86, 30.0),
            customer(0.0, 0.0, 38.86, 0.0),
            customer(2.0, 10.0, 38.86, 12.0),
            customer(9.0, 35.0, 36.0, 50.0),
        ];
        let got = predict(&BG, &GG, &customers, &options).unwrap();
        for (c, p) in customers.iter().zip(&got) {
            assert_eq!(p.p_alive, BG.p_alive(c));
            let e90 = BG.expected_purchases(90.0 / 7.0, c);
            let e365 = BG.expected_purchases(365.0 / 7.0, c);
            assert!((p.expected_purchases_90d - e90).abs() < 1e-14, "{p:?}");
            assert!((p.expected_purchases_365d - e365).abs() < 1e-14, "{p:?}");
            assert_eq!(p.expected_average_spend, GG.expected_average_spend(c));
            // CLV by its definition, one step at a time.
            let mut clv = 0.0;
            for k in 1..=12 {
                let (t0, t1) = (365.0 * (k - 1) as f64 / 12.0, 365.0 * k as f64 / 12.0);
                let step = BG.expected_purchases(t1 / 7.0, c) - BG.expected_purchases(t0 / 7.0, c);
                clv += GG.expected_average_spend(c) * step / 1.1f64.powf(t1 / 365.0);
            }
            assert!(
                (p.predicted_clv - clv).abs() < 1e-12 * clv,
                "{} vs {clv}",
                p.predicted_clv
            );
        }
        assert_eq!(got[1].p_alive, 1.0);
        assert_eq!(got[1].churn_risk, ChurnRisk::Low);
    }

    #[test]
    fn clv_without_discount_is_spend_times_purchases() {
        let options = LtvOptions {
            annual_discount_rate: 0.0,
            ..LtvOptions::default()
        };
        let c = [customer(3.0, 200.0, 300.0, 40.0)];
        let bg_days = BgNbd {
            alpha: BG.alpha * 7.0,
            ..BG
        };
        let p = predict(&bg_days, &GG, &c, &options).unwrap()[0];
        let want = p.expected_average_spend * p.expected_purchases_365d;
        assert!(
            (p.predicted_clv - want).abs() < 1e-12 * want,
            "{} vs {want}",
            p.predicted_clv
        );
        // Discounting lowers it.
        let discounted = predict(&bg_days, &GG, &c, &LtvOptions::default()).unwrap()[0];
        assert!(discounted.predicted_clv < p.predicted_clv);
    }

    #[test]
    fn churn_bands_follow_the_thresholds() {
        let bands = ChurnBands::default();
        assert_eq!(bands.band(0.29), ChurnRisk::High);
        assert_eq!(bands.band(0.3), ChurnRisk::Medium);
        assert_eq!(bands.band(0.69), ChurnRisk::Medium);
        assert_eq!(bands.band(0.7), ChurnRisk::Low);
        assert_eq!(bands.band(1.0), ChurnRisk::Low);
    }

    #[test]
    fn invalid_options_are_refused_by_name() {
        for (options, field) in [
            (
                LtvOptions {
                    clv_horizon_days: 0.0,
                    ..LtvOptions::default()
                },
                "clv_horizon_days",
            ),
            (
                LtvOptions {
                    clv_steps: 0,
                    ..LtvOptions::default()
                },
                "clv_steps",
            ),
            (
                LtvOptions {
                    annual_discount_rate: f64::NAN,
                    ..LtvOptions::default()
                },
                "annual_discount_rate",
            ),
            (
                LtvOptions {
                    churn_bands: ChurnBands {
                        high_below: 0.8,
                        medium_below: 0.5,
                    },
                    ..LtvOptions::default()
                },
                "churn_bands",
            ),
        ] {
            match predict(&BG, &GG, &[], &options) {
                Err(LtvError::Options { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
