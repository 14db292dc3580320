//! BFGS with a strong-Wolfe line search (Nocedal & Wright, *Numerical
//! Optimization*, 2nd ed., algorithms 6.1, 3.5 and 3.6), for the few
//! unconstrained parameters of the BTYD likelihoods (fitted on log scale).
//!
//! Small on purpose: dense n×n inverse-Hessian updates for n ≤ a handful.

/// When to stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BfgsOptions {
    /// Converged when every gradient component is at most this in absolute
    /// value.
    pub gradient_tolerance: f64,
    /// Give up after this many iterations.
    pub max_iterations: usize,
}

impl Default for BfgsOptions {
    fn default() -> Self {
        Self {
            gradient_tolerance: 1e-9,
            max_iterations: 400,
        }
    }
}

/// Where the minimiser stopped.
#[derive(Debug, Clone)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub gradient: Vec<f64>,
    pub iterations: usize,
    /// Objective (and gradient) evaluations, the line search's included.
    pub evaluations: usize,
}

/// Why the minimiser stopped without a minimum.
#[derive(Debug, Clone, PartialEq)]
pub struct NotConverged {
    pub iterations: usize,
    /// Where it stopped.
    pub x: Vec<f64>,
    pub reason: String,
}

/// Sufficient decrease (Armijo) constant.
const C1: f64 = 1e-4;
/// Curvature constant: 0.9 is the usual choice for quasi-Newton methods.
const C2: f64 = 0.9;
const MAX_LINE_SEARCH_STEPS: usize = 60;

/// An objective with its gradient: writes ∇f(x) into the slice, returns f(x).
/// A non-finite value means "outside the domain" and makes the line search
/// step back.
pub trait Objective {
    fn value_and_gradient(&mut self, x: &[f64], gradient: &mut [f64]) -> f64;
}

impl<F: FnMut(&[f64], &mut [f64]) -> f64> Objective for F {
    fn value_and_gradient(&mut self, x: &[f64], gradient: &mut [f64]) -> f64 {
        self(x, gradient)
    }
}

struct Counted<'a, O> {
    objective: &'a mut O,
    evaluations: usize,
}

impl<O: Objective> Counted<'_, O> {
    fn eval(&mut self, x: &[f64], gradient: &mut [f64]) -> f64 {
        self.evaluations += 1;
        let value = self.objective.value_and_gradient(x, gradient);
        if value.is_finite() && gradient.iter().all(|g| g.is_finite()) {
            value
        } else {
            f64::INFINITY
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Minimises `objective` from `x0` by BFGS.
pub fn minimise_bfgs<O: Objective>(
    objective: &mut O,
    x0: &[f64],
    options: &BfgsOptions,
) -> Result<Minimum, NotConverged> {
    let n = x0.len();
    let mut f = Counted {
        objective,
        evaluations: 0,
    };
    let mut x = x0.to_vec();
    let mut gradient = vec![0.0; n];
    let mut value = f.eval(&x, &mut gradient);
    if !value.is_finite() {
        return Err(NotConverged {
            iterations: 0,
            x,
            reason: "the objective is not finite at the starting point".into(),
        });
    }
    // Inverse Hessian approximation, row-major.
    let mut h = identity(n);
    let mut direction = vec![0.0; n];
    let mut trial = LineSearchPoint::new(n);
    for iteration in 0..options.max_iterations {
        if max_abs(&gradient) <= options.gradient_tolerance {
            return Ok(Minimum {
                x,
                value,
                gradient,
                iterations: iteration,
                evaluations: f.evaluations,
            });
        }
        mat_vec_neg(&h, &gradient, &mut direction);
        let mut slope = dot(&gradient, &direction);
        if slope.is_nan() || slope >= 0.0 {
            // Lost positive definiteness to round-off: restart from steepest descent.
            h = identity(n);
            mat_vec_neg(&h, &gradient, &mut direction);
            slope = dot(&gradient, &direction);
        }
        // The first step has no curvature information: keep it modest.
        let initial_step = if iteration == 0 {
            (1.0 / max_abs(&gradient)).min(1.0)
        } else {
            1.0
        };
        let found = line_search(
            &mut f,
            &x,
            value,
            slope,
            &direction,
            initial_step,
            &mut trial,
        );
        let Some(step) = found else {
            // No step decreases f. At a minimum to working precision (a
            // small gradient, and a predicted decrease lost in round-off)
            // that is convergence.
            let near_minimum = max_abs(&gradient) <= 1e3 * options.gradient_tolerance;
            if near_minimum && -slope <= 1e-13 * value.abs().max(1.0) {
                return Ok(Minimum {
                    x,
                    value,
                    gradient,
                    iterations: iteration,
                    evaluations: f.evaluations,
                });
            }
            return Err(NotConverged {
                iterations: iteration,
                x,
                reason: format!(
                    "line search found no decrease (value {value:e}, gradient {:e})",
                    max_abs(&gradient)
                ),
            });
        };
        let s: Vec<f64> = direction.iter().map(|d| step * d).collect();
        let y: Vec<f64> = trial
            .gradient
            .iter()
            .zip(&gradient)
            .map(|(a, b)| a - b)
            .collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            if iteration == 0 {
                // Nocedal & Wright (6.20): scale the initial matrix.
                let scale = sy / dot(&y, &y);
                h.iter_mut().for_each(|v| *v *= scale);
            }
            bfgs_update(&mut h, &s, &y, sy);
        }
        x.iter_mut().zip(&s).for_each(|(xi, si)| *xi += si);
        value = trial.value;
        gradient.copy_from_slice(&trial.gradient);
    }
    Err(NotConverged {
        iterations: options.max_iterations,
        x,
        reason: format!(
            "gradient still {:e} (tolerance {:e})",
            max_abs(&gradient),
            options.gradient_tolerance
        ),
    })
}

fn identity(n: usize) -> Vec<f64> {
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        m[i * n + i] = 1.0;
    }
    m
}

