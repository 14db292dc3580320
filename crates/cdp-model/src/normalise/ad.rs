//! `cdp.ad`: ad-platform click logs and conversion callbacks (contract §1).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::amount;
use super::fields::{optional_text, required_str, Ids};
use super::json::{self, ObjectWriter, Scalar};
use super::time;
use super::Rejection;
use crate::event::{EventView, Identifiers, Scratch};
use crate::identifier::{IdType, JunkList};
use crate::source::SourceKind;

/// Ad costs are kept to 1/10000 yuan: platforms bill impressions below a fen.
const COST_SCALE: u32 = 4;

// `ip` and `ua` are not read: they are never identifiers (contract §1).
#[derive(Deserialize)]
struct Ad<'a> {
    #[serde(borrow)]
    click_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    platform: Option<Scalar<'a>>,
    #[serde(borrow)]
    event: Option<Scalar<'a>>,
    #[serde(borrow)]
    event_time: Option<Scalar<'a>>,
    #[serde(borrow)]
    campaign_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    adgroup_id: Option<&'a RawValue>,
    #[serde(borrow)]
    creative_id: Option<&'a RawValue>,
    #[serde(borrow)]
    cost: Option<Scalar<'a>>,
    #[serde(borrow)]
    imei_md5: Option<Scalar<'a>>,
    #[serde(borrow)]
    oaid: Option<Scalar<'a>>,
    #[serde(borrow)]
    oaid_md5: Option<Scalar<'a>>,
    #[serde(borrow)]
    idfa: Option<Scalar<'a>>,
    #[serde(borrow)]
    idfa_md5: Option<Scalar<'a>>,
    #[serde(borrow)]
    phone_md5: Option<Scalar<'a>>,
    #[serde(borrow)]
    phone_sha256: Option<Scalar<'a>>,
}

pub(crate) fn normalise<'a>(
    raw: &'a [u8],
    junk: &JunkList,
    scratch: &'a mut Scratch,
) -> Result<EventView<'a>, Rejection> {
    let m: Ad = json::parse_object(json::utf8(raw)?)?;
    let click_id = required_str("click_id", &m.click_id)?;
    let platform = required_str("platform", &m.platform)?;
    let event = required_str("event", &m.event)?;
    let event_time_us = time::rfc3339("event_time", &required_str("event_time", &m.event_time)?)?;
    let ad_cost_e4 = match &m.cost {
        None | Some(Scalar::Null) => None,
        Some(cost) => Some(amount::money("cost", cost, COST_SCALE)?),
    };

    let mut ids = Ids::new(junk, &mut scratch.ids);
    ids.add(IdType::ImeiMd5, &m.imei_md5);
    ids.add(IdType::Oaid, &m.oaid);
    ids.add(IdType::OaidMd5, &m.oaid_md5);
    ids.add(IdType::Idfa, &m.idfa);
    ids.add(IdType::IdfaMd5, &m.idfa_md5);
    ids.add(IdType::PhoneMd5, &m.phone_md5);
    ids.add(IdType::PhoneSha256, &m.phone_sha256);
    let mut ev = EventView::new(
        click_id,
        SourceKind::Ad.as_str(),
        event,
        event_time_us,
        Identifiers::Buffer(ids.finish()),
    );
    ev.platform = Some(platform);
    ev.campaign_id = optional_text(&m.campaign_id);
    ev.ad_cost_e4 = ad_cost_e4;

    let mut props = ObjectWriter::new(&mut scratch.properties);
    props.raw("adgroup_id", m.adgroup_id);
    props.raw("creative_id", m.creative_id);
    ev.properties = props.finish_str().map(Cow::Borrowed);
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::source::SourceKind::Ad;

    #[test]
    fn line1_click_with_cost_and_empty_string_imei_dropped() {
        let ev = ok(Ad, line(AD, 1));
        assert_eq!(ev.event_id, "oe-clk-0001");
        assert_eq!(ev.source, "ad");
        assert_eq!(ev.event_type, "click");
        assert_eq!(ev.platform.as_deref(), Some("ocean_engine"));
        assert_eq!(ev.event_time_us, us("2026-11-19T13:00:00Z"));
        assert_eq!(ev.campaign_id.as_deref(), Some("C-1001"));
        assert_eq!(ev.ad_cost_e4, Some(3500));
        assert_eq!(ev.amount_fen, None);
        assert_eq!(
            ids(&ev),
            sorted(&["oaid_md5:5d41402abc4b2a76b9719d911017c592"])
        );
        assert_eq!(
            ev.properties.as_deref(),
            Some(r#"{"adgroup_id":"G-1","creative_id":"CR-9"}"#)
        );
        assert!(!format!("{ev:?}").contains("10.0.0.8"), "ip is never kept");
    }

    #[test]
    fn line2_uppercase_hash_lowercased_no_cost() {
        let ev = ok(Ad, line(AD, 2));
        assert_eq!(ev.event_type, "conversion");
        assert_eq!(ev.ad_cost_e4, None);
        assert_eq!(
            ids(&ev),
            sorted(&[
                "phone_md5:e4c5c8f2b8e1c4d2a9b7f6e5d4c3b2a1",
                "idfa_md5:0fd9f8a1b2c3d4e5f60718293a4b5c6d"
            ])
        );
    }

    #[test]
    fn line3_sub_fen_cost_and_raw_oaid_derives_md5() {
        let ev = ok(Ad, line(AD, 3));
        assert_eq!(ev.ad_cost_e4, Some(20));
        assert_eq!(
            ids(&ev),
            sorted(&[
                "oaid:a1b2c3d4-e5f6-4711-8899-aabbccddeeff",
                "oaid_md5:43505e32231c9a57f06e5a530374abf4"
            ])
        );
    }

    #[test]
    fn line4_bad_time_rejected() {
        let r = err(Ad, line(AD, 4));
        assert_eq!(r.field.as_deref(), Some("event_time"));
        assert!(r.reason.contains("\"not a time\""), "{}", r.reason);
    }

    #[test]
    fn bad_cost_rejected() {
        let base = r#"{"click_id":"c","platform":"baidu","event":"click","event_time":"2026-11-20T10:00:00+08:00","cost":"#;
        assert_eq!(
            err(Ad, &format!("{base}\"0.00001\"}}")).reason,
            r#"`cost` "0.00001" has more than four decimals"#
        );
        assert_eq!(
            err(Ad, &format!("{base}\"-1\"}}")).reason,
            r#"`cost` "-1" is negative"#
        );
        assert_eq!(
            err(Ad, &format!("{base}\"abc\"}}")).field.as_deref(),
            Some("cost")
        );
        assert_eq!(ok(Ad, &format!("{base}null}}")).ad_cost_e4, None);
    }
}
