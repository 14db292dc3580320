//! Identifier types and their canonical forms (contract §3).
//!
//! Canonical forms are exact because the identity stage joins on them: the
//! same person's phone typed three ways by three systems must meet as one
//! value. Derived hashes (`phone_md5`, `idfa_md5`, …) are added here so that a
//! hashed id sent by an ad platform meets the raw id another source sent.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdType {
    Phone,
    PhoneMd5,
    PhoneSha256,
    Email,
    Openid,
    Unionid,
    MemberId,
    AnonymousId,
    WecomExternalUserid,
    AndroidId,
    Idfa,
    IdfaMd5,
    Oaid,
    OaidMd5,
    ImeiMd5,
}

impl IdType {
    pub const ALL: [IdType; 15] = [
        Self::Phone,
        Self::PhoneMd5,
        Self::PhoneSha256,
        Self::Email,
        Self::Openid,
        Self::Unionid,
        Self::MemberId,
        Self::AnonymousId,
        Self::WecomExternalUserid,
        Self::AndroidId,
        Self::Idfa,
        Self::IdfaMd5,
        Self::Oaid,
        Self::OaidMd5,
        Self::ImeiMd5,
    ];

    /// The `id_type` string of the lake and the contract.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::PhoneMd5 => "phone_md5",
            Self::PhoneSha256 => "phone_sha256",
            Self::Email => "email",
            Self::Openid => "openid",
            Self::Unionid => "unionid",
            Self::MemberId => "member_id",
            Self::AnonymousId => "anonymous_id",
            Self::WecomExternalUserid => "wecom_external_userid",
            Self::AndroidId => "android_id",
            Self::Idfa => "idfa",
            Self::IdfaMd5 => "idfa_md5",
            Self::Oaid => "oaid",
            Self::OaidMd5 => "oaid_md5",
            Self::ImeiMd5 => "imei_md5",
        }
    }
}

impl fmt::Display for IdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown identifier type {0:?}")]
pub struct UnknownIdType(pub String);

// Mapped-source configs name identifier types as TOML keys.
impl<'de> serde::Deserialize<'de> for IdType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for IdType {
    type Err = UnknownIdType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownIdType(s.to_string()))
    }
}

/// A canonical identifier: its type and canonical value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier {
    pub id_type: IdType,
    pub value: String,
}

impl Identifier {
    pub fn new(id_type: IdType, value: impl Into<String>) -> Self {
        Self {
            id_type,
            value: value.into(),
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.id_type, self.value)
    }
}

pub use crate::junk::JunkList;

use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::phone;

/// The canonical identifier for `raw`, or `None` when it is invalid or junk.
/// Derived hashes are not included: see [`canonicalise_into`].
pub fn canonicalise(id_type: IdType, raw: &str, junk: &JunkList) -> Option<Identifier> {
    let value = canonical_value(id_type, raw)?;
    if junk.is_junk(id_type, &value) {
        return None;
    }
    Some(Identifier { id_type, value })
}

/// Appends the canonical identifier for `raw` and the hashes derived from it
/// (contract §3: every mainland phone yields `phone_md5` and `phone_sha256`,
/// every IDFA `idfa_md5`, every OAID `oaid_md5`). Appends nothing when `raw`
/// is invalid or junk. The caller sorts and deduplicates.
pub fn canonicalise_into(id_type: IdType, raw: &str, junk: &JunkList, out: &mut Vec<Identifier>) {
    let mut ids = IdBuffer::default();
    ids.push_canonical(id_type, raw, junk);
    out.extend(ids.iter().map(|(t, v)| Identifier::new(t, v)));
}

/// Appends the lowercase hex digest of a value to a buffer.
type HexHash = fn(&[u8], &mut String);

/// One identifier of an [`IdBuffer`]: its type and where its value is in the
/// buffer's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdSpan {
    pub id_type: IdType,
    start: u32,
    end: u32,
}

/// An event's identifiers without an allocation per value: every value is
/// appended to one text buffer, reused from message to message.
#[derive(Debug, Clone, Default)]
pub struct IdBuffer {
    spans: Vec<IdSpan>,
    text: String,
}

impl IdBuffer {
    pub fn clear(&mut self) {
        self.spans.clear();
        self.text.clear();
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (IdType, &str)> + '_ {
        self.spans
            .iter()
            .map(|s| (s.id_type, &self.text[s.start as usize..s.end as usize]))
    }

