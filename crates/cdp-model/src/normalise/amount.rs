//! Money as exact integers: yuan decimal strings to fen (or to 1/10000 yuan
//! for ad costs). Floats never touch money: 0.1 + 0.2 is not 0.3 in binary.

use std::fmt;

use super::json::Scalar;
use super::Rejection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AmountFault {
    NotDecimal,
    TooManyDecimals(u32),
    Negative,
    TooLarge,
}

impl fmt::Display for AmountFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotDecimal => f.write_str("is not a decimal number"),
            Self::TooManyDecimals(2) => f.write_str("has more than two decimals"),
            Self::TooManyDecimals(4) => f.write_str("has more than four decimals"),
            Self::TooManyDecimals(n) => write!(f, "has more than {n} decimals"),
            Self::Negative => f.write_str("is negative"),
            Self::TooLarge => f.write_str("is too large"),
        }
    }
}

/// A non-negative decimal like `"109.80"` scaled by 10^`scale` exactly.
/// Trailing zeros beyond `scale` are accepted (`"1.500"` is 1.50 yuan);
/// a non-zero digit there is a fraction of the unit and refused.
pub(crate) fn parse_decimal(s: &str, scale: u32) -> Result<i64, AmountFault> {
    let t = s.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return Err(AmountFault::NotDecimal);
    }
    let keep = frac.len().min(scale as usize);
    if frac[keep..].bytes().any(|b| b != b'0') {
        return Err(AmountFault::TooManyDecimals(scale));
    }
    let mut value: i64 = 0;
    for b in int.bytes().chain(frac[..keep].bytes()) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or(AmountFault::TooLarge)?;
    }
    for _ in keep..scale as usize {
        value = value.checked_mul(10).ok_or(AmountFault::TooLarge)?;
    }
    if negative && value != 0 {
        return Err(AmountFault::Negative);
    }
    Ok(value)
}

/// A money field given as a decimal string (the contract) or a JSON number
/// (read through its shortest decimal text), scaled by 10^`scale`.
pub(crate) fn money(field: &str, value: &Scalar<'_>, scale: u32) -> Result<i64, Rejection> {
    let text = value
        .text()
        .ok_or_else(|| Rejection::wrong_type(field, "a decimal string", value.type_name()))?;
    parse_decimal(&text, scale).map_err(|fault| Rejection::invalid(field, &text, fault))
}

/// A whole number of a minor unit (fen), as an integer or a digit string.
pub(crate) fn whole(field: &str, value: &Scalar<'_>) -> Result<i64, Rejection> {
    let text = value
        .text()
        .ok_or_else(|| Rejection::wrong_type(field, "an integer", value.type_name()))?;
    if text.contains('.') {
        return Err(Rejection::invalid(field, &text, "is not a whole number"));
    }
    parse_decimal(&text, 0).map_err(|fault| Rejection::invalid(field, &text, fault))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn yuan_to_fen_exactly() {
        assert_eq!(parse_decimal("109.80", 2), Ok(10980));
        assert_eq!(parse_decimal("99", 2), Ok(9900));
        assert_eq!(parse_decimal("0.1", 2), Ok(10));
        assert_eq!(parse_decimal(" 1.500 ", 2), Ok(150));
        assert_eq!(parse_decimal("0.35", 4), Ok(3500));
        assert_eq!(parse_decimal("0.002", 4), Ok(20));
        assert_eq!(parse_decimal(".5", 2), Ok(50));
        assert_eq!(parse_decimal("-0.00", 2), Ok(0));
    }

    #[test]
    fn faults_are_named() {
        assert_eq!(
            parse_decimal("12.345", 2),
            Err(AmountFault::TooManyDecimals(2))
        );
        assert_eq!(parse_decimal("-5.00", 2), Err(AmountFault::Negative));
        assert_eq!(
            parse_decimal("0.00001", 4),
            Err(AmountFault::TooManyDecimals(4))
        );
        for bad in [
            "", ".", "1.2.3", "1e3", "¥12", "1,000.00", "+1", "--1", " - 1",
        ] {
            assert_eq!(
                parse_decimal(bad, 2),
                Err(AmountFault::NotDecimal),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_decimal("99999999999999999999", 2),
            Err(AmountFault::TooLarge)
        );
    }

    #[test]
    fn money_reasons_read_well() {
        let r = money("total_amount", &Scalar::Str(Cow::Borrowed("12.345")), 2).unwrap_err();
        assert_eq!(
            r.to_string(),
            r#"`total_amount` "12.345" has more than two decimals"#
        );
        let r = money("total_amount", &Scalar::Str(Cow::Borrowed("-5.00")), 2).unwrap_err();
        assert_eq!(r.to_string(), r#"`total_amount` "-5.00" is negative"#);
        assert_eq!(money("total_amount", &Scalar::Float(109.8), 2), Ok(10980));
        assert!(money("total_amount", &Scalar::Bool(true), 2).is_err());
        assert_eq!(whole("amt_fen", &Scalar::Int(10980)), Ok(10980));
        assert!(whole("amt_fen", &Scalar::Str(Cow::Borrowed("109.80"))).is_err());
    }

    proptest::proptest! {
        // Fen written as a two-decimal yuan string must come back exactly.
        #[test]
        fn fen_round_trip(fen in 0i64..1_000_000_000_000) {
            let s = format!("{}.{:02}", fen / 100, fen % 100);
            proptest::prop_assert_eq!(parse_decimal(&s, 2), Ok(fen));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}", scale in 0u32..6) {
            let _ = parse_decimal(&s, scale);
        }
    }
}
