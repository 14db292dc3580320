//! The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV";
//! Fader & Hardie's note 025): a customer's transaction values are
//! Gamma(p, ν), with ν ~ Gamma(q, γ) across customers; fitted on the repeat
//! buyers' mean repeat spend, as lifetimes' `GammaGammaFitter` does.

use crate::optimise::minimise_bfgs;
use crate::parallel::sum_blocks;
use crate::special::{digamma, ln_gamma};
use crate::{FitOptions, LtvError, Rfm};

const MODEL: &str = "Gamma-Gamma";

/// Gamma-Gamma parameters (lifetimes calls `gamma` `v`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

/// A fitted Gamma-Gamma model.
#[derive(Debug, Clone, PartialEq)]
pub struct GammaGammaFit {
    pub model: GammaGamma,
    /// Log-likelihood of the fitted customers at the optimum (note 025's
    /// equation (1a), summed).
    pub log_likelihood: f64,
    /// Customers fitted: repeat buyers with a positive mean repeat spend.
    pub customers: usize,
    /// Repeat buyers left out because their mean repeat spend is not
    /// positive (refunds can make a day's net spend zero or negative).
    pub excluded: usize,
    /// BFGS iterations.
    pub iterations: usize,
}

impl GammaGammaFit {
    /// The parameters as `(name, value)` rows for the `ltv_model` table.
    pub fn params(&self) -> [(&'static str, f64); 3] {
        let m = &self.model;
        [("p", m.p), ("q", m.q), ("gamma", m.gamma)]
    }
}

impl GammaGamma {
    /// Mean transaction value of the population, `pγ/(q−1)`; infinite or
    /// negative when `q ≤ 1` (the model then has no finite mean).
    pub fn population_mean_spend(&self) -> f64 {
        self.p * self.gamma / (self.q - 1.0)
    }

    /// Expected mean transaction value of a customer with this history (note
    /// 025 equation (5)): a weighted mean of the population's and the
    /// customer's, the customer weighing more the more repeat purchases they
    /// made. Without repeat purchases it is the population mean.
    pub fn expected_average_spend(&self, customer: &Rfm) -> f64 {
        let px = self.p * customer.frequency;
        let weight = px / (px + self.q - 1.0);
        (1.0 - weight) * self.population_mean_spend() + weight * customer.monetary
    }