    /// Appends an identifier that is already canonical.
    pub fn push(&mut self, id_type: IdType, value: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(value);
        self.close(id_type, start);
    }

    fn close(&mut self, id_type: IdType, start: u32) {
        let end = self.text.len() as u32;
        self.spans.push(IdSpan {
            id_type,
            start,
            end,
        });
    }

    fn value(&self, s: &IdSpan) -> &str {
        &self.text[s.start as usize..s.end as usize]
    }

    /// Appends the canonical form of `raw` and the hashes derived from it,
    /// as [`canonicalise_into`] does; nothing when `raw` is invalid or junk.
    pub fn push_canonical(&mut self, id_type: IdType, raw: &str, junk: &JunkList) {
        let start = self.text.len();
        if !canonical_value_into(id_type, raw, &mut self.text) {
            self.text.truncate(start);
            return;
        }
        if junk.is_junk(id_type, &self.text[start..]) {
            self.text.truncate(start);
            return;
        }
        self.close(id_type, start as u32);
        let end = self.text.len();
        // The value to hash is copied out of the buffer the hash goes into.
        let mut hashed = [0u8; 64];
        let derive: &[(IdType, HexHash)] = match id_type {
            IdType::Phone => {
                // Only mainland mobiles have the 11-digit national number
                // that ad platforms hash.
                let Some(national) = self.text[start..end]
                    .strip_prefix("+86")
                    .filter(|n| phone::is_mainland_mobile(n))
                else {
                    return;
                };
                hashed[..national.len()].copy_from_slice(national.as_bytes());
                self.derive(IdType::PhoneMd5, &hashed[..11], push_md5_hex, junk);
                self.derive(IdType::PhoneSha256, &hashed[..11], push_sha256_hex, junk);
                return;
            }
            IdType::Idfa => &[(IdType::IdfaMd5, push_md5_hex)],
            IdType::Oaid => &[(IdType::OaidMd5, push_md5_hex)],
            _ => return,
        };
        let len = end - start;
        if len > hashed.len() {
            // Longer than any real device id: hash from a copy.
            let value = self.text[start..end].to_string();
            for (t, hash) in derive {
                self.derive(*t, value.as_bytes(), *hash, junk);
            }
            return;
        }
        hashed[..len].copy_from_slice(&self.text.as_bytes()[start..end]);
        for (t, hash) in derive {
            self.derive(*t, &hashed[..len], *hash, junk);
        }
    }

    fn derive(
        &mut self,
        id_type: IdType,
        value: &[u8],
        hash: fn(&[u8], &mut String),
        junk: &JunkList,
    ) {
        let start = self.text.len();
        hash(value, &mut self.text);
        if junk.is_junk(id_type, &self.text[start..]) {
            self.text.truncate(start);
        } else {
            self.close(id_type, start as u32);
        }
    }

    /// Sorts by (type, value) and removes duplicates: the canonical order of
    /// an event's identifiers.
    pub fn sort_dedup(&mut self) {
        let mut spans = std::mem::take(&mut self.spans);
        spans.sort_unstable_by(|a, b| {
            a.id_type
                .cmp(&b.id_type)
                .then_with(|| self.value(a).cmp(self.value(b)))
        });
        spans.dedup_by(|a, b| a.id_type == b.id_type && self.value(a) == self.value(b));
        self.spans = spans;
    }
}

/// The canonical form of `raw` for its type, before the junk check; `None`
/// when the value cannot be an identifier of that type at all.
pub(crate) fn canonical_value(id_type: IdType, raw: &str) -> Option<String> {
    let mut out = String::new();
    canonical_value_into(id_type, raw, &mut out).then_some(out)
}

