//! `transaction.jsonl` lines: one line per order status change, refunds that
//! overtake their payment, retries, and the ground-truth revenue.

use crate::catalog::SKUS;
use crate::clock::{push_local_yyyymmdd, push_utc_millis, DAY_MS, HOUR_MS};
use crate::formats::{junk, push_email_raw, push_phone_buyer};
use crate::json::{push_uint_padded, push_yuan, Obj};
use crate::rng::Draw;
use crate::truth::slot;
use crate::world::{Ctx, Src, MAX_LINES_PER_SOURCE};

/// Share of orders never paid, of paid orders refunded, and of refunds whose
/// message arrives before the payment's.
pub const CANCEL_RATE: f64 = 0.05;
pub const REFUND_RATE: f64 = 0.08;
pub const REFUND_FIRST_SHARE: f64 = 0.25;

#[derive(Debug, Clone, Copy, Default)]
pub struct Buyer {
    pub phone: Option<usize>,
    pub member_id: bool,
    pub unionid: bool,
    pub openid: bool,
    pub email: bool,
}

pub struct Order {
    pub channel: &'static str,
    pub store: Option<usize>,
    pub t: i64,
    pub items: Vec<(usize, u32)>,
    pub coupon: Option<(&'static str, i64)>,
    pub buyer: Buyer,
}

impl Order {
    fn subtotal(&self) -> i64 {
        self.items
            .iter()
            .map(|&(s, q)| SKUS[s].price_fen * q as i64)
            .sum()
    }
    fn discount(&self) -> i64 {
        self.coupon
            .map_or(0, |(_, d)| d.min(self.subtotal() - 100).max(0))
    }
    pub fn total(&self) -> i64 {
        self.subtotal() - self.discount()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Paid,
    Refunded,
    Cancelled,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    NotJson,
    NegativeTotal,
    ThreeDecimals,
    MissingTotal,
    MissingUpdatedAt,
}

/// Emits an order's lines and books it in the person's revenue truth.
pub fn emit(ctx: &mut Ctx<'_>, order: &Order) {
    let Some(no) = ctx.next_order() else { return };
    if ctx.rng.chance(CANCEL_RATE) {
        let t = order.t + ctx.rng.between(60_000, 2 * HOUR_MS);
        if let Some(r) = build(ctx, order, no, Status::Cancelled, t, None) {
            ctx.accept(Src::Transaction, t, r);
            ctx.revenue.has_transactions = true;
        }
        return;
    }
    let Some(r) = build(ctx, order, no, Status::Paid, order.t, None) else {
        return;
    };
    ctx.accept(Src::Transaction, order.t, r);
    ctx.revenue.has_transactions = true;
    ctx.revenue.net_fen += order.total();
    ctx.revenue.orders_paid += 1;
    let refund_t = order.t + ctx.rng.between(HOUR_MS, 14 * DAY_MS);
    if refund_t < ctx.w.end_ms && ctx.rng.chance(REFUND_RATE) {
        if let Some(r) = build(ctx, order, no, Status::Refunded, refund_t, None) {
            // A refund message that overtakes its payment is filed just
            // before the payment line; its `updated_at` stays the refund time.
            let key = if ctx.rng.chance(REFUND_FIRST_SHARE) {
                order.t - 1
            } else {
                refund_t
            };
            ctx.accept(Src::Transaction, key, r);
            ctx.revenue.net_fen -= order.total();
            ctx.revenue.orders_refunded += 1;
        }
    }
    if ctx.want_malformed() {
        // A different order of the same buyer whose `paid` message breaks a
        // rule; it is rejected, so it is booked nowhere.
        let Some(bad_no) = ctx.next_order() else {
            return;
        };
        let faults = [
            Fault::NotJson,
            Fault::NegativeTotal,
            Fault::ThreeDecimals,
            Fault::MissingTotal,
            Fault::MissingUpdatedAt,
        ];
        let fault = *ctx.rng.pick(&faults);
        let t = order.t + 1000;
        if build(ctx, order, bad_no, Status::Paid, t, Some(fault)).is_some() {
            ctx.reject(Src::Transaction, t, matches!(fault, Fault::NotJson));
        }
    }
}

fn build(
    ctx: &mut Ctx<'_>,
    order: &Order,
    no: u64,
    status: Status,
    updated: i64,
    fault: Option<Fault>,
) -> Option<u64> {
    ctx.next_seq(Src::Transaction)?;
    let mut line = ctx.take_line();
    let mut revealed = 0u64;
    let rng = &mut ctx.rng;
    let me = &ctx.me;
    let total = order.total();
    let discount = order.discount();
    {
        let mut o = Obj::new(&mut line);
        o.str_with("order_id", |b| {
            b.extend_from_slice(b"O-");
            push_local_yyyymmdd(b, order.t);
            b.push(b'-');
            push_uint_padded(b, ctx.pid * MAX_LINES_PER_SOURCE + no, 10);
        });
        o.str(
            "status",
            match status {
                Status::Paid => "paid",
                Status::Refunded => "refunded",
                Status::Cancelled => "cancelled",
            },
        );
        if !matches!(fault, Some(Fault::MissingUpdatedAt)) {
            o.str_with("updated_at", |b| push_utc_millis(b, updated));
        }
        if status != Status::Cancelled {
            o.str_with("paid_at", |b| push_utc_millis(b, order.t));
        }
        o.str("channel", order.channel);
        if let Some(s) = order.store {
            o.str("store_id", &ctx.w.stores[s].id);
        }
        o.open_obj("buyer");
        let bu = order.buyer;
        if let Some(k) = bu.phone {
            o.str_with("phone", |b| push_phone_buyer(b, &me.phones[k].digits, rng));
            revealed |= slot::phone(k);
        }
        let fields = [
            (
                bu.member_id,
                "member_id",
                me.member_id.as_str(),
                slot::MEMBER_ID,
            ),
            (bu.unionid, "unionid", me.unionid.as_str(), slot::UNIONID),
            (bu.openid, "openid", me.openid.as_str(), slot::OPENID),
        ];
        for (on, key, value, bit) in fields {
            if on {
                if rng.chance(0.02) {
                    o.str(key, junk(rng));
                } else {
                    o.str(key, value);
                    revealed |= bit;
                }
            }
        }
        if bu.email {
            o.str_with("email", |b| push_email_raw(b, &me.email, rng));
            revealed |= slot::EMAIL;
        }
        o.close_obj();
        if status != Status::Refunded || rng.chance(0.3) {
            o.open_arr("items");
            for &(s, q) in &order.items {
                o.open_elem()
                    .str("sku", SKUS[s].sku)
                    .str("name", SKUS[s].name)
                    .int("qty", q as i64);
                o.str_with("unit_price", |b| push_yuan(b, SKUS[s].price_fen));
                o.close_obj();
            }
            o.close_arr();
        }
        match fault {
            Some(Fault::MissingTotal) => {}
            Some(Fault::NegativeTotal) => {
                o.str_with("total_amount", |b| push_yuan(b, -total));
            }
            Some(Fault::ThreeDecimals) => {
                o.str_with("total_amount", |b| {
                    push_yuan(b, total);
                    b.push(b'0' + 1 + rng.below(9) as u8);
                });
            }
            _ => {
                o.str_with("total_amount", |b| push_yuan(b, total));
            }
        }
        if discount > 0 || rng.chance(0.3) {
            o.str_with("discount_amount", |b| push_yuan(b, discount));
        }
        if rng.chance(0.7) {
            o.str("currency", "CNY");
        }
        if let Some((code, _)) = order.coupon {
            o.str("coupon_code", code);
        }
        o.finish();
    }
    ctx.line = line;
    Some(revealed)
}