fn mat_vec_neg(m: &[f64], v: &[f64], out: &mut [f64]) {
    let n = v.len();
    for i in 0..n {
        out[i] = -dot(&m[i * n..(i + 1) * n], v);
    }
}

/// H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ with ρ = 1 / (yᵀs).
fn bfgs_update(h: &mut [f64], s: &[f64], y: &[f64], sy: f64) {
    let n = s.len();
    let rho = 1.0 / sy;
    let hy: Vec<f64> = (0..n).map(|i| dot(&h[i * n..(i + 1) * n], y)).collect();
    let yhy = dot(y, &hy);
    // Expanded: H + ρ²(yᵀHy) s sᵀ + ρ s sᵀ − ρ (Hy sᵀ + s yᵀH); H symmetric.
    for i in 0..n {
        for j in 0..n {
            h[i * n + j] +=
                (rho * rho * yhy + rho) * s[i] * s[j] - rho * (hy[i] * s[j] + s[i] * hy[j]);
        }
    }
}

struct LineSearchPoint {
    x: Vec<f64>,
    value: f64,
    gradient: Vec<f64>,
}

impl LineSearchPoint {
    fn new(n: usize) -> Self {
        Self {
            x: vec![0.0; n],
            value: f64::INFINITY,
            gradient: vec![0.0; n],
        }
    }
}

/// φ(α) = f(x + α d) and φ'(α); leaves the point in `at`.
fn phi<O: Objective>(
    f: &mut Counted<'_, O>,
    x: &[f64],
    direction: &[f64],
    alpha: f64,
    at: &mut LineSearchPoint,
) -> (f64, f64) {
    for ((xi, x0), d) in at.x.iter_mut().zip(x).zip(direction) {
        *xi = x0 + alpha * d;
    }
    at.value = f.eval(&at.x, &mut at.gradient);
    (at.value, dot(&at.gradient, direction))
}

/// Minimiser of the cubic through (a, fa, da) and (b, fb, db), or NaN.
fn cubic_minimiser(a: f64, fa: f64, da: f64, b: f64, fb: f64, db: f64) -> f64 {
    let d1 = da + db - 3.0 * (fa - fb) / (a - b);
    let radicand = d1 * d1 - da * db;
    if radicand < 0.0 {
        return f64::NAN;
    }
    let d2 = (b - a).signum() * radicand.sqrt();
    b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2)
}

/// A step satisfying the strong Wolfe conditions, its point in `at`; `None`
/// when no step decreases the objective.
fn line_search<O: Objective>(
    f: &mut Counted<'_, O>,
    x: &[f64],
    value0: f64,
    slope0: f64,
    direction: &[f64],
    initial_step: f64,
    at: &mut LineSearchPoint,
) -> Option<f64> {
    let mut previous = (0.0, value0, slope0);
    let mut alpha = initial_step;
    for i in 0..MAX_LINE_SEARCH_STEPS {
        let (value, slope) = phi(f, x, direction, alpha, at);
        if !value.is_finite() {
            // Outside the domain (overflow): step back towards the last point.
            alpha = previous.0 + 0.1 * (alpha - previous.0);
            continue;
        }
        if value > value0 + C1 * alpha * slope0 || (i > 0 && value >= previous.1) {
            return zoom(
                f,
                x,
                value0,
                slope0,
                direction,
                previous,
                (alpha, value, slope),
                at,
            );
        }
        if slope.abs() <= -C2 * slope0 {
            return Some(alpha);
        }
        if slope >= 0.0 {
            return zoom(
                f,
                x,
                value0,
                slope0,
                direction,
                (alpha, value, slope),
                previous,
                at,
            );
        }
        previous = (alpha, value, slope);
        alpha *= 4.0;
    }
    // Still descending after every expansion (an unbounded direction): take
    // the longest step that decreased the objective.
    if previous.0 > 0.0 {
        phi(f, x, direction, previous.0, at);
        return Some(previous.0);
    }
    None
}

