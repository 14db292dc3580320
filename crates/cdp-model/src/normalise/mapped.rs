//! Mapped sources: payloads described by a [`MappedSource`] instead of code.
//!
//! Paths are arbitrary, so the message is read as a `serde_json::Value`;
//! that costs more than the typed reference readers, which is acceptable for
//! brand-specific feeds.

use std::borrow::Cow;

use serde_json::Value;

use super::fields::{optional_text, required_text, Ids};
use super::json::{self, ObjectWriter, Scalar};
use super::time::{self, EpochUnit};
use super::{amount, transaction, Rejection};
use crate::event::{CanonicalEvent, Provenance};
use crate::identifier::{IdBuffer, Identifier, JunkList};
use crate::mapping::{AmountUnit, FieldSource, FieldSpec, MappedSource, TimeFormat};
use crate::source::SourceKind;

/// Separator of a multi-path `event_id`.
const ID_JOIN: &str = ":";

pub(crate) fn normalise(
    map: &MappedSource,
    raw: &[u8],
    junk: &JunkList,
    provenance: &Provenance,
) -> Result<CanonicalEvent, Rejection> {
    let root: Value = json::parse_object(json::utf8(raw)?)?;
    let field = |path: &str| lookup(&root, path).map(scalar);

    let mut event_id = String::new();
    for (i, path) in map.event_id.paths().iter().enumerate() {
        if i > 0 {
            event_id.push_str(ID_JOIN);
        }
        event_id.push_str(&required_text(path, &field(path))?);
    }

    let event_type = event_type(map, &root)?;
    let t = &map.event_time;
    let time_value = field(&t.path).ok_or_else(|| Rejection::missing(&t.path))?;
    let event_time_us = match &t.format {
        TimeFormat::EpochSeconds => time::epoch(&t.path, &time_value, EpochUnit::Seconds)?,
        TimeFormat::EpochMillis => time::epoch(&t.path, &time_value, EpochUnit::Millis)?,
        TimeFormat::EpochMicros => time::epoch(&t.path, &time_value, EpochUnit::Micros)?,
        TimeFormat::Rfc3339 => time::rfc3339(&t.path, &required_text(&t.path, &Some(time_value))?)?,
        TimeFormat::Pattern(p) => time::pattern(
            &t.path,
            &required_text(&t.path, &Some(time_value))?,
            p,
            t.zone.map(|z| z.0),
        )?,
    };

    let mut ev = CanonicalEvent::new(
        event_id,
        map.name.clone(),
        event_type,
        event_time_us,
        provenance.clone(),
    );

    if let Some(a) = &map.amount {
        // Ads carry a cost in 1/10000 yuan, everything else an amount in fen.
        let is_ad = map.kind == SourceKind::Ad;
        let value = match field(&a.path) {
            None | Some(Scalar::Null) => None,
            Some(v) => Some(match (a.unit, is_ad) {
                (AmountUnit::Yuan, false) => amount::money(&a.path, &v, 2)?,
                (AmountUnit::Yuan, true) => amount::money(&a.path, &v, 4)?,
                (AmountUnit::Fen, false) => amount::whole(&a.path, &v)?,
                (AmountUnit::Fen, true) => amount::whole(&a.path, &v)?
                    .checked_mul(100)
                    .ok_or_else(|| {
                        Rejection::invalid(&a.path, &v.text().unwrap_or_default(), "is too large")
                    })?,
            }),
        };
        if value.is_none() && map.kind == SourceKind::Transaction && ev.event_type == "paid" {
            return Err(Rejection::new(
                format!(
                    "missing required field `{}` (the amount, required for paid orders)",
                    a.path
                ),
                Some(&a.path),
            ));
        }
        if is_ad {
            ev.ad_cost_e4 = value;
        } else {
            ev.amount_fen = value;
        }
    }

    let opt = |spec: &Option<FieldSpec>| -> Option<String> {
        match spec.as_ref()?.source()? {
            FieldSource::Path(p) => optional_text(&field(p)).map(Cow::into_owned),
            FieldSource::Constant(v) => Some(v.to_string()),
        }
    };
    ev.currency = opt(&map.currency).map(|c| c.to_ascii_uppercase());
    if ev.currency.is_none() && map.kind == SourceKind::Transaction {
        ev.currency = Some("CNY".to_string());
    }
    ev.channel = opt(&map.channel);
    ev.platform = opt(&map.platform);
    ev.store_id = opt(&map.store_id);
    ev.guide_id = opt(&map.guide_id);
    ev.campaign_id = opt(&map.campaign_id);
    ev.order_id = opt(&map.order_id);

    let mut id_buffer = IdBuffer::default();
    let mut ids = Ids::new(junk, &mut id_buffer);
    for (id_type, paths) in &map.identifiers {
        for path in paths.paths() {
            match lookup(&root, path) {
                // A list of ids (several phones of one customer) is common
                // in CRM exports.
                Some(Value::Array(items)) => items
                    .iter()
                    .for_each(|v| ids.add(*id_type, &Some(scalar(v)))),
                Some(v) => ids.add(*id_type, &Some(scalar(v))),
                None => {}
            }
        }
    }
    ev.identifiers = ids
        .finish()
        .iter()
        .map(|(t, v)| Identifier::new(t, v))
        .collect();

    let mut props_text = String::new();
    let mut props = ObjectWriter::new(&mut props_text);
    for path in &map.properties {
        if let Some(v) = lookup(&root, path).filter(|v| !v.is_null()) {
            props.json(path, &v.to_string());
        }
    }
    ev.properties = props.finish().then_some(props_text);
    Ok(ev)
}

