//! Mapped sources: a brand-specific payload described in a pipeline config
//! (`[[mapped_source]]` tables in `pipelines/*.toml`), so that a POS with its
//! own field names needs a config change, not a code change.
//!
//! A field is named by a dotted path into the JSON message (`cust.tel`,
//! `items.0.sku`). Where a field may also be a constant, the config gives
//! either a path string or a table `{ path = "…" }` / `{ value = "…" }`.

use std::collections::BTreeMap;
use std::fmt;

use chrono::format::{Item, StrftimeItems};
use chrono::FixedOffset;
use serde::{Deserialize, Deserializer};

use crate::error::ModelError;
use crate::identifier::IdType;
use crate::source::SourceKind;

/// One mapped source. Call [`MappedSource::validate`] when loading a config:
/// the normaliser trusts a validated mapping and otherwise only rejects
/// messages.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappedSource {
    /// The lake's `source` (a Hive partition value): lowercase letters,
    /// digits, `_` and `-`; never a reference source name.
    pub name: String,
    /// The reference kind whose meaning the events take (`transaction`
    /// events count as revenue, …).
    pub kind: SourceKind,
    /// Path(s) of the unique id; several are joined with `:`.
    pub event_id: PathList,
    /// The event type: a path, or a constant `{ value = "paid" }`.
    pub event_type: FieldSpec,
    /// Translates the sender's event types (`SALE = "paid"`); when not
    /// empty, a value missing from it is rejected.
    #[serde(default)]
    pub event_type_map: BTreeMap<String, String>,
    pub event_time: TimeSpec,
    /// Amount of a transaction (to `amount`) or cost of an ad (to `ad_cost`).
    #[serde(default)]
    pub amount: Option<AmountSpec>,
    #[serde(default)]
    pub currency: Option<FieldSpec>,
    #[serde(default)]
    pub channel: Option<FieldSpec>,
    #[serde(default)]
    pub platform: Option<FieldSpec>,
    #[serde(default)]
    pub store_id: Option<FieldSpec>,
    #[serde(default)]
    pub guide_id: Option<FieldSpec>,
    #[serde(default)]
    pub campaign_id: Option<FieldSpec>,
    #[serde(default)]
    pub order_id: Option<FieldSpec>,
    /// Identifier type → path(s) whose values are identifiers of that type.
    #[serde(default)]
    pub identifiers: BTreeMap<IdType, PathList>,
    /// Paths kept in the event's `properties` JSON, keyed by path.
    #[serde(default)]
    pub properties: Vec<String>,
}

/// One dotted path or several.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged, expecting = "a dotted field path or a list of them")]
pub enum PathList {
    One(String),
    Many(Vec<String>),
}

impl PathList {
    pub fn paths(&self) -> &[String] {
        match self {
            Self::One(p) => std::slice::from_ref(p),
            Self::Many(ps) => ps,
        }
    }
}

/// Where a value comes from: a path in the message, or a constant.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    untagged,
    expecting = "a dotted field path, or a table { path = \"…\" } or { value = \"…\" }"
)]
pub enum FieldSpec {
    Path(String),
    Table(FieldTable),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldTable {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

/// A [`FieldSpec`] once validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldSource<'a> {
    Path(&'a str),
    Constant(&'a str),
}

impl FieldSpec {
    /// The path or constant; `None` when a table gives both or neither
    /// (which `validate` reports).
    pub fn source(&self) -> Option<FieldSource<'_>> {
        match self {
            Self::Path(p) => Some(FieldSource::Path(p)),
            Self::Table(FieldTable {
                path: Some(p),
                value: None,
            }) => Some(FieldSource::Path(p)),
            Self::Table(FieldTable {
                path: None,
                value: Some(v),
            }) => Some(FieldSource::Constant(v)),
            Self::Table(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSpec {
    pub path: String,
    pub format: TimeFormat,
    /// UTC offset like `+08:00` for formats without one of their own.
    #[serde(default)]
    pub zone: Option<Zone>,
}

/// `epoch_s`, `epoch_ms`, `epoch_us`, `rfc3339`, or a chrono strftime pattern
/// such as `%Y%m%d%H%M%S`.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeFormat {
    EpochSeconds,
    EpochMillis,
    EpochMicros,
    Rfc3339,
    Pattern(String),
}

impl<'de> Deserialize<'de> for TimeFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match String::deserialize(d)?.as_str() {
            "epoch_s" => Self::EpochSeconds,
            "epoch_ms" => Self::EpochMillis,
            "epoch_us" => Self::EpochMicros,
            "rfc3339" => Self::Rfc3339,
            pattern => Self::Pattern(pattern.to_string()),
        })
    }
}

/// A fixed UTC offset: `+08:00`, `-05:00`, `Z` or `UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub FixedOffset);

impl std::str::FromStr for Zone {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("zone {s:?} is not an offset like \"+08:00\"");
        if s == "Z" || s.eq_ignore_ascii_case("utc") {
            return Ok(Self(FixedOffset::east_opt(0).ok_or_else(bad)?));
        }
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').ok_or_else(bad)?;
        let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
            return Err(bad());
        }
        FixedOffset::east_opt(sign * (h * 3600 + m * 60))
            .map(Self)
            .ok_or_else(bad)
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountSpec {
    pub path: String,
    pub unit: AmountUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AmountUnit {
    /// A decimal string or number of yuan, at most two decimals (four for
    /// ad costs).
    Yuan,
    /// A whole number of fen.
    Fen,
}

impl fmt::Display for AmountUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Yuan => "yuan",
            Self::Fen => "fen",
        })
    }
}

