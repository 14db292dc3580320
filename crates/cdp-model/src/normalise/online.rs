//! `cdp.online`: the tracking SDK of mini-program, app and H5 (contract §1).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};

use super::fields::{optional_text, required_str, Ids};
use super::json::{self, Lenient, ObjectWriter, Scalar};
use super::time::{self, EpochUnit};
use super::Rejection;
use crate::event::{EventView, Identifiers, Scratch};
use crate::identifier::{IdType, JunkList};
use crate::source::SourceKind;

#[derive(Deserialize)]
struct Online<'a> {
    #[serde(borrow)]
    event_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    event: Option<Scalar<'a>>,
    #[serde(borrow)]
    ts: Option<Scalar<'a>>,
    #[serde(borrow)]
    platform: Option<Scalar<'a>>,
    #[serde(borrow)]
    anonymous_id: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    user: Lenient<User<'a>>,
    #[serde(borrow, default)]
    device: Lenient<Device<'a>>,
    #[serde(borrow, default)]
    context: Lenient<Context<'a>>,
    #[serde(borrow)]
    properties: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct User<'a> {
    #[serde(borrow)]
    openid: Option<Scalar<'a>>,
    #[serde(borrow)]
    unionid: Option<Scalar<'a>>,
    #[serde(borrow)]
    phone: Option<Scalar<'a>>,
    #[serde(borrow)]
    member_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    email: Option<Scalar<'a>>,
}

#[derive(Deserialize)]
struct Device<'a> {
    #[serde(borrow)]
    idfa: Option<Scalar<'a>>,
    #[serde(borrow)]
    oaid: Option<Scalar<'a>>,
    #[serde(borrow)]
    android_id: Option<Scalar<'a>>,
}

// `ip` and `ua` are not read: they are never identifiers (contract §1).
#[derive(Deserialize)]
struct Context<'a> {
    #[serde(borrow)]
    channel_code: Option<Scalar<'a>>,
    #[serde(borrow)]
    utm_source: Option<Scalar<'a>>,
    #[serde(borrow)]
    utm_campaign: Option<Scalar<'a>>,
    #[serde(borrow)]
    page: Option<Scalar<'a>>,
}

/// Length in hex digits of the derived event id's hash: 128 bits, so that
/// distinct messages never collide in practice.
const DERIVED_ID_HEX: usize = 32;

pub(crate) fn normalise<'a>(
    raw: &'a [u8],
    junk: &JunkList,
    scratch: &'a mut Scratch,
) -> Result<EventView<'a>, Rejection> {
    let text = json::utf8(raw)?;
    let m: Online = json::parse_object(text)?;
    let event_type = required_str("event", &m.event)?;
    let ts = m.ts.as_ref().ok_or_else(|| Rejection::missing("ts"))?;
    let event_time_us = time::epoch("ts", ts, EpochUnit::Auto)?;
    let Scratch {
        ids: id_buffer,
        event_id: id_text,
        properties: props_text,
        ..
    } = scratch;
    let event_id = match optional_text(&m.event_id) {
        Some(id) => id,
        None => Cow::Borrowed(derived_event_id(raw, id_text)),
    };

    let mut ids = Ids::new(junk, id_buffer);
    ids.add(IdType::AnonymousId, &m.anonymous_id);
    if let Some(u) = &m.user.0 {
        ids.add(IdType::Openid, &u.openid);
        ids.add(IdType::Unionid, &u.unionid);
        ids.add(IdType::Phone, &u.phone);
        ids.add(IdType::MemberId, &u.member_id);
        ids.add(IdType::Email, &u.email);
    }
    if let Some(d) = &m.device.0 {
        ids.add(IdType::Idfa, &d.idfa);
        ids.add(IdType::Oaid, &d.oaid);
        ids.add(IdType::AndroidId, &d.android_id);
    }
    let mut ev = EventView::new(
        event_id,
        SourceKind::Online.as_str(),
        event_type,
        event_time_us,
        Identifiers::Buffer(ids.finish()),
    );
    ev.platform = optional_text(&m.platform);

    let mut page = None;
    if let Some(c) = &m.context.0 {
        ev.channel_code = optional_text(&c.channel_code);
        ev.utm_source = optional_text(&c.utm_source);
        ev.utm_campaign = optional_text(&c.utm_campaign);
        page = optional_text(&c.page);
    }
    ev.properties = properties(m.properties, page.as_deref(), props_text);
    Ok(ev)
}

