//! The many raw spellings of one identifier seen in real feeds, and the junk
//! values (contract §3) that stand in for a missing one.

use rand::rngs::SmallRng;

use crate::rng::Draw;

/// Junk strings sent instead of a value (contract §3, all of them junk).
pub const JUNK: [&str; 9] = [
    "null",
    "undefined",
    "",
    "None",
    "unknown",
    "(null)",
    "0",
    "-1",
    " ",
];

/// Mobiles clerks type when a customer declines to give one (contract §1).
pub const PLACEHOLDER_MOBILES: [&str; 4] =
    ["13800000000", "00000000000", "11111111111", "12345678901"];

/// The all-zero IDFA of iOS "limit ad tracking".
pub const ZERO_IDFA: &str = "00000000-0000-0000-0000-000000000000";
/// md5 of the empty string, sent as `imei_md5` by ad SDKs that had no IMEI.
pub const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

pub fn junk(rng: &mut SmallRng) -> &'static str {
    rng.pick::<&str>(&JUNK)
}

fn grouped(out: &mut Vec<u8>, d: &[u8; 11], sep: u8) {
    out.extend_from_slice(&d[..3]);
    out.push(sep);
    out.extend_from_slice(&d[3..7]);
    out.push(sep);
    out.extend_from_slice(&d[7..]);
}

/// Tracking SDK `user.phone`: whatever the form field accepted.
pub fn push_phone_online(out: &mut Vec<u8>, d: &[u8; 11], rng: &mut SmallRng) {
    match rng.weighted(&[55, 10, 10, 10, 10, 5]) {
        0 => out.extend_from_slice(d),
        1 => {
            out.extend_from_slice(b"+86 ");
            grouped(out, d, b'-');
        }
        2 => {
            out.extend_from_slice(b"86");
            out.extend_from_slice(d);
        }
        3 => grouped(out, d, b' '),
        4 => {
            out.extend_from_slice(b"+86");
            out.extend_from_slice(d);
        }
        _ => {
            out.extend_from_slice(b"+86 ");
            grouped(out, d, b' ');
        }
    }
}

/// POS / membership desk `mobile`, as typed by a clerk.
pub fn push_phone_offline(out: &mut Vec<u8>, d: &[u8; 11], rng: &mut SmallRng) {
    match rng.weighted(&[65, 15, 10, 10]) {
        0 => out.extend_from_slice(d),
        1 => grouped(out, d, b' '),
        2 => {
            out.extend_from_slice(b"+86 ");
            out.extend_from_slice(d);
        }
        _ => {
            out.extend_from_slice(b"+86");
            out.extend_from_slice(d);
        }
    }
}

/// Order system `buyer.phone`.
pub fn push_phone_buyer(out: &mut Vec<u8>, d: &[u8; 11], rng: &mut SmallRng) {
    match rng.weighted(&[75, 15, 10]) {
        0 => out.extend_from_slice(d),
        1 => {
            out.extend_from_slice(b"+86 ");
            grouped(out, d, b' ');
        }
        _ => {
            out.extend_from_slice(b"+86");
            out.extend_from_slice(d);
        }
    }
}

/// An email as typed: sometimes capitalised, upper-case domain, or padded.
pub fn push_email_raw(out: &mut Vec<u8>, canonical: &str, rng: &mut SmallRng) {
    match rng.weighted(&[70, 10, 10, 10]) {
        0 => out.extend_from_slice(canonical.as_bytes()),
        1 => {
            let mut cs = canonical.chars();
            if let Some(c) = cs.next() {
                out.extend_from_slice(c.to_ascii_uppercase().to_string().as_bytes());
            }
            out.extend_from_slice(cs.as_str().as_bytes());
        }
        2 => out.extend_from_slice(canonical.to_ascii_uppercase().as_bytes()),
        _ => {
            out.extend_from_slice(b"  ");
            out.extend_from_slice(canonical.as_bytes());
            out.push(b' ');
        }
    }
}

/// A hash as a platform sends it: lower-case hex, or upper-case on some.
pub fn push_hash(out: &mut Vec<u8>, hex_lower: &str, upper: bool) {
    if upper {
        out.extend(hex_lower.bytes().map(|b| b.to_ascii_uppercase()));
    } else {
        out.extend_from_slice(hex_lower.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded;

    #[test]
    fn every_phone_spelling_keeps_the_eleven_digits_in_order() {
        let mut rng = seeded(1, 1, 1);
        let d = *b"13912345678";
        let mut spellings = std::collections::HashSet::new();
        for _ in 0..500 {
            for f in [push_phone_online, push_phone_offline, push_phone_buyer] {
                let mut b = Vec::new();
                f(&mut b, &d, &mut rng);
                let digits: Vec<u8> = b.iter().copied().filter(u8::is_ascii_digit).collect();
                let national = if digits.len() == 13 {
                    &digits[2..]
                } else {
                    &digits[..]
                };
                assert_eq!(national, &d[..], "{}", String::from_utf8_lossy(&b));
                spellings.insert(b);
            }
        }
        assert!(spellings.len() >= 6, "only {} spellings", spellings.len());
    }

    #[test]
    fn email_spellings_canonicalise_back() {
        let mut rng = seeded(2, 2, 2);
        for _ in 0..100 {
            let mut b = Vec::new();
            push_email_raw(&mut b, "li_3k@qq.com", &mut rng);
            assert_eq!(
                String::from_utf8(b).unwrap().trim().to_lowercase(),
                "li_3k@qq.com"
            );
        }
    }

    #[test]
    fn junk_is_junk_by_the_contract_rules() {
        for j in JUNK {
            let t = j.trim().to_ascii_lowercase();
            assert!([
                "",
                "null",
                "none",
                "unknown",
                "undefined",
                "(null)",
                "0",
                "-1"
            ]
            .contains(&t.as_str()));
        }
    }
}
