//! Special functions the BTYD likelihoods and predictions need: `ln Γ`, the
//! digamma function `ψ`, and the Gauss hypergeometric function `₂F₁`.
//!
//! Written here rather than taken from a crate because the models need only
//! these three, for positive real arguments, and the hypergeometric series is
//! evaluated many times with the same parameters (see [`Hyp2f1Series`]).

/// `½ ln(2π)`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Below this argument `ln Γ` and `ψ` shift upwards by the recurrence before
/// using their asymptotic series; at 10 the series' first omitted term is
/// below 1e-17.
const ASYMPTOTIC_FROM: f64 = 10.0;

/// `ln Γ(x)` for `x > 0` (NaN otherwise), accurate to about 1e-15 absolute.
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    // Γ(x) = Γ(x + n) / (x (x+1) … (x+n-1)).
    let mut y = x;
    let mut product = 1.0;
    while y < ASYMPTOTIC_FROM {
        product *= y;
        y += 1.0;
    }
    // Stirling's series with Bernoulli-number coefficients.
    let inv = 1.0 / y;
    let inv2 = inv * inv;
    let series = inv
        * (1.0 / 12.0
            + inv2
                * (-1.0 / 360.0
                    + inv2
                        * (1.0 / 1260.0
                            + inv2
                                * (-1.0 / 1680.0
                                    + inv2 * (1.0 / 1188.0 + inv2 * (-691.0 / 360_360.0))))));
    (y - 0.5) * y.ln() - y + HALF_LN_2PI + series - product.ln()
}

/// The digamma function `ψ(x) = d/dx ln Γ(x)` for `x > 0` (NaN otherwise).
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    // ψ(x) = ψ(x + 1) − 1/x.
    let mut y = x;
    let mut shift = 0.0;
    while y < ASYMPTOTIC_FROM {
        shift += 1.0 / y;
        y += 1.0;
    }
    let inv2 = 1.0 / (y * y);
    let series = inv2
        * (1.0 / 12.0
            - inv2
                * (1.0 / 120.0
                    - inv2
                        * (1.0 / 252.0
                            - inv2
                                * (1.0 / 240.0 - inv2 * (1.0 / 132.0 - inv2 * 691.0 / 32_760.0)))));
    y.ln() - 0.5 / y - series - shift
}

/// Relative size of the tail at which a hypergeometric series stops.
const SERIES_EPSILON: f64 = 1e-16;
/// A hypergeometric series that has not converged after this many terms is
/// given up on (NaN): it only happens for z within about 1e-5 of 1.
const SERIES_MAX_TERMS: usize = 4_000_000;

/// The power series of `₂F₁(a, b; c; z) = Σₙ (a)ₙ (b)ₙ / ((c)ₙ n!) zⁿ` for one
/// `(a, b, c)`, with its coefficients kept so that evaluating it at many `z`
/// costs one multiply-add per term. `c` must not be zero or a negative
/// integer.
#[derive(Debug, Clone)]
pub struct Hyp2f1Series {
    a: f64,
    b: f64,
    c: f64,
    /// The coefficient of z¹.
    first: f64,
    /// Coefficients from n = 1 on: the series minus its leading 1.
    coefficients: Vec<f64>,
}

impl Hyp2f1Series {
    pub fn new(a: f64, b: f64, c: f64) -> Self {
        Self::with_first(a, b, c, a * b / c)
    }

    /// The series of `(₂F₁(a, b; c; z) − 1) / b`, which stays finite (and
    /// exact) as `b → 0`: every term of `₂F₁ − 1` has the factor `b`.
    pub fn new_over_b(a: f64, b: f64, c: f64) -> Self {
        Self::with_first(a, b, c, a / c)
    }

    fn with_first(a: f64, b: f64, c: f64, first: f64) -> Self {
        Self {
            a,
            b,
            c,
            first,
            coefficients: Vec::new(),
        }
    }

