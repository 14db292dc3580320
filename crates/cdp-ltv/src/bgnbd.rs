//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the
//! easy way"): while alive a customer buys at a Poisson rate λ ~ Gamma(r, α);
//! after each purchase they drop out with probability p ~ Beta(a, b).
//!
//! The fit maximises the likelihood of FHL's equation (6) (as lifetimes'
//! `BetaGeoFitter` writes it) over log-parameters by BFGS with analytic
//! gradients. Customers with the same (x, t_x, T) are counted once with a
//! weight, and ln(α+T), ln(α+t_x) and every term that depends on x alone are
//! computed once per distinct value per evaluation, so the per-row work is
//! one `exp` and one `ln_1p`.

use crate::optimise::minimise_bfgs;
use crate::parallel::sum_blocks;
use crate::special::{digamma, ln_gamma, Hyp2f1Series};
use crate::{FitOptions, LtvError, Rfm};

const MODEL: &str = "BG/NBD";

/// BG/NBD parameters; `alpha` is in the time unit the model was fitted in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// A fitted BG/NBD model.
#[derive(Debug, Clone, PartialEq)]
pub struct BgNbdFit {
    pub model: BgNbd,
    /// Log-likelihood of the customers at the optimum (FHL's, without the
    /// constant that does not depend on the parameters).
    pub log_likelihood: f64,
    /// Customers fitted.
    pub customers: usize,
    /// BFGS iterations.
    pub iterations: usize,
}