/// Appends the canonical form of `raw` to `out`; false (with `out` possibly
/// holding a partial value the caller truncates) when it is not one.
fn canonical_value_into(id_type: IdType, raw: &str, out: &mut String) -> bool {
    let v = raw.trim();
    if v.is_empty() {
        return false;
    }
    match id_type {
        IdType::Phone => phone::canonical_into(v, out),
        IdType::Email => {
            // Only a shape check: an address without a local part or domain
            // cannot reach anyone and would only merge strangers.
            let Some(at) = v.find('@') else {
                return false;
            };
            if at == 0 || at + 1 == v.len() || v.chars().any(char::is_whitespace) {
                return false;
            }
            if v.is_ascii() {
                out.extend(v.bytes().map(|b| char::from(b.to_ascii_lowercase())));
            } else {
                out.push_str(&v.to_lowercase());
            }
            true
        }
        IdType::PhoneMd5 | IdType::IdfaMd5 | IdType::OaidMd5 | IdType::ImeiMd5 => {
            hex_of_len_into(v, 32, out)
        }
        IdType::PhoneSha256 => hex_of_len_into(v, 64, out),
        IdType::Idfa => {
            push_ascii_mapped(v, out, u8::to_ascii_uppercase);
            true
        }
        IdType::Oaid => {
            push_ascii_mapped(v, out, u8::to_ascii_lowercase);
            true
        }
        IdType::Openid
        | IdType::Unionid
        | IdType::MemberId
        | IdType::AnonymousId
        | IdType::WecomExternalUserid
        | IdType::AndroidId => {
            out.push_str(v);
            true
        }
    }
}

/// `v` with its ASCII letters mapped (what `to_ascii_uppercase` does), other
/// characters kept.
fn push_ascii_mapped(v: &str, out: &mut String, map: fn(&u8) -> u8) {
    if v.is_ascii() {
        out.extend(v.bytes().map(|b| char::from(map(&b))));
    } else {
        out.extend(v.chars().map(|c| {
            if c.is_ascii() {
                char::from(map(&(c as u8)))
            } else {
                c
            }
        }));
    }
}

/// Lowercase hex of exactly `len` digits; platforms send some hashes in
/// uppercase, and anything else is a truncated or mislabelled value.
fn hex_of_len_into(v: &str, len: usize, out: &mut String) -> bool {
    if v.len() != len || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    push_ascii_mapped(v, out, u8::to_ascii_lowercase);
    true
}

pub(crate) fn md5_hex(s: &str) -> String {
    let mut out = String::with_capacity(32);
    push_md5_hex(s.as_bytes(), &mut out);
    out
}

pub(crate) fn sha256_hex(s: &str) -> String {
    let mut out = String::with_capacity(64);
    push_sha256_hex(s.as_bytes(), &mut out);
    out
}

fn push_md5_hex(v: &[u8], out: &mut String) {
    push_lower_hex(&Md5::digest(v), out);
}

fn push_sha256_hex(v: &[u8], out: &mut String) {
    push_lower_hex(&Sha256::digest(v), out);
}

/// Lowercase hex. Hand-written because `hex::encode` goes through a char
/// iterator and showed up in profiles of the normalisers (every mainland
/// phone is hashed twice).
pub(crate) fn push_lower_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

