//! The identifiers of a person (and of a household tablet), unique by
//! construction: each is derived from a bijection of (person id, kind, index),
//! so two persons can never collide on an identifier by accident. Collisions
//! that the world needs (shared tablets, store phones) are made on purpose.

use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::json::{push_hex, HEX_LOWER, HEX_UPPER};
use crate::rng::mix64;

/// What a unique number is for; part of the bijection's input so that two
/// kinds never share a value.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum Kind {
    Anon = 0,
    Openid = 1,
    Unionid = 2,
    Wecom = 3,
    /// A person's own phone: IDFA, or OAID / Android id / IMEI by index.
    Device = 4,
    EventId = 5,
    ClickId = 6,
    TabletAnon = 7,
    TabletDevice = 8,
}

/// Per-world keys: the same person id gives different identifiers for
/// different seeds.
#[derive(Debug, Clone)]
pub struct Keys {
    key: u64,
    phone_mul: u128,
    phone_add: u128,
    member_mul: u128,
    member_add: u128,
}

/// Mobile numbers are `prefix` + 9 digits; 5 prefixes give 5e9 numbers.
const PHONE_PREFIXES: [&[u8; 2]; 5] = [b"13", b"15", b"17", b"18", b"19"];
const PHONE_SPACE: u128 = 5_000_000_000;
/// Phone slots per person: coupon hunters carry up to this many.
pub const MAX_PHONES: usize = 4;
/// Numbers at and above this are reserved for store phones and the spare.
const PHONE_RESERVED: u64 = 4_990_000_000;
/// The largest world the phone and member-number spaces hold without reuse.
pub const MAX_PERSONS: u64 = PHONE_RESERVED / MAX_PHONES as u64;
const MEMBER_SPACE: u128 = 10_000_000_000;

impl Keys {
    pub fn new(seed: u64) -> Self {
        let k = mix64(seed ^ 0x05ee_d1d5);
        // Multipliers coprime with 2 and 5 make the affine maps bijective on
        // the decimal spaces.
        let coprime = |x: u64| {
            let mut m = (x | 1) as u128;
            if matches!(m % 5, 0) {
                m += 2;
            }
            m
        };
        Self {
            key: k,
            phone_mul: coprime(mix64(k ^ 1)) % PHONE_SPACE,
            phone_add: (mix64(k ^ 2) as u128) % PHONE_SPACE,
            member_mul: coprime(mix64(k ^ 3)) % MEMBER_SPACE,
            member_add: (mix64(k ^ 4) as u128) % MEMBER_SPACE,
        }
    }

    /// A number unique per (kind, owner, index) for owner < 2^48, index < 4096.
    pub fn unique(&self, kind: Kind, owner: u64, index: u64) -> u64 {
        debug_assert!(index < 4096);
        mix64(((owner << 16) | ((kind as u64) << 12) | index) ^ self.key)
    }