impl MappedSource {
    /// Checks what serde cannot: names, paths, constants and time patterns.
    /// The error names the offending field of the mapping.
    pub fn validate(&self) -> Result<(), ModelError> {
        let fault = |field: &str, problem: String| ModelError::Mapping {
            source_name: self.name.clone(),
            field: field.to_string(),
            problem,
        };
        let name_ok = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            return Err(fault(
                "name",
                "must be lowercase letters, digits, `_` or `-` (it is a lake partition value)"
                    .into(),
            ));
        }
        if SourceKind::ALL.iter().any(|k| k.as_str() == self.name) {
            return Err(fault(
                "name",
                format!("{:?} is a reference source name", self.name),
            ));
        }
        if self.event_id.paths().is_empty() {
            return Err(fault("event_id", "needs at least one path".into()));
        }
        for p in self.event_id.paths() {
            check_path(p).map_err(|e| fault("event_id", e))?;
        }
        let specs = [
            ("event_type", Some(&self.event_type)),
            ("currency", self.currency.as_ref()),
            ("channel", self.channel.as_ref()),
            ("platform", self.platform.as_ref()),
            ("store_id", self.store_id.as_ref()),
            ("guide_id", self.guide_id.as_ref()),
            ("campaign_id", self.campaign_id.as_ref()),
            ("order_id", self.order_id.as_ref()),
        ];
        for (field, spec) in specs {
            match spec.map(FieldSpec::source) {
                None => {}
                Some(None) => {
                    return Err(fault(
                        field,
                        "give exactly one of `path` and `value`".into(),
                    ))
                }
                Some(Some(FieldSource::Path(p))) => check_path(p).map_err(|e| fault(field, e))?,
                Some(Some(FieldSource::Constant(v))) if v.trim().is_empty() => {
                    return Err(fault(field, "constant value is empty".into()))
                }
                Some(Some(FieldSource::Constant(_))) => {}
            }
        }
        if self.kind == SourceKind::Transaction {
            // Transaction events are revenue or refunds downstream: their
            // type must be one of the contract's statuses.
            let statuses = crate::normalise::transaction_statuses();
            let mut produced: Vec<&str> =
                self.event_type_map.values().map(String::as_str).collect();
            if let Some(FieldSource::Constant(v)) = self.event_type.source() {
                if self.event_type_map.is_empty() {
                    produced.push(v);
                }
            }
            if let Some(bad) = produced.into_iter().find(|v| !statuses.contains(v)) {
                return Err(fault(
                    "event_type",
                    format!("{bad:?} is not a transaction status (paid, refunded, cancelled)"),
                ));
            }
        }
        check_path(&self.event_time.path).map_err(|e| fault("event_time.path", e))?;
        if let TimeFormat::Pattern(p) = &self.event_time.format {
            if p.is_empty() || StrftimeItems::new(p).any(|i| matches!(i, Item::Error)) {
                return Err(fault("event_time.format", format!("{p:?} is neither epoch_s, epoch_ms, epoch_us, rfc3339 nor a valid strftime pattern")));
            }
            let has_offset = p.contains("%z") || p.contains("%:z") || p.contains("%#z");
            if !has_offset && self.event_time.zone.is_none() {
                return Err(fault(
                    "event_time.zone",
                    format!("required: the pattern {p:?} has no offset (e.g. zone = \"+08:00\")"),
                ));
            }
        }
        if let Some(a) = &self.amount {
            check_path(&a.path).map_err(|e| fault("amount.path", e))?;
        }
        for (id_type, paths) in &self.identifiers {
            for p in paths.paths() {
                check_path(p).map_err(|e| fault(&format!("identifiers.{id_type}"), e))?;
            }
        }
        for p in &self.properties {
            check_path(p).map_err(|e| fault("properties", e))?;
        }
        Ok(())
    }
}

fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() || path.split('.').any(|seg| seg.trim().is_empty()) {
        return Err(format!("path {path:?} has an empty segment"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Pipeline {
        mapped_source: Vec<MappedSource>,
    }

    const MINIMAL: &str = r#"
        [[mapped_source]]
        name = "pos_x"
        kind = "offline"
        event_id = "id"
        event_type = { value = "store_visit" }
        event_time = { path = "t", format = "epoch_ms" }
    "#;

    fn parse(toml_text: &str) -> Result<MappedSource, String> {
        let p: Pipeline = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        Ok(p.mapped_source
            .into_iter()
            .next()
            .expect("one mapped source"))
    }

    #[test]
    fn minimal_mapping_parses_and_validates() {
        let m = parse(MINIMAL).unwrap();
        assert_eq!(m.kind, SourceKind::Offline);
        assert_eq!(
            m.event_type.source(),
            Some(FieldSource::Constant("store_visit"))
        );
        assert_eq!(m.event_time.format, TimeFormat::EpochMillis);
        m.validate().unwrap();
    }

    #[test]
    fn unknown_keys_and_id_types_are_refused() {
        let err = parse(&format!("{MINIMAL}colour = \"red\"\n")).unwrap_err();
        assert!(err.contains("colour"), "{err}");
        let err = parse(&format!(
            "{MINIMAL}[mapped_source.identifiers]\nfax = \"f\"\n"
        ))
        .unwrap_err();
        assert!(err.contains("fax"), "{err}");
        let err =
            parse(&MINIMAL.replace("epoch_ms\" }", "epoch_ms\", zone = \"+8\" }")).unwrap_err();
        assert!(err.contains("+8"), "{err}");
    }

    #[test]
    fn validate_names_the_field() {
        let mut m = parse(MINIMAL).unwrap();
        m.name = "online".into();
        let e = m.validate().unwrap_err();
        assert!(
            matches!(&e, ModelError::Mapping { field, .. } if field == "name"),
            "{e}"
        );

        let mut m = parse(MINIMAL).unwrap();
        m.event_time.format = TimeFormat::Pattern("%Y%m%d%H%M%S".into());
        let e = m.validate().unwrap_err();
        assert!(
            matches!(&e, ModelError::Mapping { field, .. } if field == "event_time.zone"),
            "{e}"
        );

        m.event_time.format = TimeFormat::Pattern("%Y-%Q".into());
        let e = m.validate().unwrap_err();
        assert!(
            matches!(&e, ModelError::Mapping { field, .. } if field == "event_time.format"),
            "{e}"
        );

        let mut m = parse(MINIMAL).unwrap();
        m.kind = SourceKind::Transaction;
        m.event_type = FieldSpec::Table(FieldTable {
            path: None,
            value: Some("sale".into()),
        });
        let e = m.validate().unwrap_err();
        assert!(
            matches!(&e, ModelError::Mapping { field, .. } if field == "event_type"),
            "{e}"
        );

        let mut m = parse(MINIMAL).unwrap();
        m.identifiers
            .insert(IdType::Phone, PathList::One("cust..tel".into()));
        let e = m.validate().unwrap_err();
        assert!(e.to_string().contains("identifiers.phone"), "{e}");
    }

    #[test]
    fn zones_parse() {
        assert_eq!(
            "+08:00".parse::<Zone>().unwrap().0.local_minus_utc(),
            8 * 3600
        );
        assert_eq!(
            "-05:30".parse::<Zone>().unwrap().0.local_minus_utc(),
            -(5 * 3600 + 1800)
        );
        assert_eq!("Z".parse::<Zone>().unwrap().0.local_minus_utc(), 0);
        assert!("08:00".parse::<Zone>().is_err());
        assert!("+25:00".parse::<Zone>().is_err());
    }
}
