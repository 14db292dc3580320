//! One normaliser per reference source (contract §1) plus mapped sources:
//! raw message bytes in, a [`CanonicalEvent`] or a [`Rejection`] out.
//!
//! Normalising never panics and never fails on anything but the message
//! itself: every fault is a `Rejection` naming the field, bound for the
//! dead-letter table.

mod ad;
mod amount;
mod fields;
mod json;
mod mapped;
mod offline;
mod online;
mod rejection;
#[cfg(test)]
mod testkit;
mod time;
mod transaction;

use std::sync::Arc;

pub use rejection::Rejection;

use crate::event::{CanonicalEvent, EventView, Provenance, Scratch};
use crate::identifier::JunkList;
use crate::source::{SourceFormat, SourceKind};

/// The statuses a transaction event may have (for mapping validation).
pub(crate) fn transaction_statuses() -> &'static [&'static str] {
    &transaction::STATUSES
}

/// Turns raw messages of any source into canonical events. Cheap to clone
/// (the junk list is shared), so each consumer task can hold its own.
#[derive(Debug, Clone, Default)]
pub struct Normaliser {
    junk: Arc<JunkList>,
}

impl Normaliser {
    pub fn new(junk: JunkList) -> Self {
        Self {
            junk: Arc::new(junk),
        }
    }

    pub fn junk(&self) -> &JunkList {
        &self.junk
    }

    /// Normalises one message of `format` received at `provenance` into an
    /// owned event.
    pub fn normalise(
        &self,
        format: &SourceFormat,
        raw: &[u8],
        provenance: &Provenance,
    ) -> Result<CanonicalEvent, Rejection> {
        let mut scratch = Scratch::default();
        self.normalise_view(format, raw, &mut scratch)
            .map(|view| view.to_event(provenance))
    }

