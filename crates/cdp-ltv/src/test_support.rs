//! Helpers shared by the unit tests.

/// Asserts that `objective`'s analytic gradient at `theta` matches central
/// finite differences (relative 1e-7).
pub fn assert_gradient_matches_finite_differences<const N: usize>(
    objective: impl Fn(&[f64; N], &mut [f64; N]) -> f64,
    theta: [f64; N],
) {
    let mut gradient = [0.0; N];
    objective(&theta, &mut gradient);
    let h = 1e-6;
    let mut scratch = [0.0; N];
    for i in 0..N {
        let (mut up, mut down) = (theta, theta);
        up[i] += h;
        down[i] -= h;
        let numeric = (objective(&up, &mut scratch) - objective(&down, &mut scratch)) / (2.0 * h);
        assert!(
            (gradient[i] - numeric).abs() <= 1e-7 * numeric.abs().max(1.0),
            "θ={theta:?} i={i}: {} vs {numeric}",
            gradient[i]
        );
    }
}
