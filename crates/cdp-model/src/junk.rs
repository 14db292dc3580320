//! Values that are never identifiers (contract §3), plus config extras.
//!
//! Junk must go before identity resolution: one `unknown` openid or one
//! placeholder mobile shared by every walk-in customer would merge thousands
//! of strangers into one person.

use std::collections::HashSet;

use crate::error::ModelError;
use crate::identifier::{self, IdType};
use crate::phone;

/// Words systems write instead of leaving a field empty; compared ignoring case.
const JUNK_WORDS: [&str; 7] = ["null", "none", "unknown", "undefined", "(null)", "0", "-1"];

/// What clerks type when a customer declines to give a number (contract §1).
const PLACEHOLDER_MOBILES: [&str; 4] = ["13800000000", "00000000000", "11111111111", "12345678901"];

/// md5 and sha256 of the empty string: a platform hashed a missing value.
const MD5_EMPTY: &str = "d41d8cd98f00b204e9800998ecf8427e";
const SHA256_EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The id an iOS/Android device reports when the user disabled ad tracking.
const ZERO_AD_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The junk list: the contract's built-in values plus extras from the
/// pipeline config. `Default` is the built-in list alone.
#[derive(Debug, Clone)]
pub struct JunkList {
    /// Hashes that stand for junk: md5/sha256 of the empty string, of the
    /// zero ad id and of the placeholder mobiles (platforms hash those too).
    junk_hashes: HashSet<String>,
    /// Extra canonical values per id type, indexed by `IdType::ALL` order.
    extra: Vec<HashSet<String>>,
    has_extra: bool,
}

impl Default for JunkList {
    fn default() -> Self {
        let mut junk_hashes: HashSet<String> =
            [MD5_EMPTY.to_string(), SHA256_EMPTY.to_string()].into();
        for mobile in PLACEHOLDER_MOBILES {
            junk_hashes.insert(identifier::md5_hex(mobile));
            junk_hashes.insert(identifier::sha256_hex(mobile));
        }
        junk_hashes.insert(identifier::md5_hex(ZERO_AD_ID));
        Self {
            junk_hashes,
            extra: vec![HashSet::new(); IdType::ALL.len()],
            has_extra: false,
        }
    }
}

fn type_index(t: IdType) -> usize {
    IdType::ALL.iter().position(|x| *x == t).unwrap_or(0)
}

impl JunkList {
    /// The built-in list plus `extra` entries from the pipeline config: each
    /// `VALUE` (junk for every type) or `TYPE:VALUE` (e.g.
    /// `phone:+8613912345678`). Values are canonicalised per type, so
    /// `phone:139 1234 5678` works as well.
    pub fn with_extra(extra: &[String]) -> Result<Self, ModelError> {
        let mut list = Self::default();
        for entry in extra {
            let (types, value): (Vec<IdType>, &str) = match entry.split_once(':') {
                Some((t, v)) => {
                    let t =
                        t.trim()
                            .parse::<IdType>()
                            .map_err(|_| ModelError::JunkUnknownType {
                                entry: entry.clone(),
                                id_type: t.trim().to_string(),
                            })?;
                    (vec![t], v.trim())
                }
                None => (IdType::ALL.to_vec(), entry.trim()),
            };
            if value.is_empty() {
                return Err(ModelError::JunkEmpty {
                    entry: entry.clone(),
                });
            }
            for t in types {
                let set = &mut list.extra[type_index(t)];
                set.insert(value.to_string());
                if let Some(canonical) = identifier::canonical_value(t, value) {
                    set.insert(canonical);
                }
            }
            list.has_extra = true;
        }
        Ok(list)
    }

    /// Whether `canonical_value`, already in the canonical form of `id_type`,
    /// is junk.
    pub fn is_junk(&self, id_type: IdType, canonical_value: &str) -> bool {
        let v = canonical_value.trim();
        if v.is_empty() || JUNK_WORDS.iter().any(|w| w.eq_ignore_ascii_case(v)) {
            return true;
        }
        let builtin = match id_type {
            IdType::Phone => is_placeholder_phone(v),
            IdType::Idfa | IdType::Oaid => v.bytes().all(|b| b == b'0' || b == b'-'),
            IdType::PhoneMd5
            | IdType::PhoneSha256
            | IdType::IdfaMd5
            | IdType::OaidMd5
            | IdType::ImeiMd5 => self.junk_hashes.contains(v),
            _ => false,
        };
        builtin || (self.has_extra && self.extra[type_index(id_type)].contains(v))
    }
}