    /// The coefficient of z^(n+1).
    fn coefficient(&mut self, n: usize) -> f64 {
        while self.coefficients.len() <= n {
            let k = self.coefficients.len();
            let next = if k == 0 {
                self.first
            } else {
                let m = k as f64;
                self.coefficients[k - 1] * (self.a + m) * (self.b + m) / ((self.c + m) * (m + 1.0))
            };
            self.coefficients.push(next);
        }
        self.coefficients[n]
    }

    /// The series without its leading 1 at `0 ≤ z < 1` (NaN elsewhere):
    /// `₂F₁(a, b; c; z) − 1`, or that divided by `b` for [`Self::new_over_b`].
    /// Kept apart from the leading 1 so that callers can avoid cancellation.
    pub fn eval_minus_one(&mut self, z: f64) -> f64 {
        if !(0.0..1.0).contains(&z) {
            return f64::NAN;
        }
        if z == 0.0 {
            return 0.0;
        }
        let mut sum = 0.0;
        let mut z_power = z;
        for n in 0..SERIES_MAX_TERMS {
            let coefficient = self.coefficient(n);
            let term = coefficient * z_power;
            sum += term;
            if coefficient == 0.0 {
                // (a)ₙ or (b)ₙ hit zero: a polynomial.
                return sum;
            }
            // The ratio of consecutive terms tends to z; once it is below 1 the
            // rest of the series is bounded by a geometric tail whose ratio is
            // the larger of the current ratio and z (the ratio is monotone in n
            // for large n, approaching z from either side).
            let ratio = (self.coefficient(n + 1) / coefficient * z).abs();
            if ratio < 1.0 {
                let rho = ratio.max(z);
                let tail = term.abs() * rho / (1.0 - rho);
                if tail <= SERIES_EPSILON * sum.abs() || tail == 0.0 {
                    return sum;
                }
            }
            z_power *= z;
        }
        f64::NAN
    }
}

/// `₂F₁(a, b; c; z)` for `0 ≤ z < 1`, by its power series, or by the series
/// of Euler's transformation `(1−z)^(c−a−b) ₂F₁(c−a, c−b; c; z)` when that
/// one's terms fall faster (terms fall like `n^(a+b−c−1) zⁿ`).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let direct_growth = a + b - c - 1.0;
    let euler_growth = c - a - b - 1.0;
    if euler_growth < direct_growth {
        let factor = ((c - a - b) * (-z).ln_1p()).exp();
        factor * (1.0 + Hyp2f1Series::new(c - a, c - b, c).eval_minus_one(z))
    } else {
        1.0 + Hyp2f1Series::new(a, b, c).eval_minus_one(z)
    }
}