impl BgNbdFit {
    /// The parameters as `(name, value)` rows for the `ltv_model` table.
    pub fn params(&self) -> [(&'static str, f64); 4] {
        let m = &self.model;
        [("r", m.r), ("alpha", m.alpha), ("a", m.a), ("b", m.b)]
    }
}

/// Fits BG/NBD to `customers` by maximum likelihood, on every core.
pub fn fit_bgnbd(customers: &[Rfm]) -> Result<BgNbdFit, LtvError> {
    fit_bgnbd_with(customers, &FitOptions::default())
}

/// [`fit_bgnbd`] with explicit threads and stopping rule.
pub fn fit_bgnbd_with(customers: &[Rfm], options: &FitOptions) -> Result<BgNbdFit, LtvError> {
    let data = Histories::new(customers)?;
    let threads = options.threads();
    let mut objective = |theta: &[f64], gradient: &mut [f64]| {
        let mut g = [0.0; 4];
        let value = data.negative_mean_log_likelihood(theta, &mut g, threads);
        gradient.copy_from_slice(&g);
        value
    };
    let minimum = minimise_bfgs(&mut objective, &data.start(), &options.bfgs)
        .map_err(|e| crate::no_convergence(MODEL, &["r", "alpha", "a", "b"], e))?;
    let [r, alpha, a, b] = [0, 1, 2, 3].map(|i| minimum.x[i].exp());
    Ok(BgNbdFit {
        model: BgNbd { r, alpha, a, b },
        log_likelihood: -minimum.value * data.customers,
        customers: customers.len(),
        iterations: minimum.iterations,
    })
}

fn check(customers: &[Rfm]) -> Result<(), LtvError> {
    let refuse = |reason: String| {
        Err(LtvError::Input {
            model: MODEL,
            reason,
        })
    };
    if customers.is_empty() {
        return refuse("no customers".into());
    }
    for (i, c) in customers.iter().enumerate() {
        let valid = c.frequency >= 0.0
            && c.frequency.fract() == 0.0
            && c.age.is_finite()
            && c.recency >= 0.0
            && c.recency <= c.age
            && (c.frequency > 0.0 || c.recency == 0.0);
        if !valid {
            return refuse(format!(
                "customer {i} has frequency {}, recency {}, age {}: frequency must be a whole number ≥ 0, 0 ≤ recency ≤ age, and recency 0 without repeat purchases",
                c.frequency, c.recency, c.age
            ));
        }
    }
    if customers.iter().all(|c| c.frequency == 0.0) {
        return refuse("no customer has a repeat purchase".into());
    }
    Ok(())
}

/// A repeat buyer's history as indices into the distinct-value tables.
#[derive(Debug, Clone, Copy)]
struct Row {
    x: u32,
    recency: u32,
    age: u32,
    customers: u32,
}

/// The customers, counted by distinct (x, t_x, T).
struct Histories {
    /// Distinct frequencies, ascending, and customers with each.
    xs: Vec<f64>,
    x_customers: Vec<f64>,
    /// Distinct ages T, ascending, and customers with x = 0 at each.
    ages: Vec<f64>,
    zero_customers_by_age: Vec<f64>,
    /// Distinct recencies of repeat buyers, ascending.
    recencies: Vec<f64>,
    /// Repeat buyers.
    rows: Vec<Row>,
    customers: f64,
    mean_age: f64,
    mean_frequency: f64,
}

/// A value's bits, which order like the value for non-negative floats
/// (`+ 0.0` turns −0 into 0).
fn bits(value: f64) -> u64 {
    (value + 0.0).to_bits()
}

/// Sorts and counts equal neighbours: (value, count) ascending.
fn counted<T: Ord + Copy>(mut values: Vec<T>) -> Vec<(T, u32)> {
    values.sort_unstable();
    values
        .chunk_by(|a, b| a == b)
        .map(|same| (same[0], same.len() as u32))
        .collect()
}

/// Distinct values, ascending.
fn distinct(mut values: Vec<u64>) -> Vec<u64> {
    values.sort_unstable();
    values.dedup();
    values
}

fn rank(table: &[u64], value: u64) -> u32 {
    table
        .binary_search(&value)
        .expect("every value is in its table") as u32
}

impl Histories {
    fn new(customers: &[Rfm]) -> Result<Self, LtvError> {
        check(customers)?;
        // Count customers by (x, t_x, T) (repeat buyers) and by T (the rest),
        // sorted, so that the rows (and the order of the sums) do not depend
        // on the order of the customers.
        let (repeaters, one_time): (Vec<&Rfm>, Vec<&Rfm>) =
            customers.iter().partition(|c| c.frequency > 0.0);
        let triples = counted(
            repeaters
                .iter()
                .map(|c| [bits(c.frequency), bits(c.recency), bits(c.age)])
                .collect(),
        );
        let one_time_ages = counted(one_time.iter().map(|c| bits(c.age)).collect());

        let mut xs: Vec<u64> = triples.iter().map(|(t, _)| t[0]).collect();
        xs.dedup();
        if !one_time.is_empty() {
            xs.insert(0, bits(0.0));
        }
        let recencies = distinct(triples.iter().map(|(t, _)| t[1]).collect());
        let ages = distinct(
            triples
                .iter()
                .map(|(t, _)| t[2])
                .chain(one_time_ages.iter().map(|(t, _)| *t))
                .collect(),
        );

        let mut x_customers = vec![0.0; xs.len()];
        x_customers[0] = one_time.len() as f64;
        let mut zero_customers_by_age = vec![0.0; ages.len()];
        for (age, n) in &one_time_ages {
            zero_customers_by_age[rank(&ages, *age) as usize] = f64::from(*n);
        }
        let rows = triples
            .iter()
            .map(|([x, recency, age], n)| {
                let x = rank(&xs, *x);
                x_customers[x as usize] += f64::from(*n);
                Row {
                    x,
                    recency: rank(&recencies, *recency),
                    age: rank(&ages, *age),
                    customers: *n,
                }
            })
            .collect();
        let n = customers.len() as f64;
        let values = |table: Vec<u64>| table.into_iter().map(f64::from_bits).collect();
        Ok(Self {
            xs: values(xs),
            x_customers,
            ages: values(ages),
            zero_customers_by_age,
            recencies: values(recencies),
            rows,
            customers: n,
            mean_age: customers.iter().map(|c| c.age).sum::<f64>() / n,
            mean_frequency: customers.iter().map(|c| c.frequency).sum::<f64>() / n,
        })
    }