    fn phone_from_slot(&self, slot: u64) -> [u8; 11] {
        let y = (self.phone_mul * slot as u128 + self.phone_add) % PHONE_SPACE;
        let mut out = [0u8; 11];
        out[..2].copy_from_slice(PHONE_PREFIXES[(y / 1_000_000_000) as usize]);
        let mut rest = (y % 1_000_000_000) as u64;
        for i in (2..11).rev() {
            out[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        out
    }

    fn phone_slot_checked(&self, slot: u64) -> [u8; 11] {
        let p = self.phone_from_slot(slot);
        // 13800000000 is a placeholder clerks type (junk); the one slot that
        // lands on it takes the spare number nobody else uses.
        if &p == b"13800000000" {
            self.phone_from_slot(PHONE_SPACE as u64 - 1)
        } else {
            p
        }
    }

    /// The `k`-th mobile number of person `pid` (k < MAX_PHONES).
    pub fn person_phone(&self, pid: u64, k: usize) -> [u8; 11] {
        self.phone_slot_checked(pid * MAX_PHONES as u64 + k as u64)
    }

    /// A store's own landline-style mobile, typed by clerks for walk-ins.
    pub fn store_phone(&self, store: usize) -> [u8; 11] {
        self.phone_slot_checked(PHONE_RESERVED + store as u64)
    }

    /// `M` + 10 digits, a bijection of the person id.
    pub fn member_card(&self, pid: u64) -> String {
        let n = (self.member_mul * pid as u128 + self.member_add) % MEMBER_SPACE;
        format!("M{n:010}")
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `prefix` + 11 base62 chars encoding `v` (injective) + `pad` filler chars.
pub fn base62_id(prefix: &str, v: u64, pad: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + 11 + pad);
    s.push_str(prefix);
    let mut x = v;
    for _ in 0..11 {
        s.push(BASE62[(x % 62) as usize] as char);
        x /= 62;
    }
    let mut f = mix64(v ^ 0xf111);
    for _ in 0..pad {
        s.push(BASE62[(f % 62) as usize] as char);
        f /= 62;
        if f == 0 {
            f = mix64(v.wrapping_add(pad as u64));
        }
    }
    s
}

/// A UUID-shaped string whose first 64 bits are `v` (so it is unique iff `v` is).
pub fn uuid(v: u64, upper: bool) -> String {
    let lo = mix64(v ^ 0x0123_4567_89ab_cdef);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&v.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    let mut out = Vec::with_capacity(36);
    let table = if upper { HEX_UPPER } else { HEX_LOWER };
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(table[(b >> 4) as usize]);
        out.push(table[(b & 15) as usize]);
    }
    String::from_utf8(out).expect("hex is ASCII")
}

pub fn md5_hex(data: &[u8]) -> String {
    let mut out = Vec::with_capacity(32);
    push_hex(&mut out, &Md5::digest(data), false);
    String::from_utf8(out).expect("hex is ASCII")
}

pub fn sha256_hex(data: &[u8]) -> String {
    let mut out = Vec::with_capacity(64);
    push_hex(&mut out, &Sha256::digest(data), false);
    String::from_utf8(out).expect("hex is ASCII")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Ios,
    Android,
}

/// A mobile number with the hashes ad platforms carry.
#[derive(Debug, Clone)]
pub struct Phone {
    pub digits: [u8; 11],
    pub md5: String,
    pub sha256: String,
}

impl Phone {
    pub fn new(digits: [u8; 11]) -> Self {
        Self {
            md5: md5_hex(&digits),
            sha256: sha256_hex(&digits),
            digits,
        }
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.digits).expect("digits are ASCII")
    }
}

/// The advertising ids of one phone or tablet, canonical forms.
#[derive(Debug, Clone, Default)]
pub struct Device {
    /// Uppercase; `None` on Android.
    pub idfa: Option<String>,
    pub idfa_md5: Option<String>,
    /// Lowercase; `None` on iOS.
    pub oaid: Option<String>,
    pub oaid_md5: Option<String>,
    pub android_id: Option<String>,
    /// md5 of the IMEI of old Android phones (the IMEI itself is never sent).
    pub imei_md5: Option<String>,
}

impl Device {
    pub fn new(keys: &Keys, os: Os, kind: Kind, owner: u64, with_imei: bool) -> Self {
        match os {
            Os::Ios => {
                let idfa = uuid(keys.unique(kind, owner, 0), true);
                Self {
                    idfa_md5: Some(md5_hex(idfa.as_bytes())),
                    idfa: Some(idfa),
                    ..Self::default()
                }
            }
            Os::Android => {
                let oaid = uuid(keys.unique(kind, owner, 1), false);
                let mut android_id = Vec::with_capacity(16);
                push_hex(
                    &mut android_id,
                    &keys.unique(kind, owner, 2).to_be_bytes(),
                    false,
                );
                let imei_md5 = with_imei.then(|| {
                    // 15 digits starting 86 (a Chinese TAC), from the unique number.
                    let imei =
                        format!("86{:013}", keys.unique(kind, owner, 3) % 10_000_000_000_000);
                    md5_hex(imei.as_bytes())
                });
                Self {
                    oaid_md5: Some(md5_hex(oaid.as_bytes())),
                    oaid: Some(oaid),
                    android_id: Some(String::from_utf8(android_id).expect("hex")),
                    imei_md5,
                    ..Self::default()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_unique_mobiles_and_never_placeholders() {
        let keys = Keys::new(42);
        let mut seen = std::collections::HashSet::new();
        for pid in 0..50_000 {
            for k in 0..MAX_PHONES {
                let p = keys.person_phone(pid, k);
                assert_eq!(p[0], b'1');
                assert!(p.iter().all(u8::is_ascii_digit));
                assert!(seen.insert(p), "duplicate phone");
            }
        }
        for s in 0..50 {
            assert!(seen.insert(keys.store_phone(s)), "store phone collides");
        }
        assert!(!seen.contains(b"13800000000"));
    }

    #[test]
    fn member_cards_are_unique() {
        let keys = Keys::new(7);
        let cards: std::collections::HashSet<_> =
            (0..20_000).map(|p| keys.member_card(p)).collect();
        assert_eq!(cards.len(), 20_000);
        assert!(cards.iter().all(|c| c.len() == 11 && c.starts_with('M')));
    }

    #[test]
    fn uuid_and_base62_shapes() {
        let u = uuid(0xdead_beef, true);
        assert_eq!(u.len(), 36);
        assert_eq!(u, u.to_uppercase());
        assert_eq!(&u[..8], "00000000");
        assert_ne!(base62_id("o", 1, 16), base62_id("o", 2, 16));
        assert_eq!(base62_id("o", 1, 16).len(), 28);
    }

    #[test]
    fn hashes_match_known_values() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(sha256_hex(b"").len(), 64);
        let p = Phone::new(*b"13800138000");
        assert_eq!(p.md5, md5_hex(b"13800138000"));
        assert_eq!(p.as_str(), "13800138000");
    }
}