/// Placeholder mobiles are compared on national digits, whatever the prefix.
fn is_placeholder_phone(v: &str) -> bool {
    // Fast path for canonical values (`+` and digits), which is what the
    // normalisers pass: no allocation, no re-parse.
    if let Some(digits) = v
        .strip_prefix('+')
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
    {
        let national = digits
            .strip_prefix("86")
            .filter(|n| n.len() == 11)
            .unwrap_or(digits);
        return PLACEHOLDER_MOBILES.contains(&national) || PLACEHOLDER_MOBILES.contains(&digits);
    }
    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
    if PLACEHOLDER_MOBILES.contains(&digits.as_str()) {
        return true;
    }
    let mut canonical = String::new();
    if !phone::canonical_into(v, &mut canonical) {
        return false;
    }
    // Mainland mobiles compare on the national number, other numbers on
    // country code and number, as `phone::classify` splits them.
    let national = canonical
        .strip_prefix("+86")
        .filter(|n| phone::is_mainland_mobile(n))
        .or_else(|| canonical.strip_prefix('+'))
        .unwrap_or(&canonical);
    PLACEHOLDER_MOBILES.contains(&national)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_covers_the_contract() {
        let j = JunkList::default();
        assert!(j.is_junk(IdType::Openid, "NULL"));
        assert!(j.is_junk(IdType::Openid, "(null)"));
        assert!(j.is_junk(IdType::MemberId, " "));
        assert!(j.is_junk(IdType::Phone, "+8613800000000"));
        assert!(
            j.is_junk(IdType::Phone, "+11111111111"),
            "other-number form of a placeholder"
        );
        assert!(
            j.is_junk(IdType::Phone, "138 0000 0000"),
            "non-canonical input still caught"
        );
        assert!(j.is_junk(IdType::Idfa, ZERO_AD_ID));
        assert!(j.is_junk(IdType::ImeiMd5, MD5_EMPTY));
        assert!(j.is_junk(IdType::PhoneSha256, SHA256_EMPTY));
        assert!(j.is_junk(IdType::PhoneMd5, &identifier::md5_hex("13800000000")));
        assert!(!j.is_junk(IdType::Phone, "+8613800138000"));
        assert!(!j.is_junk(IdType::Openid, "oAbc123xyz"));
    }

    #[test]
    fn typed_extras_apply_to_their_type_only() {
        let j = JunkList::with_extra(&["phone:139 1234 5678".into()]).unwrap();
        assert!(j.is_junk(IdType::Phone, "+8613912345678"));
        assert!(!j.is_junk(IdType::Openid, "+8613912345678"));
        assert!(!JunkList::default().is_junk(IdType::Phone, "+8613912345678"));
    }

    #[test]
    fn untyped_extras_apply_to_every_type_in_canonical_form() {
        let j = JunkList::with_extra(&["TEST@SHOP.CN".into(), "n/a".into()]).unwrap();
        assert!(j.is_junk(IdType::Email, "test@shop.cn"));
        assert!(j.is_junk(IdType::Openid, "n/a"));
        assert!(!j.is_junk(IdType::Openid, "N/A"), "opaque ids keep case");
    }

    #[test]
    fn bad_extras_name_the_entry() {
        let err = JunkList::with_extra(&["fax:123".into()]).unwrap_err();
        assert_eq!(
            err,
            ModelError::JunkUnknownType {
                entry: "fax:123".into(),
                id_type: "fax".into()
            }
        );
        assert!(err.to_string().contains("fax:123"));
        let err = JunkList::with_extra(&["phone: ".into()]).unwrap_err();
        assert_eq!(
            err,
            ModelError::JunkEmpty {
                entry: "phone: ".into()
            }
        );
    }
}