fn event_type(map: &MappedSource, root: &Value) -> Result<String, Rejection> {
    let (field, sent): (&str, Cow<'_, str>) = match map.event_type.source() {
        Some(FieldSource::Path(p)) => (
            p,
            required_text(p, &lookup(root, p).map(scalar))?
                .into_owned()
                .into(),
        ),
        Some(FieldSource::Constant(v)) => ("event_type", Cow::Borrowed(v)),
        None => {
            return Err(Rejection::new(
                "mapping gives no event_type (validate the config)",
                Some("event_type"),
            ))
        }
    };
    let mapped = if map.event_type_map.is_empty() {
        sent.as_ref()
    } else {
        map.event_type_map
            .get(sent.as_ref())
            .ok_or_else(|| Rejection::invalid(field, &sent, "is not listed in event_type_map"))?
    };
    if map.kind == SourceKind::Transaction {
        return transaction::status(field, mapped).map(str::to_string);
    }
    Ok(mapped.to_string())
}

/// The value at a dotted path; numeric segments index arrays. `None` when
/// any step is missing.
fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(root, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => a.get(seg.parse::<usize>().ok()?),
        _ => None,
    })
}

fn scalar(v: &Value) -> Scalar<'_> {
    match v {
        Value::String(s) => Scalar::Str(Cow::Borrowed(s)),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Scalar::Int(i),
            (None, Some(u), _) => Scalar::UInt(u),
            (None, None, Some(f)) => Scalar::Float(f),
            _ => Scalar::Null,
        },
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Null => Scalar::Null,
        Value::Array(_) => Scalar::Array,
        Value::Object(_) => Scalar::Object,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::testkit::{ids, sorted, us, MD5_13900139000, SHA256_13900139000};
    use crate::event::Provenance;
    use crate::mapping::MappedSource;
    use crate::normalise::{Normaliser, Rejection};
    use crate::source::{SourceFormat, SourceKind};
    use crate::CanonicalEvent;

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Pipeline {
        mapped_source: Vec<MappedSource>,
    }

    const SALE: &str = r#"{"txn_no":"A-SH002-000981","txn_type":"SALE","txn_time":"20261120143305","shop_code":"SH002","cashier":"C07","amt_fen":10980,"pay_method":"wechat","cust":{"tel":"139-0013-9000","card_no":"M000789","name":"王五"},"items":[{"sku":"SKU-001","qty":2,"price_fen":5490}]}"#;

    /// The shipped example, as the pipeline config loader reads it.
    fn example() -> SourceFormat {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../pipelines/example_pos.toml");
        let text = std::fs::read_to_string(&path).expect("pipelines/example_pos.toml is shipped");
        let pipeline: Pipeline = toml::from_str(&text).expect("example parses");
        assert_eq!(pipeline.mapped_source.len(), 1);
        let map = pipeline
            .mapped_source
            .into_iter()
            .next()
            .expect("one mapping");
        map.validate().expect("example validates");
        SourceFormat::Mapped(Arc::new(map))
    }

    fn run(format: &SourceFormat, raw: &str) -> Result<CanonicalEvent, Rejection> {
        Normaliser::default().normalise(
            format,
            raw.as_bytes(),
            &Provenance::kafka("acme.pos", 0, 1),
        )
    }

    #[test]
    fn shipped_example_normalises_an_acme_sale() {
        let format = example();
        assert_eq!(format.source_name(), "acme_pos");
        assert_eq!(format.kind(), SourceKind::Transaction);
        let ev = run(&format, SALE).unwrap();
        assert_eq!(ev.source, "acme_pos");
        assert_eq!(ev.event_id, "A-SH002-000981:SALE");
        assert_eq!(ev.event_type, "paid");
        assert_eq!(ev.event_time_us, us("2026-11-20T06:33:05Z"));
        assert_eq!(ev.amount_fen, Some(10980));
        assert_eq!(ev.currency.as_deref(), Some("CNY"));
        assert_eq!(ev.channel.as_deref(), Some("store"));
        assert_eq!(ev.store_id.as_deref(), Some("SH002"));
        assert_eq!(ev.guide_id.as_deref(), Some("C07"));
        assert_eq!(ev.order_id.as_deref(), Some("A-SH002-000981"));
        let md5 = format!("phone_md5:{MD5_13900139000}");
        let sha = format!("phone_sha256:{SHA256_13900139000}");
        assert_eq!(
            ids(&ev),
            sorted(&["phone:+8613900139000", &md5, &sha, "member_id:M000789"])
        );
        // Compared as JSON: key order inside `items` depends on serde_json
        // features other crates of the workspace may switch on.
        let props: serde_json::Value =
            serde_json::from_str(ev.properties.as_deref().unwrap()).unwrap();
        assert_eq!(
            props,
            serde_json::json!({"items": [{"sku": "SKU-001", "qty": 2, "price_fen": 5490}], "pay_method": "wechat"})
        );
        assert!(
            !format!("{ev:?}").contains("王五"),
            "unmapped PII stays out"
        );
    }

    #[test]
    fn shipped_example_maps_returns_and_rejects_unknown_types() {
        let format = example();
        let ret = run(&format, &SALE.replace("\"SALE\"", "\"RETURN\"")).unwrap();
        assert_eq!(ret.event_type, "refunded");
        assert_eq!(ret.event_id, "A-SH002-000981:RETURN");
        let r = run(&format, &SALE.replace("\"SALE\"", "\"GIFT\"")).unwrap_err();
        assert_eq!(
            r.reason,
            r#"`txn_type` "GIFT" is not listed in event_type_map"#
        );
    }

    #[test]
    fn shipped_example_rejects_bad_payloads_naming_the_field() {
        let format = example();
        let r = run(&format, &SALE.replace("20261120143305", "2026-11-20")).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("txn_time"));
        let r = run(&format, &SALE.replace("10980", "109.80")).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("amt_fen"));
        let r = run(&format, &SALE.replace(r#""amt_fen":10980,"#, "")).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("amt_fen"));
        let r = run(&format, &SALE.replace(r#""txn_no":"A-SH002-000981","#, "")).unwrap_err();
        assert_eq!(r.reason, "missing required field `txn_no`");
        assert!(run(&format, "[]")
            .unwrap_err()
            .reason
            .starts_with("not a JSON object"));
    }

    #[test]
    fn epoch_paths_arrays_and_ad_costs() {
        let map: MappedSource = toml::from_str(
            r#"
            name = "dsp_x"
            kind = "ad"
            event_id = "id"
            event_type = { value = "click" }
            event_time = { path = "t", format = "epoch_s" }
            amount = { path = "price.cny", unit = "yuan" }
            identifiers = { oaid_md5 = "ids.0", phone = ["phones"] }
            "#,
        )
        .unwrap();
        map.validate().unwrap();
        let format = SourceFormat::Mapped(Arc::new(map));
        let ev = run(&format, r#"{"id":9,"t":"1763620500","price":{"cny":"0.0035"},"ids":["5D41402ABC4B2A76B9719D911017C592"],"phones":["13800000000",null,"+852 9123 4567"]}"#).unwrap();
        assert_eq!(ev.event_id, "9");
        assert_eq!(ev.event_time_us, 1_763_620_500_000_000);
        assert_eq!(ev.ad_cost_e4, Some(35));
        assert_eq!(ev.amount_fen, None);
        assert_eq!(
            ids(&ev),
            sorted(&[
                "phone:+85291234567",
                "oaid_md5:5d41402abc4b2a76b9719d911017c592"
            ])
        );
    }
}
