//! Phone numbers as clerks and SDKs type them (contract §1 "seen in real
//! feeds": `+86 138-0013-8000`, `8613800138000`, `138 0013 8000`).

/// A parsed phone number: the digits only, without any prefix.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phone {
    /// The 11-digit national number of a mainland mobile.
    Mainland(String),
    /// Any other number: country code and subscriber number, no `+`.
    Other(String),
}

/// Shortest and longest number accepted outside the mainland: E.164 allows
/// at most 15 digits, and nothing shorter than 7 reaches a person.
const OTHER_MIN_DIGITS: usize = 7;
const OTHER_MAX_DIGITS: usize = 15;

/// 11 digits starting with 1: the shape of every mainland mobile number.
pub(crate) fn is_mainland_mobile(digits: &str) -> bool {
    digits.len() == 11 && digits.starts_with('1') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a trimmed phone number; `None` when it is not one.
#[cfg(test)]
pub(crate) fn parse(raw: &str) -> Option<Phone> {
    let mut digits = [0u8; MAX_TYPED_DIGITS];
    match classify(raw, &mut digits)? {
        (true, d) => Some(Phone::Mainland(d.to_string())),
        (false, d) => Some(Phone::Other(d.to_string())),
    }
}

/// Appends the canonical form of a trimmed phone number (`+86` and the
/// national number for mainland mobiles, `+` and the digits otherwise);
/// false when it is not a phone number.
pub(crate) fn canonical_into(raw: &str, out: &mut String) -> bool {
    let mut digits = [0u8; MAX_TYPED_DIGITS];
    match classify(raw, &mut digits) {
        Some((mainland, d)) => {
            out.push_str(if mainland { "+86" } else { "+" });
            out.push_str(d);
            true
        }
        None => false,
    }
}

/// More digits than any prefix and number together: not a phone number.
const MAX_TYPED_DIGITS: usize = 32;

/// Whether `raw` is a mainland mobile, and its national number or its
/// country code and number; the digits live in `buf`.
fn classify<'b>(raw: &str, buf: &'b mut [u8; MAX_TYPED_DIGITS]) -> Option<(bool, &'b str)> {
    let (explicit_plus, rest) = match raw.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let mut len = 0;
    for b in rest.bytes() {
        match b {
            b'0'..=b'9' => {
                *buf.get_mut(len)? = b;
                len += 1;
            }
            b' ' | b'-' | b'.' | b'(' | b')' => {}
            _ => return None,
        }
    }
    // Only ASCII digits were kept.
    let digits = std::str::from_utf8(&buf[..len]).ok()?;
    // `00` is the international call prefix from China; after it, or after
    // `+`, the number starts with its country code.
    let international = if explicit_plus {
        Some(digits)
    } else {
        digits.strip_prefix("00")
    };
    let mainland = |national: &'b str| Some((true, national));
    match international {
        Some(intl) => match intl.strip_prefix("86") {
            Some(national) if is_mainland_mobile(national) => mainland(national),
            _ => other(intl),
        },
        None if is_mainland_mobile(digits) => mainland(digits),
        None => match digits.strip_prefix("86") {
            Some(national) if is_mainland_mobile(national) => mainland(national),
            // Without a prefix we cannot know the country of a number that
            // is not a mainland mobile; a leading 0 is a domestic trunk
            // prefix, never part of a country code.
            _ => other(digits),
        },
    }
}

fn other(digits: &str) -> Option<(bool, &str)> {
    let ok =
        (OTHER_MIN_DIGITS..=OTHER_MAX_DIGITS).contains(&digits.len()) && !digits.starts_with('0');
    ok.then_some((false, digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mainland(s: &str) -> Option<Phone> {
        Some(Phone::Mainland(s.to_string()))
    }

    #[test]
    fn mainland_prefixes_are_all_accepted() {
        for raw in [
            "13800138000",
            "+8613800138000",
            "8613800138000",
            "008613800138000",
            "+86 (138) 0013.8000",
        ] {
            assert_eq!(parse(raw), mainland("13800138000"), "{raw}");
        }
    }

    #[test]
    fn non_mainland_numbers_keep_country_code() {
        assert_eq!(
            parse("+1 (415) 555-0100"),
            Some(Phone::Other("14155550100".into()))
        );
        assert_eq!(
            parse("00852 9123 4567"),
            Some(Phone::Other("85291234567".into()))
        );
        // A landline with the domestic trunk 0 has no country code.
        assert_eq!(parse("021-12345678"), None);
        assert_eq!(
            parse("+86 21 1234 5678"),
            Some(Phone::Other("862112345678".into()))
        );
    }

    #[test]
    fn garbage_is_not_a_phone() {
        for raw in [
            "",
            "+",
            "abc",
            "138-0013-800O",
            "123456",
            "++8613800138000",
            "1234567890123456",
        ] {
            assert_eq!(parse(raw), None, "{raw:?}");
        }
    }
}