    /// Log-parameters to start from: a mean purchase rate r/α matching the
    /// observed one, and a = b = 1 (a uniform dropout probability).
    fn start(&self) -> [f64; 4] {
        let r = 1.0;
        let rate = (self.mean_frequency / self.mean_age.max(f64::MIN_POSITIVE)).max(1e-6);
        [r, r / rate, 1.0, 1.0].map(f64::ln)
    }

    /// −(log-likelihood)/customers at log-parameters `theta`, and its
    /// gradient with respect to `theta`.
    fn negative_mean_log_likelihood(
        &self,
        theta: &[f64],
        gradient: &mut [f64; 4],
        threads: usize,
    ) -> f64 {
        if !crate::in_domain(theta) {
            return f64::INFINITY;
        }
        let [r, alpha, a, b] = [0, 1, 2, 3].map(|i| theta[i].exp());
        let ln_alpha = alpha.ln();
        let (ln_gamma_r, digamma_r) = (ln_gamma(r), digamma(r));
        let (ln_gamma_ab, digamma_ab) = (ln_gamma(a + b), digamma(a + b));
        let (ln_gamma_b, digamma_b) = (ln_gamma(b), digamma(b));

        // Terms of x alone: A₁ + A₂ of FHL (lifetimes' names), weighted by
        // the customers with that x; and per-x constants of A₄.
        let mut ll = 0.0;
        let mut d = [0.0; 4]; // ∂ll/∂(r, α, a, b)
        let mut a4_constant = vec![0.0; self.xs.len()]; // ln a − ln(b + x − 1)
        let mut inv_b_x = vec![0.0; self.xs.len()]; // 1 / (b + x − 1)
        for (i, (&x, &w)) in self.xs.iter().zip(&self.x_customers).enumerate() {
            ll += w
                * (ln_gamma(r + x) - ln_gamma_r + r * ln_alpha + ln_gamma_ab + ln_gamma(b + x)
                    - ln_gamma_b
                    - ln_gamma(a + b + x));
            let digamma_abx = digamma(a + b + x);
            d[0] += w * (digamma(r + x) - digamma_r + ln_alpha);
            d[1] += w * r / alpha;
            d[2] += w * (digamma_ab - digamma_abx);
            d[3] += w * (digamma_ab + digamma(b + x) - digamma_b - digamma_abx);
            if x > 0.0 {
                a4_constant[i] = a.ln() - (b + x - 1.0).ln();
                inv_b_x[i] = 1.0 / (b + x - 1.0);
            }
        }
        let ln_age: Vec<f64> = self.ages.iter().map(|t| (alpha + t).ln()).collect();
        let inv_age: Vec<f64> = self.ages.iter().map(|t| 1.0 / (alpha + t)).collect();
        let ln_recency: Vec<f64> = self.recencies.iter().map(|t| (alpha + t).ln()).collect();
        let inv_recency: Vec<f64> = self.recencies.iter().map(|t| 1.0 / (alpha + t)).collect();

        // x = 0: A₃ = −r ln(α + T) alone.
        for ((&w, &l), &inv) in self.zero_customers_by_age.iter().zip(&ln_age).zip(&inv_age) {
            ll -= w * r * l;
            d[0] -= w * l;
            d[1] -= w * r * inv;
        }

        // Repeat buyers: ln(e^A₃ + e^A₄), in parallel.
        let [row_ll, d_r, d_alpha, sum_p4, sum_p4_inv_b] =
            sum_blocks(&self.rows, threads, |rows| {
                let mut s = [0.0; 5];
                for row in rows {
                    let w = f64::from(row.customers);
                    let rx = r + self.xs[row.x as usize];
                    let (l3, i3) = (ln_age[row.age as usize], inv_age[row.age as usize]);
                    let (l4, i4) = (
                        ln_recency[row.recency as usize],
                        inv_recency[row.recency as usize],
                    );
                    let a3 = -rx * l3;
                    let a4 = a4_constant[row.x as usize] - rx * l4;
                    // Softmax weights of the two terms, from the smaller exponent.
                    let e = (-(a3 - a4).abs()).exp();
                    let share_small = e / (1.0 + e);
                    let p4 = if a4 > a3 {
                        1.0 - share_small
                    } else {
                        share_small
                    };
                    let p3 = 1.0 - p4;
                    s[0] += w * (a3.max(a4) + e.ln_1p());
                    s[1] -= w * (p3 * l3 + p4 * l4);
                    s[2] -= w * rx * (p3 * i3 + p4 * i4);
                    s[3] += w * p4;
                    s[4] += w * p4 * inv_b_x[row.x as usize];
                }
                s
            });
        ll += row_ll;
        d[0] += d_r;
        d[1] += d_alpha;
        d[2] += sum_p4 / a;
        d[3] -= sum_p4_inv_b;

        // To −mean over customers, by log-parameter: ∂/∂ln θ = θ ∂/∂θ.
        for (i, theta) in [r, alpha, a, b].into_iter().enumerate() {
            gradient[i] = -theta * d[i] / self.customers;
        }
        -ll / self.customers
    }
}

impl BgNbd {
    /// Log-likelihood of `customers` under these parameters (the fit's
    /// objective, summed).
    pub fn log_likelihood(&self, customers: &[Rfm]) -> Result<f64, LtvError> {
        let data = Histories::new(customers)?;
        let theta = [self.r, self.alpha, self.a, self.b].map(f64::ln);
        let mut gradient = [0.0; 4];
        Ok(-data.negative_mean_log_likelihood(&theta, &mut gradient, 1) * data.customers)
    }

