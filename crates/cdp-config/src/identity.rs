//! `[identity]`: the rules of the identity graph (`cdp resolve`).
//!
//! ```toml
//! [identity]
//! # Types that name a person (accounts), strongest first; the rest name a
//! # device or a browser. Strong edges are applied before weak ones, and an
//! # event belongs to the one_id of its strongest identifier.
//! strong = ["member_id", "unionid", "phone", "phone_sha256", "phone_md5",
//!           "openid", "wecom_external_userid", "email"]
//! weak = ["idfa", "oaid", "android_id", "imei_md5", "idfa_md5", "oaid_md5",
//!         "anonymous_id"]
//! max_identifiers = 50        # hard cap per one_id, the last guard
//! hot_value_threshold = 10    # a value seen with this many distinct strong
//!                             # identifiers of one type is shared: excluded
//! shared_device = true        # a weak identifier never joins two persons
//!                             # who each have a device of their own
//! [identity.limits]           # most identifiers of one type per one_id
//! member_id = 1
//! phone = 4
//! ```
//!
//! Junk values come from the `[junk]` section (the same list ingest uses):
//! [`crate::PipelineConfig::identity_config`] hands them over.

use std::collections::BTreeMap;

use cdp_model::IdType;
use serde::Deserialize;

use crate::error::{ConfigError, Result};

/// Strong types, strongest first: the loyalty card is issued once per
/// person; unionid is one WeChat user; a phone and its hashes; then the
/// per-app WeChat and WeCom ids and email.
pub const DEFAULT_STRONG: [IdType; 8] = [
    IdType::MemberId,
    IdType::Unionid,
    IdType::Phone,
    IdType::PhoneSha256,
    IdType::PhoneMd5,
    IdType::Openid,
    IdType::WecomExternalUserid,
    IdType::Email,
];

/// Weak types, strongest first: advertising and device ids, then the SDK's
/// browser- or install-local anonymous id.
pub const DEFAULT_WEAK: [IdType; 7] = [
    IdType::Idfa,
    IdType::Oaid,
    IdType::AndroidId,
    IdType::ImeiMd5,
    IdType::IdfaMd5,
    IdType::OaidMd5,
    IdType::AnonymousId,
];

/// Most identifiers of one type per one_id, by default. A person has one
/// loyalty card and one WeChat user; a few phones (coupon hunters farm up to
/// four on one device, and they are one person); an app and an official
/// account give two openids. Devices are generous: the shared-device rule,
/// not a count, keeps households apart.
pub fn default_limits() -> BTreeMap<String, u32> {
    [
        (IdType::MemberId, 1),
        (IdType::Unionid, 1),
        (IdType::Phone, 4),
        (IdType::PhoneSha256, 4),
        (IdType::PhoneMd5, 4),
        (IdType::Openid, 2),
        (IdType::WecomExternalUserid, 2),
        (IdType::Email, 3),
        (IdType::Idfa, 4),
        (IdType::IdfaMd5, 4),
        (IdType::Oaid, 4),
        (IdType::OaidMd5, 4),
        (IdType::AndroidId, 4),
        (IdType::ImeiMd5, 4),
        (IdType::AnonymousId, 10),
    ]
    .into_iter()
    .map(|(t, n)| (t.as_str().to_string(), n))
    .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// Identifier types that name a person, strongest first.
    pub strong: Vec<String>,
    /// Identifier types that name a device or browser, strongest first.
    pub weak: Vec<String>,
    /// Most identifiers of one type per one_id; a type not listed has none
    /// but the cap.
    pub limits: BTreeMap<String, u32>,
    /// Hard cap on identifiers per one_id (Adobe's identity graph uses 50).
    pub max_identifiers: u32,
    /// A value seen together with this many distinct identifiers of one
    /// strong type is shared (a store's phone, a family tablet used by a
    /// crowd): it is reported and excluded from the graph.
    pub hot_value_threshold: u32,
    /// Refuse a weak edge that would join two one_ids that both hold a
    /// strong identifier and a device of their own (a shared device).
    pub shared_device: bool,
    /// identity_map rows per Parquet file.
    pub map_rows_per_file: usize,
    /// Junk values beyond the contract's: filled from `[junk].extra` by
    /// [`crate::PipelineConfig::identity_config`], not set in this section.
    #[serde(skip)]
    pub junk_extra: Vec<String>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            strong: DEFAULT_STRONG.iter().map(|t| t.as_str().into()).collect(),
            weak: DEFAULT_WEAK.iter().map(|t| t.as_str().into()).collect(),
            limits: default_limits(),
            max_identifiers: 50,
            hot_value_threshold: 10,
            shared_device: true,
            map_rows_per_file: 1_000_000,
            junk_extra: Vec::new(),
        }
    }
}