#[cfg(test)]
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    push_lower_hex(bytes, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(t: IdType, raw: &str) -> Option<String> {
        canonicalise(t, raw, &JunkList::default()).map(|i| i.value)
    }

    fn all(t: IdType, raw: &str) -> Vec<String> {
        let mut out = Vec::new();
        canonicalise_into(t, raw, &JunkList::default(), &mut out);
        out.sort();
        out.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn phone_forms_from_real_feeds_meet() {
        for raw in [
            "+86 138-0013-8000",
            "8613800138000",
            "138 0013 8000",
            "13800138000",
            "0086 138.0013.8000",
            "(138)00138000",
        ] {
            assert_eq!(
                canon(IdType::Phone, raw).as_deref(),
                Some("+8613800138000"),
                "{raw}"
            );
        }
    }

    #[test]
    fn mainland_phone_derives_hashes_of_national_number() {
        assert_eq!(
            all(IdType::Phone, "8613900139000"),
            vec![
                "phone:+8613900139000".to_string(),
                format!("phone_md5:{}", md5_hex("13900139000")),
                format!("phone_sha256:{}", sha256_hex("13900139000")),
            ]
        );
        // Known value: md5("13900139000") must not be computed on "+86…".
        assert_ne!(md5_hex("13900139000"), md5_hex("+8613900139000"));
    }

    #[test]
    fn other_numbers_are_plus_and_digits_without_derived_hashes() {
        assert_eq!(
            all(IdType::Phone, "+852 9123 4567"),
            vec!["phone:+85291234567".to_string()]
        );
        assert_eq!(canon(IdType::Phone, "123"), None);
        assert_eq!(canon(IdType::Phone, "1234567890123456"), None);
        assert_eq!(canon(IdType::Phone, "138abc00138000"), None);
    }

    #[test]
    fn placeholder_mobiles_are_junk_in_any_format() {
        for raw in [
            "13800000000",
            "+86 138 0000 0000",
            "8613800000000",
            "00000000000",
            "11111111111",
            "12345678901",
            "+86 123-4567-8901",
        ] {
            assert_eq!(canon(IdType::Phone, raw), None, "{raw}");
        }
    }

    #[test]
    fn idfa_is_uppercased_with_md5_of_uppercase() {
        let upper = "6D92078A-8246-4BA4-AE5B-76104861E7DC";
        assert_eq!(
            all(IdType::Idfa, "6d92078a-8246-4ba4-ae5b-76104861e7dc"),
            vec![
                format!("idfa:{upper}"),
                format!("idfa_md5:{}", md5_hex(upper))
            ]
        );
        assert_eq!(
            canon(IdType::Idfa, "00000000-0000-0000-0000-000000000000"),
            None
        );
    }

    #[test]
    fn oaid_is_lowercased_with_md5_of_lowercase() {
        let lower = "a1b2c3d4-e5f6-4711-8899-aabbccddeeff";
        let got = all(IdType::Oaid, "A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF");
        assert_eq!(
            got,
            vec![
                format!("oaid:{lower}"),
                format!("oaid_md5:{}", md5_hex(lower))
            ]
        );
    }

    #[test]
    fn hashes_are_lowercased_and_length_checked() {
        assert_eq!(
            canon(IdType::PhoneMd5, "E4C5C8F2B8E1C4D2A9B7F6E5D4C3B2A1").as_deref(),
            Some("e4c5c8f2b8e1c4d2a9b7f6e5d4c3b2a1")
        );
        assert_eq!(canon(IdType::PhoneMd5, "e4c5c8f2"), None);
        assert_eq!(
            canon(IdType::PhoneSha256, "e4c5c8f2b8e1c4d2a9b7f6e5d4c3b2a1"),
            None
        );
        assert_eq!(
            canon(IdType::ImeiMd5, "zz41d8cd98f00b204e9800998ecf8427e"),
            None
        );
        assert_eq!(
            canon(IdType::ImeiMd5, "d41d8cd98f00b204e9800998ecf8427e"),
            None,
            "md5 of empty string"
        );
        assert_eq!(
            canon(
                IdType::PhoneSha256,
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
            ),
            None,
            "sha256 of empty string"
        );
    }

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(
            canon(IdType::Email, "  Li.Ming@Example.COM ").as_deref(),
            Some("li.ming@example.com")
        );
        assert_eq!(canon(IdType::Email, "no-at-sign"), None);
        assert_eq!(canon(IdType::Email, "NULL"), None);
    }

    #[test]
    fn opaque_ids_keep_case_and_drop_junk_words() {
        assert_eq!(
            canon(IdType::Openid, " oAbc123xyz ").as_deref(),
            Some("oAbc123xyz")
        );
        for junk in [
            "",
            "  ",
            "null",
            "NULL",
            "None",
            "unknown",
            "undefined",
            "(null)",
            "0",
            "-1",
        ] {
            assert_eq!(canon(IdType::Unionid, junk), None, "{junk:?}");
        }
    }

    #[test]
    fn lower_hex_matches_known_digests() {
        assert_eq!(lower_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn id_type_names_round_trip() {
        for t in IdType::ALL {
            assert_eq!(t.as_str().parse::<IdType>().unwrap(), t);
        }
        assert!("imei".parse::<IdType>().is_err());
    }

    proptest::proptest! {
        // Canonical forms are fixed points: re-canonicalising a stored value
        // (e.g. a config extra or an audience upload) must not change it.
        #[test]
        fn canonical_values_are_idempotent(raw in "\\PC{0,24}", t in 0usize..15) {
            let t = IdType::ALL[t];
            if let Some(v) = canon(t, &raw) {
                proptest::prop_assert_eq!(canon(t, &v), Some(v.clone()));
            }
        }

        #[test]
        fn phone_digits_in_any_layout_give_one_value(n in 13_000_000_000u64..20_000_000_000) {
            let d = n.to_string();
            let spaced = format!("+86 {} {} {}", &d[..3], &d[3..7], &d[7..]);
            proptest::prop_assert_eq!(canon(IdType::Phone, &spaced), canon(IdType::Phone, &d));
        }
    }
}