    /// Log-likelihood of the repeat buyers among `customers` (those with a
    /// positive mean spend).
    pub fn log_likelihood(&self, customers: &[Rfm]) -> Result<f64, LtvError> {
        let data = Spends::new(customers)?;
        let theta = [self.p, self.q, self.gamma].map(f64::ln);
        let mut gradient = [0.0; 3];
        Ok(-data.negative_mean_log_likelihood(&theta, &mut gradient, 1) * data.customers)
    }
}

/// Fits Gamma-Gamma to the repeat buyers among `customers` (frequency > 0,
/// positive monetary), on every core.
pub fn fit_gamma_gamma(customers: &[Rfm]) -> Result<GammaGammaFit, LtvError> {
    fit_gamma_gamma_with(customers, &FitOptions::default())
}

/// [`fit_gamma_gamma`] with explicit threads and stopping rule.
pub fn fit_gamma_gamma_with(
    customers: &[Rfm],
    options: &FitOptions,
) -> Result<GammaGammaFit, LtvError> {
    let data = Spends::new(customers)?;
    let threads = options.threads();
    let mut objective = |theta: &[f64], gradient: &mut [f64]| {
        let mut g = [0.0; 3];
        let value = data.negative_mean_log_likelihood(theta, &mut g, threads);
        gradient.copy_from_slice(&g);
        value
    };
    let minimum = minimise_bfgs(&mut objective, &data.start(), &options.bfgs)
        .map_err(|e| crate::no_convergence(MODEL, &["p", "q", "gamma"], e))?;
    let [p, q, gamma] = [0, 1, 2].map(|i| minimum.x[i].exp());
    Ok(GammaGammaFit {
        model: GammaGamma { p, q, gamma },
        log_likelihood: -minimum.value * data.customers,
        customers: data.customers as usize,
        excluded: data.excluded,
        iterations: minimum.iterations,
    })
}

/// One repeat buyer: x and x·m.
#[derive(Debug, Clone, Copy)]
struct Spend {
    x: f64,
    total: f64,
}

struct Spends {
    /// Distinct frequencies, ascending, with the buyers having each and the
    /// sum of their ln m.
    xs: Vec<f64>,
    x_customers: Vec<f64>,
    x_sum_ln_m: Vec<f64>,
    rows: Vec<Spend>,
    customers: f64,
    excluded: usize,
    mean_spend: f64,
}

impl Spends {
    fn new(customers: &[Rfm]) -> Result<Self, LtvError> {
        let refuse = |reason: String| {
            Err(LtvError::Input {
                model: MODEL,
                reason,
            })
        };
        let mut excluded = 0;
        let mut rows = Vec::new();
        for (i, c) in customers.iter().enumerate() {
            if !(c.frequency >= 0.0 && c.monetary.is_finite()) {
                return refuse(format!(
                    "customer {i} has frequency {} and mean spend {}",
                    c.frequency, c.monetary
                ));
            }
            if c.frequency > 0.0 {
                if c.monetary > 0.0 {
                    rows.push(Spend {
                        x: c.frequency,
                        total: c.frequency * c.monetary,
                    });
                } else {
                    excluded += 1;
                }
            }
        }
        if rows.is_empty() {
            return refuse(format!(
                "no repeat buyer with a positive mean spend among {} customers",
                customers.len()
            ));
        }
        let mut xs: Vec<f64> = rows.iter().map(|s| s.x).collect();
        xs.sort_unstable_by(f64::total_cmp);
        xs.dedup();
        let mut x_customers = vec![0.0; xs.len()];
        let mut x_sum_ln_m = vec![0.0; xs.len()];
        for s in &rows {
            let i = xs
                .binary_search_by(|v| v.total_cmp(&s.x))
                .expect("x is in its table");
            x_customers[i] += 1.0;
            x_sum_ln_m[i] += (s.total / s.x).ln();
        }
        let n = rows.len() as f64;
        Ok(Self {
            mean_spend: rows.iter().map(|s| s.total / s.x).sum::<f64>() / n,
            xs,
            x_customers,
            x_sum_ln_m,
            rows,
            customers: n,
            excluded,
        })
    }

    /// Log-parameters to start from: p = 1, q = 2 and γ making the
    /// population mean pγ/(q−1) the observed mean spend.
    fn start(&self) -> [f64; 3] {
        [1.0, 2.0, self.mean_spend].map(f64::ln)
    }