/// Old SDKs send no `event_id`: the id is derived from the message bytes, so
/// a redelivery of the same message gets the same id and is deduplicated.
fn derived_event_id<'s>(raw: &[u8], id: &'s mut String) -> &'s str {
    let digest = Sha256::digest(raw.trim_ascii());
    id.clear();
    id.push_str("derived-");
    crate::identifier::push_lower_hex(&digest[..DERIVED_ID_HEX / 2], id);
    id
}

/// `properties` as compact JSON text, with `context.page` added as `page`
/// (the page is what page views are about, and the event has no column for
/// it). The SDK's own `page` property, if any, wins. Built in `out` when it
/// is not the message's own text.
fn properties<'a>(
    props: Option<&'a RawValue>,
    page: Option<&str>,
    out: &'a mut String,
) -> Option<Cow<'a, str>> {
    let props = props
        .map(|p| json::compact(p.get()))
        .filter(|p| p != "null");
    let Some(page) = page else {
        return props;
    };
    out.clear();
    match props {
        None => {
            let mut w = ObjectWriter::new(out);
            w.string("page", page);
            return w.finish_str().map(Cow::Borrowed);
        }
        // A substring test, not a parse: a nested key named `page` also
        // keeps the page out, which loses nothing the SDK did not send.
        Some(p) if p.starts_with('{') && !p.contains("\"page\":") => {
            let inner = &p[1..p.len() - 1];
            out.push_str("{\"page\":");
            json::push_json_string(out, page);
            if !inner.is_empty() {
                out.push(',');
                out.push_str(inner);
            }
            out.push('}');
        }
        Some(p) => return Some(p),
    }
    let out: &'a String = out;
    Some(Cow::Borrowed(out.as_str()))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::source::SourceKind::Online;

    #[test]
    fn line1_page_view_with_page_in_properties() {
        let ev = ok(Online, line(ONLINE, 1));
        assert_eq!(ev.event_id, "0b1f6c1e-4a53-4d5e-9a0e-2f1d8a6c9e01");
        assert_eq!(ev.source, "online");
        assert_eq!(ev.event_type, "page_view");
        assert_eq!(ev.event_time_us, 1_763_620_385_123_000);
        assert_eq!(ev.platform.as_deref(), Some("mini_program"));
        assert_eq!(ev.channel_code.as_deref(), Some("pkg_card_2026q4"));
        assert_eq!(
            ids(&ev),
            sorted(&[
                "anonymous_id:anon-7f3a9c",
                "openid:oAbc123xyz",
                "unionid:uUnion001"
            ])
        );
        assert_eq!(
            ev.properties.as_deref(),
            Some(r#"{"page":"/pages/home","title":"首页"}"#)
        );
        assert_eq!(ev.provenance.offset, 7);
    }

    #[test]
    fn line2_spaced_phone_becomes_e164_with_hashes() {
        let ev = ok(Online, line(ONLINE, 2));
        assert_eq!(ev.event_type, "register");
        let md5 = format!("phone_md5:{MD5_13800138000}");
        let sha = format!("phone_sha256:{SHA256_13800138000}");
        assert_eq!(
            ids(&ev),
            sorted(&[
                "anonymous_id:anon-7f3a9c",
                "openid:oAbc123xyz",
                "unionid:uUnion001",
                "member_id:M000123",
                "phone:+8613800138000",
                &md5,
                &sha,
            ])
        );
        assert_eq!(ev.properties.as_deref(), Some("{}"));
    }

    #[test]
    fn line3_seconds_as_string_and_derived_event_id() {
        let raw = line(ONLINE, 3);
        let ev = ok(Online, raw);
        assert_eq!(ev.event_time_us, 1_763_620_500_000_000);
        assert_eq!(ev.event_time_us, us("2025-11-20T06:35:00Z"));
        // sha256 of the line, first 32 hex digits, computed with Python.
        assert_eq!(ev.event_id, "derived-e2ee4768b62f0a5120aac926f3b1e40e");
        // A redelivery of the same bytes (Kafka framing may add a newline)
        // is the same event.
        assert_eq!(ok(Online, &format!("{raw}\n")).event_id, ev.event_id);
        assert_ne!(
            ok(Online, &raw.replace("SKU-001", "SKU-002")).event_id,
            ev.event_id
        );
        assert_eq!(
            ids(&ev),
            sorted(&[
                "anonymous_id:anon-ios-55",
                "idfa:6D92078A-8246-4BA4-AE5B-76104861E7DC",
                "idfa_md5:f2d1311ca5c1ecb214c19a26e9ddbad0",
            ])
        );
        assert_eq!(
            ev.properties.as_deref(),
            Some(r#"{"sku":"SKU-001","price":"59.90"}"#)
        );
    }

    #[test]
    fn line4_zero_idfa_dropped_email_lowercased() {
        let ev = ok(Online, line(ONLINE, 4));
        assert_eq!(
            ids(&ev),
            sorted(&["anonymous_id:anon-ios-55", "email:li.ming@example.com"])
        );
    }

    #[test]
    fn line5_86_prefix_undefined_unionid_and_oaid() {
        let ev = ok(Online, line(ONLINE, 5));
        let md5 = format!("phone_md5:{MD5_13900139000}");
        let sha = format!("phone_sha256:{SHA256_13900139000}");
        assert_eq!(
            ids(&ev),
            sorted(&[
                "anonymous_id:anon-and-9",
                "phone:+8613900139000",
                &md5,
                &sha,
                "oaid:a1b2c3d4-e5f6-4711-8899-aabbccddeeff",
                "oaid_md5:43505e32231c9a57f06e5a530374abf4",
                "android_id:9774d56d682e549c",
            ])
        );
    }

    #[test]
    fn lines6_to_8_are_rejected_with_reasons() {
        let r = err(Online, line(ONLINE, 6));
        assert_eq!(r.reason, "missing required field `ts`");
        assert_eq!(r.field.as_deref(), Some("ts"));
        let r = err(Online, line(ONLINE, 7));
        assert_eq!(r.reason, r#"`ts` "yesterday" is not an epoch number"#);
        let r = err(Online, line(ONLINE, 8));
        assert!(r.reason.starts_with("not JSON: "), "{}", r.reason);
        assert_eq!(r.field, None);
    }

    #[test]
    fn event_must_be_a_non_empty_string() {
        assert_eq!(
            err(Online, r#"{"event":"","ts":1}"#).reason,
            "`event` is empty"
        );
        assert_eq!(
            err(Online, r#"{"event":7,"ts":1}"#).reason,
            "`event` must be a string, got a number"
        );
        assert_eq!(
            err(Online, r#"{"ts":1}"#).reason,
            "missing required field `event`"
        );
    }

    #[test]
    fn ip_and_ua_are_never_identifiers_and_wrong_nested_types_are_ignored() {
        let ev = ok(
            Online,
            r#"{"event":"x","ts":1,"user":"oops","device":[1],"context":{"ip":"1.2.3.4","ua":"UA","page":null}}"#,
        );
        assert!(ev.identifiers.is_empty());
        assert_eq!(ev.properties, None);
        assert!(!format!("{ev:?}").contains("1.2.3.4"));
    }

    #[test]
    fn escaped_strings_and_numeric_ids_are_read() {
        let ev = ok(
            Online,
            r#"{"event":"a\u0062","ts":1,"user":{"member_id":12345,"openid":"o\"x"}}"#,
        );
        assert_eq!(ev.event_type, "ab");
        assert_eq!(ids(&ev), sorted(&["member_id:12345", "openid:o\"x"]));
    }
}