    /// P(alive at the end of the history): 1 without repeat purchases (a
    /// BG/NBD customer can only drop out right after a purchase).
    pub fn p_alive(&self, customer: &Rfm) -> f64 {
        let x = customer.frequency;
        if x == 0.0 {
            return 1.0;
        }
        let odds_dead = self.a / (self.b + x - 1.0)
            * ((self.alpha + customer.age) / (self.alpha + customer.recency)).powf(self.r + x);
        1.0 / (1.0 + odds_dead)
    }

    /// Expected purchases in the next `t` time units of a customer with this
    /// history (FHL 2005 equation (10)).
    pub fn expected_purchases(&self, t: f64, customer: &Rfm) -> f64 {
        let mut alive = AlivePurchases::new(self, customer.frequency);
        self.p_alive(customer) * alive.expected(customer.age, t)
    }

    /// Expected repeat purchases in `t` time units of a new customer (FHL
    /// 2005 equation (9)).
    pub fn expected_purchases_new_customer(&self, t: f64) -> f64 {
        AlivePurchases::new(self, 0.0).expected(0.0, t)
    }
}

/// Expected purchases in (T, T + t] of a customer with frequency x who is
/// alive at T: equation (10) without its P(alive) factor,
///
/// `(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)]`,
/// `z = t/(α+T+t)`.
///
/// The hypergeometric series depends on x only, so one of these serves every
/// customer with that x (its coefficients are kept). With Euler's
/// transformation the bracket is `1 − (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z)`,
/// whose series falls like `n^(a−r−x−2) zⁿ` and whose every term but the first
/// has the factor (a−1): it is summed divided by (a−1), so the result stays
/// exact as a → 1. When a > r+x+1 the untransformed series falls faster and
/// is used instead.
pub(crate) struct AlivePurchases {
    alpha: f64,
    /// Multiplies the bracket: (a+b+x−1), or (a+b+x−1)/(a−1) untransformed.
    scale: f64,
    /// The power of (1−z): a−1 (transformed) or r+x.
    power: f64,
    euler: bool,
    series: Hyp2f1Series,
}

impl AlivePurchases {
    pub(crate) fn new(model: &BgNbd, x: f64) -> Self {
        let BgNbd { r, alpha, a, b } = *model;
        let c = a + b + x - 1.0;
        if a < r + x + 1.0 {
            Self {
                alpha,
                scale: c,
                power: a - 1.0,
                euler: true,
                series: Hyp2f1Series::new_over_b(a + b - 1.0 - r, a - 1.0, c),
            }
        } else {
            Self {
                alpha,
                scale: c / (a - 1.0),
                power: r + x,
                euler: false,
                series: Hyp2f1Series::new(r + x, b + x, c),
            }
        }
    }

