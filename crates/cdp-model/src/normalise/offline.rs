//! `cdp.offline`: store POS, membership desk and WeCom guides (contract §1).
//!
//! Offline systems send every value as a string or a number, so all fields
//! accept both.

use serde::Deserialize;

use super::fields::{optional_text, required_text, Ids};
use super::json::{self, Scalar};
use super::time;
use super::Rejection;
use crate::event::{EventView, Identifiers, Scratch};
use crate::identifier::{IdType, JunkList};
use crate::source::SourceKind;

// `name` is deliberately not a field here: it is PII, never an identifier,
// and must not be stored anywhere, so it is never even read.
#[derive(Deserialize)]
struct Offline<'a> {
    #[serde(borrow)]
    record_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    store_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    action: Option<Scalar<'a>>,
    #[serde(borrow)]
    occurred_at: Option<Scalar<'a>>,
    #[serde(borrow)]
    member_card: Option<Scalar<'a>>,
    #[serde(borrow)]
    mobile: Option<Scalar<'a>>,
    #[serde(borrow)]
    guide_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    wecom_external_userid: Option<Scalar<'a>>,
    #[serde(borrow)]
    unionid: Option<Scalar<'a>>,
}

pub(crate) fn normalise<'a>(
    raw: &'a [u8],
    junk: &JunkList,
    scratch: &'a mut Scratch,
) -> Result<EventView<'a>, Rejection> {
    let m: Offline = json::parse_object(json::utf8(raw)?)?;
    let record_id = required_text("record_id", &m.record_id)?;
    let store_id = required_text("store_id", &m.store_id)?;
    let action = required_text("action", &m.action)?;
    let occurred_at = required_text("occurred_at", &m.occurred_at)?;
    let event_time_us = time::shanghai_local("occurred_at", &occurred_at)?;

    let mut ids = Ids::new(junk, &mut scratch.ids);
    ids.add(IdType::MemberId, &m.member_card);
    ids.add(IdType::Phone, &m.mobile);
    ids.add(IdType::WecomExternalUserid, &m.wecom_external_userid);
    ids.add(IdType::Unionid, &m.unionid);
    let mut ev = EventView::new(
        record_id,
        SourceKind::Offline.as_str(),
        action,
        event_time_us,
        Identifiers::Buffer(ids.finish()),
    );
    ev.store_id = Some(store_id);
    ev.guide_id = optional_text(&m.guide_id);
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::source::SourceKind::Offline;

    #[test]
    fn line1_member_signup() {
        let raw = line(OFFLINE, 1);
        let ev = ok(Offline, raw);
        assert_eq!(ev.event_id, "SZ001-20261120-000123");
        assert_eq!(ev.source, "offline");
        assert_eq!(ev.event_type, "member_signup");
        assert_eq!(ev.event_time_us, us("2026-11-20T06:33:05Z"));
        assert_eq!(ev.store_id.as_deref(), Some("SZ001"));
        assert_eq!(ev.guide_id.as_deref(), Some("G17"));
        let md5 = format!("phone_md5:{MD5_13800138000}");
        let sha = format!("phone_sha256:{SHA256_13800138000}");
        assert_eq!(
            ids(&ev),
            sorted(&[
                "member_id:M000123",
                "phone:+8613800138000",
                &md5,
                &sha,
                "wecom_external_userid:wmAbC001",
                "unionid:uUnion001",
            ])
        );
        // The customer's name is PII: it must not reach the event at all.
        assert!(raw.contains("张三"));
        assert!(!format!("{ev:?}").contains("张三"));
    }

    #[test]
    fn line2_placeholder_mobile_and_empty_card_dropped_slash_time() {
        let ev = ok(Offline, line(OFFLINE, 2));
        assert!(ev.identifiers.is_empty(), "{:?}", ev.identifiers);
        assert_eq!(ev.event_time_us, us("2026-11-20T07:02:00Z"));
        assert!(!format!("{ev:?}").contains("walk-in"));
    }

    #[test]
    fn line3_plus86_mobile() {
        let ev = ok(Offline, line(OFFLINE, 3));
        assert_eq!(ev.event_type, "wecom_add");
        assert_eq!(ev.event_time_us, us("2026-11-21T02:00:00Z"));
        let md5 = format!("phone_md5:{MD5_13900139000}");
        let sha = format!("phone_sha256:{SHA256_13900139000}");
        assert_eq!(
            ids(&ev),
            sorted(&[
                "phone:+8613900139000",
                &md5,
                &sha,
                "wecom_external_userid:wmXyZ002"
            ])
        );
    }

    #[test]
    fn line4_null_string_mobile_dropped() {
        let ev = ok(Offline, line(OFFLINE, 4));
        assert_eq!(ids(&ev), sorted(&["member_id:M000456"]));
    }

    #[test]
    fn line5_missing_occurred_at_rejected() {
        let r = err(Offline, line(OFFLINE, 5));
        assert_eq!(r.reason, "missing required field `occurred_at`");
        assert_eq!(r.field.as_deref(), Some("occurred_at"));
    }

    #[test]
    fn numbers_are_accepted_everywhere() {
        let ev = ok(
            Offline,
            r#"{"record_id":42,"store_id":1001,"action":"store_visit","occurred_at":"2026-11-20 08:00:00","mobile":13800138000,"member_card":7}"#,
        );
        assert_eq!(ev.event_id, "42");
        assert_eq!(ev.store_id.as_deref(), Some("1001"));
        assert!(ids(&ev).contains(&"phone:+8613800138000".to_string()));
        assert!(ids(&ev).contains(&"member_id:7".to_string()));
    }

    #[test]
    fn bad_local_time_and_types_name_the_field() {
        let base = r#"{"record_id":"r","store_id":"s","action":"a","occurred_at":"#;
        let r = err(Offline, &format!("{base}\"20/11/2026\"}}"));
        assert_eq!(r.field.as_deref(), Some("occurred_at"));
        let r = err(Offline, &format!("{base}{{}}}}"));
        assert_eq!(r.reason, "`occurred_at` must be a string, got an object");
    }
}