/// Nocedal & Wright algorithm 3.6 between `lo` (the best point so far, with
/// sufficient decrease) and `hi`, each `(α, φ, φ')`.
#[allow(clippy::too_many_arguments)]
fn zoom<O: Objective>(
    f: &mut Counted<'_, O>,
    x: &[f64],
    value0: f64,
    slope0: f64,
    direction: &[f64],
    mut lo: (f64, f64, f64),
    mut hi: (f64, f64, f64),
    at: &mut LineSearchPoint,
) -> Option<f64> {
    for _ in 0..MAX_LINE_SEARCH_STEPS {
        let width = hi.0 - lo.0;
        let mut alpha = if hi.1.is_finite() {
            cubic_minimiser(lo.0, lo.1, lo.2, hi.0, hi.1, hi.2)
        } else {
            f64::NAN
        };
        // Stay inside the bracket, away from its ends.
        let (inner_lo, inner_hi) = if width > 0.0 {
            (lo.0 + 0.1 * width, hi.0 - 0.1 * width)
        } else {
            (hi.0 - 0.1 * width, lo.0 + 0.1 * width)
        };
        if !alpha.is_finite() || alpha < inner_lo.min(inner_hi) || alpha > inner_hi.max(inner_lo) {
            alpha = lo.0 + 0.5 * width;
        }
        let (value, slope) = phi(f, x, direction, alpha, at);
        if !value.is_finite() || value > value0 + C1 * alpha * slope0 || value >= lo.1 {
            hi = (alpha, value, slope);
        } else {
            if slope.abs() <= -C2 * slope0 {
                return Some(alpha);
            }
            if slope * width >= 0.0 {
                hi = lo;
            }
            lo = (alpha, value, slope);
        }
        if (hi.0 - lo.0).abs() <= 1e-16 * lo.0.abs().max(1e-300) {
            break;
        }
    }
    // The bracket collapsed: settle for the best point with sufficient
    // decrease, if there is one.
    if lo.0 > 0.0 && lo.1 < value0 {
        let (value, _) = phi(f, x, direction, lo.0, at);
        if value < value0 {
            return Some(lo.0);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's banana: minimum 0 at (1, 1), a curved narrow valley.
    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
        g[1] = 200.0 * (b - a * a);
        (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
    }

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let found = minimise_bfgs(&mut rosenbrock, &[-1.2, 1.0], &BfgsOptions::default()).unwrap();
        assert!(
            (found.x[0] - 1.0).abs() < 1e-8 && (found.x[1] - 1.0).abs() < 1e-8,
            "{found:?}"
        );
        assert!(found.value < 1e-16);
        assert!(found.iterations < 100, "{found:?}");
    }

    #[test]
    fn solves_an_ill_conditioned_quadratic() {
        // f = ½ Σ λᵢ (xᵢ − i)² with eigenvalues spanning 8 decades.
        let lambdas = [1e-4, 1.0, 1e2, 1e4];
        let mut quadratic = |x: &[f64], g: &mut [f64]| {
            let mut value = 0.0;
            for i in 0..4 {
                let d = x[i] - i as f64;
                g[i] = lambdas[i] * d;
                value += 0.5 * lambdas[i] * d * d;
            }
            value
        };
        let options = BfgsOptions {
            gradient_tolerance: 1e-12,
            ..BfgsOptions::default()
        };
        let found = minimise_bfgs(&mut quadratic, &[5.0, 5.0, 5.0, 5.0], &options).unwrap();
        for (i, xi) in found.x.iter().enumerate() {
            assert!((xi - i as f64).abs() < 1e-7, "{found:?}");
        }
    }

    #[test]
    fn steps_back_from_where_the_objective_is_not_finite() {
        // f = x − ln x on x > 0 (NaN outside), minimum at 1; the first
        // steepest-descent step from 0.01 overshoots into x < 0.
        let mut f = |x: &[f64], g: &mut [f64]| {
            g[0] = 1.0 - 1.0 / x[0];
            x[0] - x[0].ln()
        };
        let found = minimise_bfgs(&mut f, &[0.01], &BfgsOptions::default()).unwrap();
        assert!((found.x[0] - 1.0).abs() < 1e-9, "{found:?}");
    }

    #[test]
    fn reports_an_unbounded_objective() {
        let mut f = |x: &[f64], g: &mut [f64]| {
            g[0] = -1.0;
            -x[0]
        };
        let options = BfgsOptions {
            max_iterations: 20,
            ..BfgsOptions::default()
        };
        let error = minimise_bfgs(&mut f, &[0.0], &options).unwrap_err();
        assert!(error.iterations <= 20, "{error:?}");
        assert!(error.x[0] > 1e6, "{error:?}");
    }

    #[test]
    fn refuses_a_non_finite_start() {
        let mut f = |_: &[f64], g: &mut [f64]| {
            g[0] = 0.0;
            f64::NAN
        };
        assert!(minimise_bfgs(&mut f, &[0.0], &BfgsOptions::default()).is_err());
    }
}