    /// For age `age` and horizon `t`, both in model time units.
    pub(crate) fn expected(&mut self, age: f64, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let alpha_age = self.alpha + age;
        let z = t / (alpha_age + t);
        let ln_1_minus_z = -(t / alpha_age).ln_1p();
        let u = self.power * ln_1_minus_z;
        let rest = self.series.eval_minus_one(z);
        let bracket = if self.euler {
            // [−expm1((a−1)L) − (1−z)^(a−1) (F − 1)] / (a − 1), L = ln(1−z).
            let expm1_over = if u == 0.0 { 1.0 } else { u.exp_m1() / u };
            -ln_1_minus_z * expm1_over - u.exp() * rest
        } else {
            -u.exp_m1() - u.exp() * rest
        };
        self.scale * bracket
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::assert_gradient_matches_finite_differences;

    fn customers() -> Vec<Rfm> {
        // A small, varied population (weeks).
        let mut out = Vec::new();
        for i in 0..300 {
            let age = 5.0 + (i % 37) as f64;
            let x = (i % 7) as f64 * if i % 3 == 0 { 0.0 } else { 1.0 };
            let recency = if x == 0.0 {
                0.0
            } else {
                age * ((i % 11) as f64 + 1.0) / 12.0
            };
            out.push(Rfm {
                frequency: x,
                recency,
                age,
                monetary: 0.0,
            });
        }
        out
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let data = Histories::new(&customers()).unwrap();
        for theta in [
            [-1.4, 1.5, -0.2, 0.9],
            [0.3, -0.5, 1.2, -0.7],
            [-3.0, 3.0, 2.0, 2.5],
        ] {
            assert_gradient_matches_finite_differences(
                |theta, gradient| data.negative_mean_log_likelihood(theta, gradient, 1),
                theta,
            );
        }
    }

    #[test]
    fn likelihood_matches_the_unaggregated_formula() {
        // lifetimes' per-customer formula, summed naively.
        let m = BgNbd {
            r: 0.24,
            alpha: 4.4,
            a: 0.79,
            b: 2.4,
        };
        let naive: f64 = customers()
            .iter()
            .map(|c| {
                let (x, tx, t) = (c.frequency, c.recency, c.age);
                let a1 = ln_gamma(m.r + x) - ln_gamma(m.r) + m.r * m.alpha.ln();
                let a2 = ln_gamma(m.a + m.b) + ln_gamma(m.b + x)
                    - ln_gamma(m.b)
                    - ln_gamma(m.a + m.b + x);
                let a3 = -(m.r + x) * (m.alpha + t).ln();
                let a4 = m.a.ln() - (m.b + x.max(1.0) - 1.0).ln() - (m.r + x) * (tx + m.alpha).ln();
                let mixture = a3.exp() + if x > 0.0 { a4.exp() } else { 0.0 };
                a1 + a2 + mixture.ln()
            })
            .sum();
        let ours = m.log_likelihood(&customers()).unwrap();
        assert!(
            (ours - naive).abs() < 1e-9 * naive.abs(),
            "{ours} vs {naive}"
        );
    }

    #[test]
    fn conditional_expectation_matches_the_untransformed_formula() {
        // Direct ₂F₁ of equation (10), at x and horizons where the plain
        // series converges quickly.
        let m = BgNbd {
            r: 0.24,
            alpha: 4.4,
            a: 0.79,
            b: 2.4,
        };
        for (x, tx, t_age, t) in [
            (0.0, 0.0, 10.0, 5.0),
            (2.0, 30.43, 38.86, 39.0),
            (7.0, 20.0, 30.0, 52.0),
        ] {
            let c = Rfm {
                frequency: x,
                recency: tx,
                age: t_age,
                monetary: 0.0,
            };
            let z = t / (m.alpha + t_age + t);
            let hyp = crate::special::hyp2f1(m.r + x, m.b + x, m.a + m.b + x - 1.0, z);
            let bracket = 1.0 - ((m.alpha + t_age) / (m.alpha + t_age + t)).powf(m.r + x) * hyp;
            let want = (m.a + m.b + x - 1.0) / (m.a - 1.0) * bracket * m.p_alive(&c);
            let got = m.expected_purchases(t, &c);
            assert!(
                (got - want).abs() < 1e-12 * want.abs().max(1.0),
                "x={x}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn new_customer_expectation_matches_lifetimes() {
        // BetaGeoFitter.expected_number_of_purchases_up_to_time(t) with the
        // published CDNOW parameters.
        let m = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        for (t, want) in [(39.0, 1.1967231933207985), (78.0, 1.8605190579427455)] {
            let got = m.expected_purchases_new_customer(t);
            assert!((got - want).abs() < 1e-12, "t={t}: {got} vs {want}");
        }
    }

    /// Expected purchases in `t` under r = 0.5, α = 5, b = 2 and the given a.
    fn expected_with_a(a: f64, frequency: f64, recency: f64, age: f64, t: f64) -> f64 {
        let model = BgNbd {
            r: 0.5,
            alpha: 5.0,
            a,
            b: 2.0,
        };
        let customer = Rfm {
            frequency,
            recency,
            age,
            monetary: 0.0,
        };
        model.expected_purchases(t, &customer)
    }

    #[test]
    fn expectation_is_continuous_through_a_equal_to_one() {
        let at = |a| expected_with_a(a, 3.0, 20.0, 30.0, 26.0);
        let (below, exact, above) = (at(1.0 - 1e-9), at(1.0), at(1.0 + 1e-9));
        assert!(exact.is_finite() && exact > 0.0);
        assert!(
            (below - exact).abs() < 1e-8 && (above - exact).abs() < 1e-8,
            "{below} {exact} {above}"
        );
    }

    #[test]
    fn both_series_agree_where_the_choice_switches() {
        // a > r + x + 1 uses the untransformed series; just below, the
        // transformed one; the expectation must be continuous in a.
        let at = |a| expected_with_a(a, 0.0, 0.0, 12.0, 40.0);
        let (below, above) = (at(1.5 - 1e-12), at(1.5 + 1e-12));
        assert!((below - above).abs() < 1e-10, "{below} vs {above}");
    }

    #[test]
    fn refuses_impossible_histories() {
        let bad = |c: Rfm| fit_bgnbd(&[c]).unwrap_err();
        let ok = Rfm {
            frequency: 1.0,
            recency: 1.0,
            age: 2.0,
            monetary: 1.0,
        };
        for c in [
            Rfm { recency: 3.0, ..ok },
            Rfm {
                frequency: 1.5,
                ..ok
            },
            Rfm {
                frequency: -1.0,
                ..ok
            },
            Rfm {
                frequency: 0.0,
                ..ok
            },
            Rfm {
                age: f64::NAN,
                ..ok
            },
        ] {
            assert!(matches!(bad(c), LtvError::Input { .. }), "{c:?}");
        }
        assert!(matches!(
            fit_bgnbd(&[]).unwrap_err(),
            LtvError::Input { .. }
        ));
    }
}
