//! `cdp.transaction`: the order system (contract §1). One order arrives once
//! per status change, so the event is the pair `(order_id, status)`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::amount;
use super::fields::{optional_text, required_str, Ids};
use super::json::{self, Lenient, ObjectWriter, Scalar};
use super::time;
use super::Rejection;
use crate::event::{EventView, Identifiers, Scratch};
use crate::identifier::{IdType, JunkList};
use crate::source::SourceKind;

/// The statuses of the contract; anything else would be counted neither as
/// revenue nor as a refund, so it is refused rather than guessed.
pub(crate) const STATUSES: [&str; 3] = ["paid", "refunded", "cancelled"];

const DEFAULT_CURRENCY: &str = "CNY";

#[derive(Deserialize)]
struct Transaction<'a> {
    #[serde(borrow)]
    order_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    status: Option<Scalar<'a>>,
    #[serde(borrow)]
    updated_at: Option<Scalar<'a>>,
    #[serde(borrow)]
    paid_at: Option<Scalar<'a>>,
    #[serde(borrow)]
    channel: Option<Scalar<'a>>,
    #[serde(borrow)]
    store_id: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    buyer: Lenient<Buyer<'a>>,
    #[serde(borrow)]
    items: Option<&'a RawValue>,
    #[serde(borrow)]
    total_amount: Option<Scalar<'a>>,
    #[serde(borrow)]
    discount_amount: Option<&'a RawValue>,
    #[serde(borrow)]
    currency: Option<Scalar<'a>>,
    #[serde(borrow)]
    coupon_code: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Buyer<'a> {
    #[serde(borrow)]
    phone: Option<Scalar<'a>>,
    #[serde(borrow)]
    member_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    unionid: Option<Scalar<'a>>,
    #[serde(borrow)]
    openid: Option<Scalar<'a>>,
    #[serde(borrow)]
    email: Option<Scalar<'a>>,
}

/// A status of the contract, compared ignoring case and surrounding space.
pub(crate) fn status(field: &str, value: &str) -> Result<&'static str, Rejection> {
    let v = value.trim();
    STATUSES
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(v))
        .ok_or_else(|| {
            Rejection::invalid(
                field,
                value,
                "is not a known status (paid, refunded, cancelled)",
            )
        })
}