    /// Normalises one message of `format` into a view that borrows from
    /// `raw` and `scratch`: no allocation per event in the common case. The
    /// ingest hot path (files and Kafka alike) appends views to the lake's
    /// column builders; reuse one `scratch` per thread.
    pub fn normalise_view<'a>(
        &self,
        format: &'a SourceFormat,
        raw: &'a [u8],
        scratch: &'a mut Scratch,
    ) -> Result<EventView<'a>, Rejection> {
        match format {
            SourceFormat::Reference(SourceKind::Online) => {
                online::normalise(raw, &self.junk, scratch)
            }
            SourceFormat::Reference(SourceKind::Offline) => {
                offline::normalise(raw, &self.junk, scratch)
            }
            SourceFormat::Reference(SourceKind::Ad) => ad::normalise(raw, &self.junk, scratch),
            SourceFormat::Reference(SourceKind::Transaction) => {
                transaction::normalise(raw, &self.junk, scratch)
            }
            SourceFormat::Mapped(map) => {
                let event = mapped::normalise(map, raw, &self.junk, &Provenance::default())?;
                Ok(scratch.owned.insert(event).view())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::testkit::{line, AD, OFFLINE, ONLINE, TRANSACTION};
    use super::*;
    use crate::identifier::{canonicalise, IdType};

    /// Every field name of the four reference payloads, so random objects
    /// hit the real readers and not only the "unknown field" path.
    const FIELDS: &[&str] = &[
        "event_id",
        "event",
        "ts",
        "platform",
        "anonymous_id",
        "user",
        "device",
        "context",
        "properties",
        "openid",
        "unionid",
        "phone",
        "member_id",
        "email",
        "idfa",
        "oaid",
        "android_id",
        "channel_code",
        "utm_source",
        "utm_campaign",
        "page",
        "ip",
        "ua",
        "record_id",
        "store_id",
        "action",
        "occurred_at",
        "member_card",
        "mobile",
        "name",
        "guide_id",
        "wecom_external_userid",
        "click_id",
        "event_time",
        "campaign_id",
        "adgroup_id",
        "creative_id",
        "cost",
        "imei_md5",
        "oaid_md5",
        "idfa_md5",
        "phone_md5",
        "phone_sha256",
        "order_id",
        "status",
        "updated_at",
        "paid_at",
        "channel",
        "buyer",
        "items",
        "total_amount",
        "discount_amount",
        "currency",
        "coupon_code",
    ];

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,20}".prop_map(Value::from),
            // Values shaped like the real ones, to get past the first check.
            prop_oneof![
                Just("2026-11-20 14:33:05"),
                Just("2026-11-20T10:00:00+08:00"),
                Just("1763620500"),
                Just("paid"),
                Just("12.345"),
                Just("+86 138-0013-8000"),
                Just("null"),
            ]
            .prop_map(Value::from),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(FIELDS), inner), 0..6).prop_map(|kv| {
                    Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }),
            ]
        })
    }

    fn object() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::vec((prop::sample::select(FIELDS), value()), 0..12)
            .prop_map(|kv| kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn formats() -> [SourceFormat; 4] {
        SourceKind::ALL.map(SourceFormat::Reference)
    }

    /// What every accepted event must satisfy, whatever the input.
    fn check_event(format: &SourceFormat, ev: &CanonicalEvent) -> Result<(), TestCaseError> {
        let junk = JunkList::default();
        prop_assert!(!ev.event_id.trim().is_empty());
        prop_assert!(!ev.event_type.trim().is_empty());
        prop_assert_eq!(ev.source.as_str(), format.source_name());
        prop_assert!(
            ev.identifiers.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        for id in &ev.identifiers {
            prop_assert!(!junk.is_junk(id.id_type, &id.value), "junk kept: {}", id);
            let again = canonicalise(id.id_type, &id.value, &junk);
            prop_assert_eq!(again.as_ref(), Some(id), "not canonical");
        }
        prop_assert!(ev.amount_fen.is_none_or(|a| a >= 0));
        prop_assert!(ev.ad_cost_e4.is_none_or(|a| a >= 0));
        if let Some(p) = &ev.properties {
            prop_assert!(
                serde_json::from_str::<Value>(p).is_ok(),
                "properties not JSON: {}",
                p
            );
        }
        Ok(())
    }

    fn check(format: &SourceFormat, raw: &[u8]) -> Result<(), TestCaseError> {
        match Normaliser::default().normalise(format, raw, &Provenance::file_line("prop", 1)) {
            Ok(ev) => check_event(format, &ev),
            Err(r) => {
                prop_assert!(!r.reason.is_empty());
                Ok(())
            }
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..200)) {
            for f in formats() {
                check(&f, &raw)?;
            }
        }

        #[test]
        fn random_objects_with_real_field_names_never_panic(obj in object()) {
            let raw = serde_json::to_vec(&obj).unwrap();
            for f in formats() {
                check(&f, &raw)?;
            }
        }

        /// A valid message with one field replaced by anything is accepted
        /// or rejected with the field named: an object never fails as a
        /// whole once it is valid JSON.
        #[test]
        fn one_bad_field_is_named(sample in 0usize..4, key in prop::sample::select(FIELDS), v in value()) {
            let (fixture, kind) = [(ONLINE, SourceKind::Online), (OFFLINE, SourceKind::Offline), (AD, SourceKind::Ad), (TRANSACTION, SourceKind::Transaction)][sample];
            let mut obj: Map<String, Value> = serde_json::from_str(line(fixture, 1)).unwrap();
            obj.insert(key.to_string(), v);
            let format = SourceFormat::Reference(kind);
            match Normaliser::default().normalise(&format, &serde_json::to_vec(&obj).unwrap(), &Provenance::file_line("p", 1)) {
                Ok(ev) => check_event(&format, &ev)?,
                Err(r) => prop_assert!(r.field.is_some(), "no field named: {}", r),
            }
        }
    }

    #[test]
    fn junk_extras_reach_the_normaliser() {
        let n =
            Normaliser::new(JunkList::with_extra(&["anonymous_id:anon-7f3a9c".into()]).unwrap());
        let f = SourceFormat::Reference(SourceKind::Online);
        let ev = n
            .normalise(
                &f,
                line(ONLINE, 1).as_bytes(),
                &Provenance::file_line("f", 1),
            )
            .unwrap();
        assert!(
            ev.identifiers
                .iter()
                .all(|i| i.id_type != IdType::AnonymousId),
            "{:?}",
            ev.identifiers
        );
        assert!(!ev.identifiers.is_empty());
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let f = SourceFormat::Reference(SourceKind::Offline);
        let r = Normaliser::default()
            .normalise(
                &f,
                b"{\"record_id\":\"\xff\"}",
                &Provenance::file_line("f", 1),
            )
            .unwrap_err();
        assert!(r.reason.starts_with("not UTF-8"), "{}", r.reason);
    }

    /// The shipped JSON Schemas (`schemas/*.schema.json`) must require
    /// exactly what the normalisers require: dropping any required field
    /// from a good sample is rejected naming that field.
    #[test]
    fn schemas_require_what_normalisers_require() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        for (kind, fixture) in [
            (SourceKind::Online, ONLINE),
            (SourceKind::Offline, OFFLINE),
            (SourceKind::Ad, AD),
            (SourceKind::Transaction, TRANSACTION),
        ] {
            let path = dir.join(format!("{kind}.schema.json"));
            let schema: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("schema shipped"))
                    .unwrap();
            assert_eq!(
                schema["$schema"],
                "https://json-schema.org/draft/2020-12/schema"
            );
            // Line 1 of every fixture is complete (a `paid` order for
            // transactions), so conditional requirements apply too.
            let mut required: Vec<&str> = schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for cond in schema["allOf"].as_array().into_iter().flatten() {
                required.extend(
                    cond["then"]["required"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str),
                );
            }
            assert!(!required.is_empty(), "{kind}");
            let good: Map<String, Value> = serde_json::from_str(line(fixture, 1)).unwrap();
            let f = SourceFormat::Reference(kind);
            let p = Provenance::file_line("f", 1);
            assert!(Normaliser::default()
                .normalise(&f, line(fixture, 1).as_bytes(), &p)
                .is_ok());
            for field in &good {
                let mut without = good.clone();
                without.remove(field.0);
                let got =
                    Normaliser::default().normalise(&f, &serde_json::to_vec(&without).unwrap(), &p);
                let must = required.contains(&field.0.as_str());
                assert_eq!(got.is_err(), must, "{kind}: dropping `{}`", field.0);
                if let Err(r) = got {
                    assert_eq!(r.field.as_deref(), Some(field.0.as_str()));
                }
            }
        }
    }

    /// Rough cost per message; run with
    /// `cargo test -p cdp-model --release -- --ignored --nocapture speed`.
    #[test]
    #[ignore]
    fn speed() {
        let n = Normaliser::default();
        let p = Provenance::kafka("cdp.online", 0, 0);
        for (kind, fixture, lineno) in [
            (SourceKind::Online, ONLINE, 1),
            (SourceKind::Online, ONLINE, 2),
            (SourceKind::Offline, OFFLINE, 1),
            (SourceKind::Ad, AD, 1),
            (SourceKind::Transaction, TRANSACTION, 1),
        ] {
            let f = SourceFormat::Reference(kind);
            let raw = line(fixture, lineno).as_bytes();
            let iters = 200_000;
            let start = std::time::Instant::now();
            let mut ok = 0;
            for _ in 0..iters {
                ok += usize::from(n.normalise(&f, std::hint::black_box(raw), &p).is_ok());
            }
            let per = start.elapsed() / iters;
            assert_eq!(ok, iters as usize);
            println!("{kind} line {lineno}: {per:?} per message");
        }
    }
}