    /// −(log-likelihood)/buyers at log-parameters `theta` (ln p, ln q, ln γ),
    /// and its gradient with respect to `theta`.
    fn negative_mean_log_likelihood(
        &self,
        theta: &[f64],
        gradient: &mut [f64; 3],
        threads: usize,
    ) -> f64 {
        if !crate::in_domain(theta) {
            return f64::INFINITY;
        }
        let [p, q, v] = [0, 1, 2].map(|i| theta[i].exp());
        let (ln_gamma_q, digamma_q, ln_v) = (ln_gamma(q), digamma(q), v.ln());
        // Per x: lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln v + px ln x + (px−1) Σ ln m.
        let mut ll = 0.0;
        let mut d = [0.0; 3]; // ∂ll/∂(p, q, v)
        for ((&x, &w), &sum_ln_m) in self.xs.iter().zip(&self.x_customers).zip(&self.x_sum_ln_m) {
            let px = p * x;
            let (digamma_pxq, ln_x) = (digamma(px + q), x.ln());
            ll += w * (ln_gamma(px + q) - ln_gamma(px) - ln_gamma_q + q * ln_v + px * ln_x)
                + (px - 1.0) * sum_ln_m;
            d[0] += w * x * (digamma_pxq - digamma(px) + ln_x) + x * sum_ln_m;
            d[1] += w * (digamma_pxq - digamma_q + ln_v);
            d[2] += w * q / v;
        }
        // Per buyer: −(px+q) ln(xm + v).
        let [sum_x_ln, sum_ln, sum_share] = sum_blocks(&self.rows, threads, |rows| {
            let mut s = [0.0; 3];
            for row in rows {
                let denominator = row.total + v;
                let l = denominator.ln();
                s[0] += row.x * l;
                s[1] += l;
                s[2] += (p * row.x + q) / denominator;
            }
            s
        });
        ll -= p * sum_x_ln + q * sum_ln;
        d[0] -= sum_x_ln;
        d[1] -= sum_ln;
        d[2] -= sum_share;
        for (i, theta) in [p, q, v].into_iter().enumerate() {
            gradient[i] = -theta * d[i] / self.customers;
        }
        -ll / self.customers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::assert_gradient_matches_finite_differences;

    fn buyers() -> Vec<Rfm> {
        (0..200)
            .map(|i| Rfm {
                frequency: (i % 6) as f64,
                recency: 0.0,
                age: 0.0,
                monetary: if i % 6 == 0 {
                    0.0
                } else {
                    3.0 * ((i * 37 % 41) as f64 / 10.0).exp()
                },
            })
            .collect()
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let data = Spends::new(&buyers()).unwrap();
        for theta in [[1.8, 1.3, 2.7], [0.0, 0.5, 1.0], [-1.0, 3.0, 4.0]] {
            assert_gradient_matches_finite_differences(
                |theta, gradient| data.negative_mean_log_likelihood(theta, gradient, 1),
                theta,
            );
        }
    }

    #[test]
    fn likelihood_matches_the_per_buyer_formula() {
        let m = GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let naive: f64 = buyers()
            .iter()
            .filter(|c| c.frequency > 0.0)
            .map(|c| {
                let (x, mm, px) = (c.frequency, c.monetary, m.p * c.frequency);
                ln_gamma(px + m.q) - ln_gamma(px) - ln_gamma(m.q)
                    + m.q * m.gamma.ln()
                    + (px - 1.0) * mm.ln()
                    + px * x.ln()
                    - (px + m.q) * (x * mm + m.gamma).ln()
            })
            .sum();
        let ours = m.log_likelihood(&buyers()).unwrap();
        assert!(
            (ours - naive).abs() < 1e-10 * naive.abs(),
            "{ours} vs {naive}"
        );
    }

    #[test]
    fn non_repeaters_get_the_population_mean() {
        let m = GammaGamma {
            p: 6.0,
            q: 4.0,
            gamma: 15.0,
        };
        let none = Rfm {
            frequency: 0.0,
            recency: 0.0,
            age: 3.0,
            monetary: 0.0,
        };
        assert_eq!(m.expected_average_spend(&none), 30.0);
        // Many repeat purchases: close to the customer's own mean.
        let loyal = Rfm {
            frequency: 1000.0,
            monetary: 50.0,
            ..none
        };
        assert!((m.expected_average_spend(&loyal) - 50.0).abs() < 0.01);
    }

    #[test]
    fn spends_without_heterogeneity_between_buyers_do_not_converge() {
        // Here the likelihood grows as q, γ → ∞ (every buyer the same ν):
        // an error that says where it stopped, not made-up parameters.
        let homogeneous: Vec<Rfm> = buyers()
            .into_iter()
            .enumerate()
            .map(|(i, c)| Rfm {
                monetary: if c.frequency > 0.0 {
                    5.0 + (i * 37 % 41) as f64
                } else {
                    0.0
                },
                ..c
            })
            .collect();
        match fit_gamma_gamma(&homogeneous) {
            Err(LtvError::NoConvergence { reason, .. }) => {
                assert!(reason.contains("q = "), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn counts_excluded_buyers_and_refuses_when_none_is_left() {
        let fit = fit_gamma_gamma(&buyers()).unwrap();
        assert_eq!(fit.excluded, 0);
        assert_eq!(
            fit.customers,
            buyers().iter().filter(|c| c.frequency > 0.0).count()
        );
        let mut with_refunds = buyers();
        with_refunds[1].monetary = -3.0;
        with_refunds[2].monetary = 0.0;
        let fit = fit_gamma_gamma(&with_refunds).unwrap();
        assert_eq!(fit.excluded, 2);
        let only_first_purchases: Vec<Rfm> = buyers()
            .into_iter()
            .filter(|c| c.frequency == 0.0)
            .collect();
        assert!(matches!(
            fit_gamma_gamma(&only_first_purchases).unwrap_err(),
            LtvError::Input { .. }
        ));
    }
}