impl IdentityConfig {
    /// The strong and weak types in priority order (strongest first), as
    /// parsed types.
    pub fn priority(&self) -> Result<(Vec<IdType>, Vec<IdType>)> {
        let parse = |field: &str, names: &[String]| -> Result<Vec<IdType>> {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    n.parse::<IdType>().map_err(|e| {
                        ConfigError::field(format!("identity.{field}[{i}]"), e.to_string())
                    })
                })
                .collect()
        };
        Ok((parse("strong", &self.strong)?, parse("weak", &self.weak)?))
    }

    /// The limit of each type, parsed; types without one are absent.
    pub fn parsed_limits(&self) -> Result<Vec<(IdType, u32)>> {
        self.limits
            .iter()
            .map(|(name, &n)| {
                let t = name.parse::<IdType>().map_err(|e| {
                    ConfigError::field(format!("identity.limits.{name}"), e.to_string())
                })?;
                if n == 0 {
                    return Err(ConfigError::field(
                        format!("identity.limits.{name}"),
                        "must be at least 1",
                    ));
                }
                Ok((t, n))
            })
            .collect()
    }

    /// Checks what types alone cannot; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let (strong, weak) = self.priority()?;
        for t in IdType::ALL {
            let places = strong.iter().filter(|&&s| s == t).count()
                + weak.iter().filter(|&&w| w == t).count();
            if places != 1 {
                let field = if strong.contains(&t) {
                    "identity.strong"
                } else {
                    "identity.weak"
                };
                return Err(ConfigError::field(
                    field,
                    format!(
                        "identifier type {t} must be listed exactly once in strong or weak (found {places} times)"
                    ),
                ));
            }
        }
        if strong.is_empty() {
            return Err(ConfigError::field(
                "identity.strong",
                "must name at least one type",
            ));
        }
        self.parsed_limits()?;
        if !(2..=10_000).contains(&self.max_identifiers) {
            return Err(ConfigError::field(
                "identity.max_identifiers",
                "must be between 2 and 10000",
            ));
        }
        if self.hot_value_threshold < 2 {
            return Err(ConfigError::field(
                "identity.hot_value_threshold",
                "must be at least 2",
            ));
        }
        if self.map_rows_per_file == 0 {
            return Err(ConfigError::field(
                "identity.map_rows_per_file",
                "must be > 0",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_list_every_type_once() {
        let c = IdentityConfig::default();
        c.validate().unwrap();
        let (s, w) = c.priority().unwrap();
        assert_eq!(s.len() + w.len(), IdType::ALL.len());
        assert_eq!(c.parsed_limits().unwrap().len(), IdType::ALL.len());
    }

    #[test]
    fn a_type_missing_from_both_lists_is_named() {
        let c = IdentityConfig {
            weak: vec!["idfa".into()],
            ..Default::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("identity.weak") && err.contains("anonymous_id"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_limit_is_named() {
        let mut c = IdentityConfig::default();
        c.limits.insert("fax".into(), 2);
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("identity.limits.fax"));
        let mut c = IdentityConfig::default();
        c.limits.insert("phone".into(), 0);
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("identity.limits.phone"));
    }
}
