//! `offline.jsonl` lines (POS, membership desk, WeCom guide): local times
//! without offset, clerk-typed mobiles, placeholders and store phones.

use crate::catalog::{GIVEN, SURNAMES};
use crate::clock::{push_local_dash, push_local_slash, push_local_yyyymmdd};
use crate::formats::{junk, push_phone_offline, PLACEHOLDER_MOBILES};
use crate::json::{push_uint_padded, Obj};
use crate::rng::Draw;
use crate::truth::slot;
use crate::world::{Ctx, Src, MAX_LINES_PER_SOURCE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mobile {
    None,
    Own(usize),
    /// The customer declined; the clerk typed a placeholder.
    Placeholder,
    /// The clerk typed the store's own phone for a walk-in.
    StorePhone,
    Junk,
}

pub struct OfflineEv {
    pub action: &'static str,
    pub t: i64,
    pub store: usize,
    pub card: bool,
    pub mobile: Mobile,
    pub name: bool,
    pub guide: bool,
    pub wecom: bool,
    pub unionid: bool,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    NotJson,
    MissingRecordId,
    MissingStoreId,
    MissingOccurredAt,
    BadTime,
}

pub fn emit(ctx: &mut Ctx<'_>, ev: &OfflineEv) {
    let Some(revealed) = build(ctx, ev, None) else {
        return;
    };
    if ev.mobile == Mobile::StorePhone {
        ctx.store_phones_used |= 1 << ev.store;
    }
    ctx.accept(Src::Offline, ev.t, revealed);
    if ctx.want_malformed() {
        let faults = [
            Fault::NotJson,
            Fault::MissingRecordId,
            Fault::MissingStoreId,
            Fault::MissingOccurredAt,
            Fault::BadTime,
        ];
        let fault = *ctx.rng.pick(&faults);
        if build(ctx, ev, Some(fault)).is_some() {
            ctx.reject(Src::Offline, ev.t + 1, matches!(fault, Fault::NotJson));
        }
    }
}

fn build(ctx: &mut Ctx<'_>, ev: &OfflineEv, fault: Option<Fault>) -> Option<u64> {
    let seq = ctx.next_seq(Src::Offline)?;
    let mut line = ctx.take_line();
    let mut revealed = 0;
    let store = &ctx.w.stores[ev.store];
    let rng = &mut ctx.rng;
    let me = &ctx.me;
    {
        let mut o = Obj::new(&mut line);
        if !matches!(fault, Some(Fault::MissingRecordId)) {
            // Unique per person and line; the store and local date make it
            // look like the POS numbering.
            o.str_with("record_id", |b| {
                b.extend_from_slice(store.id.as_bytes());
                b.push(b'-');
                push_local_yyyymmdd(b, ev.t);
                b.push(b'-');
                push_uint_padded(b, ctx.pid * MAX_LINES_PER_SOURCE + seq, 10);
            });
        }
        if !matches!(fault, Some(Fault::MissingStoreId)) {
            o.str("store_id", &store.id);
        }
        o.str("action", ev.action);
        match fault {
            Some(Fault::MissingOccurredAt) => {}
            Some(Fault::BadTime) => {
                o.str(
                    "occurred_at",
                    rng.pick::<&str>(&["待补录", "00:00", "2026-13-45 25:61:00"]),
                );
            }
            _ if store.slash_dates => {
                o.str_with("occurred_at", |b| push_local_slash(b, ev.t));
            }
            _ => {
                o.str_with("occurred_at", |b| push_local_dash(b, ev.t));
            }
        }
        if ev.card {
            if rng.chance(0.02) {
                o.str("member_card", junk(rng));
            } else {
                o.str("member_card", &me.member_id);
                revealed |= slot::MEMBER_ID;
            }
        } else if rng.chance(0.2) {
            o.str("member_card", "");
        }
        match ev.mobile {
            Mobile::None => {}
            Mobile::Own(k) => {
                o.str_with("mobile", |b| {
                    push_phone_offline(b, &me.phones[k].digits, rng)
                });
                revealed |= slot::phone(k);
            }
            Mobile::Placeholder => {
                o.str("mobile", rng.pick::<&str>(&PLACEHOLDER_MOBILES));
            }
            Mobile::StorePhone => {
                o.str_with("mobile", |b| b.extend_from_slice(&store.phone));
            }
            Mobile::Junk => {
                o.str("mobile", junk(rng));
            }
        }
        if ev.name {
            let (s, g) = (rng.pick(&SURNAMES), rng.pick(&GIVEN));
            o.str_with("name", |b| {
                b.extend_from_slice(s.as_bytes());
                b.extend_from_slice(g.as_bytes());
            });
        } else if ev.mobile == Mobile::StorePhone && rng.chance(0.5) {
            o.str("name", "walk-in");
        }
        if ev.guide {
            o.str_with("guide_id", |b| {
                b.push(b'G');
                push_uint_padded(b, 1 + (ev.store as u64 * 7 + rng.below(6)) % 40, 2);
            });
        }
        if ev.wecom {
            o.str("wecom_external_userid", &me.wecom);
            revealed |= slot::WECOM;
        }
        if ev.unionid {
            o.str("unionid", &me.unionid);
            revealed |= slot::UNIONID;
        }
        o.finish();
    }
    ctx.line = line;
    Some(revealed)
}