#[cfg(test)]
// Reference values are printed with 17 significant digits, on purpose.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    fn assert_close(got: f64, want: f64, tolerance: f64) {
        let error = (got - want).abs() / want.abs().max(1.0);
        assert!(
            error <= tolerance,
            "got {got:e}, want {want:e}, error {error:e}"
        );
    }

    // Reference values: mpmath's loggamma, digamma and hyp2f1 at 40 digits,
    // printed with 17 significant digits.
    #[test]
    fn ln_gamma_matches_reference_values() {
        for (x, want) in [
            (1e-8, 18.420680738180209),
            (0.1, 2.2527126517342060),
            (0.242595, 1.3198072671275389),
            (0.5, 0.57236494292470008),
            (1.0, 0.0),
            (1.5, -0.12078223763524522),
            (2.0, 0.0),
            (3.7442, 1.4799620005679038),
            (9.999, 12.799575780077412),
            (10.0, 12.801827480081469),
            (100.0, 359.13420536957540),
            (1e6, 12815504.569147612),
        ] {
            assert_close(ln_gamma(x), want, 2e-15);
        }
        assert!(ln_gamma(0.0).is_nan() && ln_gamma(-1.0).is_nan());
    }

    #[test]
    fn ln_gamma_satisfies_the_recurrence() {
        for x in [0.01, 0.3, 0.793, 2.426, 7.5, 42.0] {
            assert_close(ln_gamma(x + 1.0) - ln_gamma(x), f64::ln(x), 1e-14);
        }
    }

    #[test]
    fn digamma_matches_reference_values() {
        for (x, want) in [
            (1e-8, -100000000.57721565),
            (0.1, -10.423754940411076),
            (0.5, -1.9635100260214235),
            (1.0, -0.57721566490153287),
            (2.426, 0.66620791496879618),
            (10.0, 2.2517525890667211),
            (123.4, 4.8113737751162774),
        ] {
            assert_close(digamma(x), want, 2e-15);
        }
    }

    #[test]
    fn digamma_is_the_derivative_of_ln_gamma() {
        for x in [0.05, 0.8, 3.0, 15.0] {
            let h = 1e-5 * x;
            let numeric = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert_close(digamma(x), numeric, 1e-8);
        }
    }

    #[test]
    fn hyp2f1_matches_reference_values() {
        for (a, b, c, z, want) in [
            // Elementary: 2F1(1, 1; 2; z) = −ln(1−z)/z.
            (1.0, 1.0, 2.0, 0.5, 1.3862943611198906),
            (1.0, 1.0, 2.0, 0.99, 4.6516870565536276),
            // BG/NBD shapes (r + x, b + x, a + b + x − 1, t/(α+T+t)) for CDNOW.
            (2.242595, 4.425906, 4.218828, 0.4617237, 4.3293930192089647),
            (0.242595, 2.425906, 2.218828, 0.9, 1.9456111985864744),
            (20.242595, 22.425906, 22.218828, 0.95, 3.9587471729424512e26),
            // A polynomial: (a)ₙ reaches 0.
            (-3.0, 2.5, 1.5, 0.7, -0.099),
        ] {
            assert_close(hyp2f1(a, b, c, z) / want, 1.0, 1e-13);
        }
    }

    #[test]
    fn hyp2f1_euler_and_direct_series_agree() {
        // Both series converge here; the function picks one, the other must
        // give the same value.
        let (a, b, c, z) = (0.7, 1.3, 2.9, 0.6);
        let direct = 1.0 + Hyp2f1Series::new(a, b, c).eval_minus_one(z);
        let euler = (1.0 - z).powf(c - a - b)
            * (1.0 + Hyp2f1Series::new(c - a, c - b, c).eval_minus_one(z));
        assert_close(direct, euler, 1e-14);
        assert_close(hyp2f1(a, b, c, z), direct, 1e-14);
    }

    #[test]
    fn the_series_over_b_is_the_series_divided_by_b() {
        let (a, b, c, z) = (1.9, 0.3, 3.2, 0.8);
        let plain = Hyp2f1Series::new(a, b, c).eval_minus_one(z);
        let over_b = Hyp2f1Series::new_over_b(a, b, c).eval_minus_one(z);
        assert_close(over_b * b, plain, 1e-14);
        // At b = 0 the limit: Σₙ (a)ₙ (n−1)! / ((c)ₙ n!) zⁿ, by a direct sum.
        let (mut limit, mut rising_ratio) = (0.0, 1.0); // (a)ₙ / (c)ₙ
        for n in 1..2000 {
            let m = (n - 1) as f64;
            rising_ratio *= (a + m) / (c + m);
            limit += rising_ratio / n as f64 * z.powi(n);
        }
        assert_close(
            Hyp2f1Series::new_over_b(a, 0.0, c).eval_minus_one(z),
            limit,
            1e-13,
        );
    }

    #[test]
    fn hyp2f1_outside_the_unit_interval_is_nan() {
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_nan());
        assert!(hyp2f1(1.0, 1.0, 2.0, -0.1).is_nan());
    }
}