pub(crate) fn normalise<'a>(
    raw: &'a [u8],
    junk: &JunkList,
    scratch: &'a mut Scratch,
) -> Result<EventView<'a>, Rejection> {
    let m: Transaction = json::parse_object(json::utf8(raw)?)?;
    let order_id = required_str("order_id", &m.order_id)?;
    let status = status("status", &required_str("status", &m.status)?)?;
    let updated_at = time::rfc3339("updated_at", &required_str("updated_at", &m.updated_at)?)?;
    let paid_at = match &m.paid_at {
        None | Some(Scalar::Null) => None,
        Some(Scalar::Str(s)) if s.trim().is_empty() => None,
        Some(Scalar::Str(s)) => Some(time::rfc3339("paid_at", s)?),
        Some(other) => {
            return Err(Rejection::wrong_type(
                "paid_at",
                "an RFC 3339 string",
                other.type_name(),
            ))
        }
    };
    let event_time_us = match (status, paid_at) {
        ("paid", Some(t)) => t,
        _ => updated_at,
    };
    let amount_fen = match &m.total_amount {
        None | Some(Scalar::Null) if status == "paid" => {
            return Err(Rejection::new(
                "missing required field `total_amount` (required when status is paid)",
                Some("total_amount"),
            ))
        }
        None | Some(Scalar::Null) => None,
        Some(total) => Some(amount::money("total_amount", total, 2)?),
    };

    let Scratch {
        ids: id_buffer,
        event_id,
        properties,
        ..
    } = scratch;
    event_id.clear();
    event_id.push_str(&order_id);
    event_id.push(':');
    event_id.push_str(status);
    let mut ids = Ids::new(junk, id_buffer);
    if let Some(b) = &m.buyer.0 {
        ids.add(IdType::Phone, &b.phone);
        ids.add(IdType::MemberId, &b.member_id);
        ids.add(IdType::Unionid, &b.unionid);
        ids.add(IdType::Openid, &b.openid);
        ids.add(IdType::Email, &b.email);
    }
    let event_id: &'a String = event_id;
    let mut ev = EventView::new(
        Cow::Borrowed(event_id.as_str()),
        SourceKind::Transaction.as_str(),
        Cow::Borrowed(status),
        event_time_us,
        Identifiers::Buffer(ids.finish()),
    );
    ev.order_id = Some(order_id);
    ev.amount_fen = amount_fen;
    ev.currency = Some(match optional_text(&m.currency) {
        None => Cow::Borrowed(DEFAULT_CURRENCY),
        Some(c) if c.bytes().any(|b| b.is_ascii_lowercase()) => Cow::Owned(c.to_ascii_uppercase()),
        Some(c) => c,
    });
    ev.channel = optional_text(&m.channel);
    ev.store_id = optional_text(&m.store_id);

    let mut props = ObjectWriter::new(properties);
    props.raw("items", m.items);
    props.raw("discount_amount", m.discount_amount);
    props.raw("coupon_code", m.coupon_code);
    if let Some(Scalar::Str(p)) = &m.paid_at {
        props.string("paid_at", p);
    }
    ev.properties = props.finish_str().map(Cow::Borrowed);
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::source::SourceKind::Transaction;

    #[test]
    fn line1_paid_order() {
        let ev = ok(Transaction, line(TRANSACTION, 1));
        assert_eq!(ev.event_id, "O-20261120-0001:paid");
        assert_eq!(ev.source, "transaction");
        assert_eq!(ev.event_type, "paid");
        assert_eq!(ev.event_time_us, us("2026-11-20T06:35:00.123Z"));
        assert_eq!(ev.order_id.as_deref(), Some("O-20261120-0001"));
        assert_eq!(ev.amount_fen, Some(10980));
        assert_eq!(ev.currency.as_deref(), Some("CNY"));
        assert_eq!(ev.channel.as_deref(), Some("mini_program"));
        let md5 = format!("phone_md5:{MD5_13800138000}");
        let sha = format!("phone_sha256:{SHA256_13800138000}");
        assert_eq!(
            ids(&ev),
            sorted(&[
                "phone:+8613800138000",
                &md5,
                &sha,
                "member_id:M000123",
                "unionid:uUnion001",
                "openid:oAbc123xyz"
            ])
        );
        assert_eq!(
            ev.properties.as_deref(),
            Some(concat!(
                r#"{"items":[{"sku":"SKU-001","name":"棉柔巾","qty":2,"unit_price":"59.90"}],"#,
                r#""discount_amount":"10.00","coupon_code":"NEW10","paid_at":"2026-11-20T06:35:00.123Z"}"#
            ))
        );
    }

    #[test]
    fn line2_redelivery_is_the_same_event() {
        assert_eq!(
            ok(Transaction, line(TRANSACTION, 2)),
            ok(Transaction, line(TRANSACTION, 1))
        );
    }

    #[test]
    fn line3_refund_before_payment_uses_updated_at() {
        let ev = ok(Transaction, line(TRANSACTION, 3));
        assert_eq!(ev.event_id, "O-20261121-0042:refunded");
        assert_eq!(ev.event_type, "refunded");
        assert_eq!(ev.event_time_us, us("2026-11-22T02:00:00Z"));
        assert_eq!(ev.amount_fen, Some(9900));
        assert_eq!(ev.store_id.as_deref(), Some("GZ003"));
        let md5 = format!("phone_md5:{MD5_13900139000}");
        let sha = format!("phone_sha256:{SHA256_13900139000}");
        assert_eq!(ids(&ev), sorted(&["phone:+8613900139000", &md5, &sha]));
        assert_eq!(ev.properties, None);
    }

    #[test]
    fn line4_paid_after_refund() {
        let ev = ok(Transaction, line(TRANSACTION, 4));
        assert_eq!(ev.event_id, "O-20261121-0042:paid");
        assert_eq!(ev.event_time_us, us("2026-11-21T02:10:00Z"));
        assert_eq!(ev.amount_fen, Some(9900));
    }

    #[test]
    fn lines5_and_6_bad_amounts_rejected_with_reason() {
        let r = err(Transaction, line(TRANSACTION, 5));
        assert_eq!(r.reason, r#"`total_amount` "-5.00" is negative"#);
        assert_eq!(r.field.as_deref(), Some("total_amount"));
        let r = err(Transaction, line(TRANSACTION, 6));
        assert_eq!(
            r.reason,
            r#"`total_amount` "12.345" has more than two decimals"#
        );
    }

    #[test]
    fn status_and_amount_rules() {
        let base = r#"{"order_id":"o1","updated_at":"2026-11-20T00:00:00Z","status":"#;
        assert_eq!(
            err(Transaction, &format!("{base}\"shipped\"}}"))
                .field
                .as_deref(),
            Some("status")
        );
        let r = err(Transaction, &format!("{base}\"paid\"}}"));
        assert_eq!(r.field.as_deref(), Some("total_amount"));
        let ev = ok(
            Transaction,
            &format!("{base}\"CANCELLED\",\"currency\":\"usd\"}}"),
        );
        assert_eq!(ev.event_id, "o1:cancelled");
        assert_eq!(ev.amount_fen, None);
        assert_eq!(ev.currency.as_deref(), Some("USD"));
        let r = err(
            Transaction,
            &format!("{base}\"paid\",\"total_amount\":\"1\",\"paid_at\":\"soon\"}}"),
        );
        assert_eq!(r.field.as_deref(), Some("paid_at"));
        assert_eq!(
            err(Transaction, r#"{"status":"paid"}"#).reason,
            "missing required field `order_id`"
        );
    }
}
