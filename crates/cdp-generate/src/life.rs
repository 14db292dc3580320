//! One person's life in the brand's world: who they are (persona), when they
//! show up, and which identifiers they reveal over time. Everything a person
//! does is drawn from the person's own generator.

use crate::ad::{self, AdEv, AdEvent, BAIDU, OCEAN_ENGINE, TENCENT_ADS};
use crate::catalog::{CAMPAIGNS, COUPONS, ONLINE_CHANNEL_CODES, SKUS};
use crate::clock::{DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};
use crate::offline::{self, Mobile, OfflineEv};
use crate::online::{self, Known, OnlineEv, Props};
use crate::rng::Draw;
use crate::transaction::{self, Buyer, Order};
use crate::world::{Ctx, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    /// Browses anonymously, maybe sees ads; never identifies.
    Prospect,
    /// Registers in the mini-program or app, may buy there.
    OnlineMember,
    /// Signs up in a store with card and mobile, added on WeCom by a guide.
    StoreMember,
    /// Buys on Tmall / JD / Douyin, reached through ads.
    Marketplace,
    /// Only ever seen by the ad platforms.
    AdOnly,
    /// Farms new-customer coupons with several phones on one device.
    CouponHunter,
}

/// Persona shares (per mille) among persons with one phone.
const PERSONA_WEIGHTS: [u32; 5] = [440, 250, 160, 110, 40];
const PERSONAS: [Persona; 5] = [
    Persona::Prospect,
    Persona::OnlineMember,
    Persona::StoreMember,
    Persona::Marketplace,
    Persona::AdOnly,
];

struct Span {
    first: i64,
    last: i64,
    /// When the person first identified (for tablet logins).
    revealed_at: i64,
    known: Known,
    channel_code: &'static str,
}

pub fn simulate(ctx: &mut Ctx<'_>) -> Persona {
    let (start, end) = (ctx.w.start_ms, ctx.w.end_ms);
    let first = start + ctx.rng.below(((end - start) * 9 / 10) as u64) as i64;
    // A quarter of people churn: active for a few weeks, then never again.
    let last = if ctx.rng.chance(0.25) {
        (first + ctx.rng.between(7, 45) * DAY_MS).min(end - HOUR_MS)
    } else {
        end - HOUR_MS
    };
    let persona = if ctx.me.phones.len() > 1 {
        Persona::CouponHunter
    } else {
        PERSONAS[ctx.rng.weighted(&PERSONA_WEIGHTS)]
    };
    let channel_code = *ctx.rng.pick(&ONLINE_CHANNEL_CODES);
    let mut s = Span {
        first,
        last,
        revealed_at: i64::MAX,
        known: Known::default(),
        channel_code,
    };
    match persona {
        Persona::Prospect => prospect(ctx, &mut s),
        Persona::OnlineMember => online_member(ctx, &mut s),
        Persona::StoreMember => store_member(ctx, &mut s),
        Persona::Marketplace => marketplace(ctx, &mut s),
        Persona::AdOnly => ad_only(ctx, &s),
        Persona::CouponHunter => coupon_hunter(ctx, &mut s),
    }
    if ctx.tablet.is_some() {
        tablet_sessions(ctx, &s);
    }
    // Every person must be visible in some accepted line with an identifier.
    let mut tries = 0;
    while ctx.mask == 0 && tries < 8 {
        let ev = OnlineEv {
            event: "page_view",
            ts: s.first + tries,
            on_tablet: false,
            user: None,
            channel_code: None,
            utm: None,
            page: 0,
            props: Props::Page,
        };
        online::emit(ctx, &ev);
        tries += 1;
    }
    persona
}

/// `n` sorted times in `[from, to]`.
fn times(ctx: &mut Ctx<'_>, n: usize, from: i64, to: i64) -> Vec<i64> {
    let mut v: Vec<i64> = (0..n)
        .map(|_| ctx.rng.between(from, to.max(from)))
        .collect();
    v.sort_unstable();
    v
}

fn order_count(ctx: &mut Ctx<'_>) -> usize {
    match ctx.rng.weighted(&[60, 25, 10, 5]) {
        0 => 1,
        1 => 2,
        2 => ctx.rng.between(3, 5) as usize,
        // The loyal few.
        _ => ctx.rng.between(6, 15) as usize,
    }
}

/// A browsing session of `n` events from `t`; returns the last event time.
fn session(
    ctx: &mut Ctx<'_>,
    mut t: i64,
    n: usize,
    user: Option<Known>,
    on_tablet: bool,
    code: Option<&str>,
) -> i64 {
    let utm_campaign;
    let utm = if code.is_some() && ctx.me.platform == Platform::H5 && !on_tablet {
        utm_campaign = format!("C-{}", 1001 + ctx.rng.below(CAMPAIGNS));
        Some((
            *ctx.rng.pick(&["ocean_engine", "tencent_ads", "baidu"]),
            utm_campaign.as_str(),
        ))
    } else {
        None
    };
    for i in 0..n {
        let sku = ctx.rng.below(SKUS.len() as u64) as usize;
        let (event, page, props) = match ctx.rng.weighted(&[40, 35, 12, 5, 8]) {
            0 => {
                let p = ctx.rng.below(6) as usize;
                ("page_view", p, Props::Page)
            }
            1 => ("product_view", 1, Props::Sku(sku)),
            2 => (
                "add_to_cart",
                1,
                Props::Cart(sku, 1 + ctx.rng.below(3) as u32),
            ),
            3 => ("share", 1, Props::Sku(sku)),
            _ => ("coupon_claim", 4, Props::Coupon(ctx.rng.pick(&COUPONS).0)),
        };
        let ev = OnlineEv {
            event,
            ts: t,
            on_tablet,
            user,
            channel_code: if i == 0 { code } else { None },
            utm: if i == 0 { utm } else { None },
            page,
            props,
        };
        online::emit(ctx, &ev);
        t += ctx.rng.between(2 * SECOND_MS, 3 * MINUTE_MS);
    }
    t
}

fn event(
    ctx: &mut Ctx<'_>,
    event: &'static str,
    ts: i64,
    user: Option<Known>,
    code: Option<&str>,
    page: usize,
    props: Props,
) {
    let ev = OnlineEv {
        event,
        ts,
        on_tablet: false,
        user,
        channel_code: code,
        utm: None,
        page,
        props,
    };
    online::emit(ctx, &ev);
}

fn ad_line(
    ctx: &mut Ctx<'_>,
    platform: usize,
    event: AdEvent,
    t: i64,
    campaign: u64,
    phone: Option<usize>,
) {
    ad::emit(
        ctx,
        &AdEv {
            platform,
            event,
            t,
            campaign,
            phone,
        },
    );
}

/// Impressions and clicks before a first visit; returns the click's platform
/// and campaign when there was a click.
fn ad_touches(ctx: &mut Ctx<'_>, t: i64, max: i64) -> Option<(usize, u64)> {
    let platform = ctx.rng.weighted(&[50, 35, 15]);
    let campaign = ctx.rng.below(CAMPAIGNS);
    let n = ctx.rng.between(1, max);
    let mut clicked = None;
    for i in 0..n {
        let click = ctx.rng.chance(0.45);
        let ev = if click {
            AdEvent::Click
        } else {
            AdEvent::Impression
        };
        ad_line(ctx, platform, ev, t + i * 7 * MINUTE_MS, campaign, None);
        if click {
            clicked = Some((platform, campaign));
        }
    }
    clicked
}

fn random_items(ctx: &mut Ctx<'_>) -> Vec<(usize, u32)> {
    let n = ctx.rng.weighted(&[60, 30, 10]) + 1;
    (0..n)
        .map(|_| {
            (
                ctx.rng.below(SKUS.len() as u64) as usize,
                1 + ctx.rng.weighted(&[80, 15, 5]) as u32,
            )
        })
        .collect()
}

fn coupon(ctx: &mut Ctx<'_>, items: &[(usize, u32)]) -> Option<(&'static str, i64)> {
    let subtotal: i64 = items
        .iter()
        .map(|&(s, q)| SKUS[s].price_fen * q as i64)
        .sum();
    let (code, off, min) = *ctx.rng.pick(&COUPONS);
    (ctx.rng.chance(0.35) && subtotal >= min).then_some((code, off))
}

fn prospect(ctx: &mut Ctx<'_>, s: &mut Span) {
    let mut t = s.first;
    if ctx.rng.chance(0.5) {
        ad_touches(ctx, t, 3);
        t += ctx.rng.between(10 * SECOND_MS, 5 * MINUTE_MS);
    }
    let n = 1 + ctx.rng.below(3) as usize;
    let mut at = times(ctx, n, t, s.last.min(t + 30 * DAY_MS));
    at[0] = t;
    for (i, t) in at.into_iter().enumerate() {
        let events = 1 + ctx.rng.below(4) as usize;
        session(
            ctx,
            t,
            events,
            None,
            false,
            (i == 0).then_some(s.channel_code),
        );
    }
}

fn online_member(ctx: &mut Ctx<'_>, s: &mut Span) {
    let mut t = s.first;
    let clicked = if ctx.rng.chance(0.4) {
        ad_touches(ctx, t, 2)
    } else {
        None
    };
    t += ctx.rng.between(10 * SECOND_MS, 5 * MINUTE_MS);
    for i in 0..1 + ctx.rng.below(2) {
        let n = 1 + ctx.rng.below(4) as usize;
        t = session(ctx, t, n, None, false, (i == 0).then_some(s.channel_code));
        t += ctx.rng.between(MINUTE_MS, 3 * DAY_MS);
    }
    let t_reg = t.min(s.last);
    let mp = ctx.me.platform == Platform::MiniProgram;
    s.known = Known {
        openid: mp,
        unionid: mp,
        phone: Some(0),
        member_id: ctx.rng.chance(0.5),
        email: ctx.rng.chance(0.15),
    };
    s.revealed_at = t_reg;
    event(
        ctx,
        "register",
        t_reg,
        Some(s.known),
        Some(s.channel_code),
        3,
        Props::Register,
    );
    if let Some((platform, campaign)) = clicked {
        let t = t_reg + ctx.rng.between(SECOND_MS, 10 * MINUTE_MS);
        ad_line(ctx, platform, AdEvent::Conversion, t, campaign, Some(0));
    }
    let sessions = ctx.rng.between(1, 8) as usize;
    let at = times(ctx, sessions, t_reg + HOUR_MS, s.last);
    let buys = ctx.rng.chance(0.45);
    let mut orders_left = if buys { order_count(ctx) } else { 0 };
    let is_app = matches!(ctx.me.platform, Platform::Ios | Platform::Android);
    for t in at {
        let mut t = t;
        if is_app && ctx.rng.chance(0.5) {
            event(ctx, "login", t, Some(s.known), None, 3, Props::Empty);
            t += 5 * SECOND_MS;
        }
        let n = 1 + ctx.rng.below(5) as usize;
        t = session(ctx, t, n, Some(s.known), false, None);
        if orders_left > 0 {
            orders_left -= 1;
            let at = t + ctx.rng.between(30 * SECOND_MS, 5 * MINUTE_MS);
            mini_program_order(ctx, s, at);
        }
    }
    // Buyers whose sessions ran out still place their remaining orders.
    for t in times(ctx, orders_left, t_reg + HOUR_MS, s.last) {
        mini_program_order(ctx, s, t);
    }
}

fn mini_program_order(ctx: &mut Ctx<'_>, s: &Span, t: i64) {
    let items = random_items(ctx);
    let sku = items[0].0;
    event(
        ctx,
        "add_to_cart",
        t - 20 * SECOND_MS,
        Some(s.known),
        None,
        2,
        Props::Cart(sku, items[0].1),
    );
    let coupon = coupon(ctx, &items);
    let k = s.known;
    let buyer = Buyer {
        phone: k.phone.filter(|_| ctx.rng.chance(0.7)),
        member_id: k.member_id && ctx.rng.chance(0.8),
        unionid: k.unionid && ctx.rng.chance(0.6),
        openid: k.openid && ctx.rng.chance(0.8),
        email: k.email && ctx.rng.chance(0.2),
    };
    transaction::emit(
        ctx,
        &Order {
            channel: "mini_program",
            store: None,
            t,
            items,
            coupon,
            buyer,
        },
    );
}

fn store_member(ctx: &mut Ctx<'_>, s: &mut Span) {
    let home = ctx.me.home_store;
    let mobile = match ctx.rng.weighted(&[85, 8, 7]) {
        0 => Mobile::Own(0),
        1 => Mobile::Placeholder,
        _ => Mobile::None,
    };
    let wecom = ctx.rng.chance(0.75);
    let signup = OfflineEv {
        action: "member_signup",
        t: s.first,
        store: home,
        card: true,
        mobile,
        name: true,
        guide: true,
        wecom,
        unionid: wecom && ctx.rng.chance(0.3),
    };
    offline::emit(ctx, &signup);
    s.known.member_id = true;
    s.known.phone = (mobile == Mobile::Own(0)).then_some(0);
    s.revealed_at = s.first;
    let visits = ctx.rng.between(0, 6) as usize;
    let buys = ctx.rng.chance(0.7);
    let mut orders_left = if buys { order_count(ctx) } else { 0 };
    let mut visit_times = times(ctx, visits.max(orders_left), s.first + HOUR_MS, s.last);
    // Many members buy during the sign-up visit.
    if buys && ctx.rng.chance(0.5) {
        visit_times.insert(0, s.first + ctx.rng.between(5 * MINUTE_MS, 40 * MINUTE_MS));
    }
    for t in visit_times {
        let store = if ctx.rng.chance(0.9) {
            home
        } else {
            ctx.rng.below(ctx.w.stores.len() as u64) as usize
        };
        let lazy = ctx.w.stores[store].lazy_clerks;
        let mobile = if lazy && ctx.rng.chance(0.45) {
            Mobile::StorePhone
        } else {
            match ctx.rng.weighted(&[20, 5, 3, 72]) {
                0 => Mobile::Own(0),
                1 => Mobile::Placeholder,
                2 => Mobile::Junk,
                _ => Mobile::None,
            }
        };
        let action = if ctx.rng.chance(0.25) {
            "coupon_redeem"
        } else {
            "store_visit"
        };
        let ev = OfflineEv {
            action,
            t,
            store,
            card: ctx.rng.chance(0.85),
            mobile,
            name: false,
            guide: ctx.rng.chance(0.6),
            wecom: false,
            unionid: false,
        };
        offline::emit(ctx, &ev);
        if orders_left > 0 {
            orders_left -= 1;
            let items = random_items(ctx);
            let coupon = coupon(ctx, &items);
            let buyer = Buyer {
                phone: s.known.phone.filter(|_| ctx.rng.chance(0.5)),
                member_id: ctx.rng.chance(0.9),
                ..Buyer::default()
            };
            let t = t + ctx.rng.between(2 * MINUTE_MS, 30 * MINUTE_MS);
            transaction::emit(
                ctx,
                &Order {
                    channel: "store",
                    store: Some(store),
                    t,
                    items,
                    coupon,
                    buyer,
                },
            );
        }
    }
    if ctx.rng.chance(0.2) {
        let t = ctx
            .rng
            .between(s.first + DAY_MS, s.last.max(s.first + DAY_MS));
        let ev = OfflineEv {
            action: "wecom_add",
            t,
            store: home,
            card: false,
            mobile: Mobile::Own(0),
            name: false,
            guide: true,
            wecom: true,
            unionid: ctx.rng.chance(0.4),
        };
        offline::emit(ctx, &ev);
    }
    // Omnichannel members also use the mini-program, linking card and WeChat.
    if ctx.rng.chance(0.35) {
        let mp = ctx.me.platform == Platform::MiniProgram;
        let t0 = ctx
            .rng
            .between(s.first + HOUR_MS, s.last.max(s.first + HOUR_MS));
        s.known.openid = mp;
        s.known.unionid = mp;
        let code = ctx.w.stores[home].channel_code.clone();
        event(
            ctx,
            "register",
            t0,
            Some(s.known),
            Some(&code),
            3,
            Props::Register,
        );
        if ctx.rng.chance(0.3) {
            event(
                ctx,
                "wecom_add",
                t0 + MINUTE_MS,
                Some(s.known),
                None,
                3,
                Props::Empty,
            );
        }
        let n = ctx.rng.between(1, 5) as usize;
        for t in times(ctx, n, t0 + HOUR_MS, s.last) {
            let events = 1 + ctx.rng.below(4) as usize;
            session(ctx, t, events, Some(s.known), false, None);
        }
    }
}

fn marketplace(ctx: &mut Ctx<'_>, s: &mut Span) {
    let t = s.first;
    let clicked = ad_touches(ctx, t, 3);
    if ctx.rng.chance(0.3) {
        let n = 1 + ctx.rng.below(3) as usize;
        session(ctx, t + 30 * SECOND_MS, n, None, false, None);
    }
    let n = order_count(ctx);
    s.known.phone = Some(0);
    s.revealed_at = t;
    let channel = *ctx.rng.pick(&["tmall", "jd", "douyin", "douyin", "tmall"]);
    let mut at = times(ctx, n, t + 10 * MINUTE_MS, s.last);
    at[0] = t + ctx.rng.between(10 * MINUTE_MS, 2 * HOUR_MS);
    at.sort_unstable();
    for (i, t) in at.into_iter().enumerate() {
        let items = random_items(ctx);
        let coupon = coupon(ctx, &items);
        let buyer = Buyer {
            phone: ctx.rng.chance(0.9).then_some(0),
            email: channel == "jd" && ctx.rng.chance(0.3),
            ..Buyer::default()
        };
        let channel = if ctx.rng.chance(0.85) {
            channel
        } else {
            *ctx.rng.pick(&["tmall", "jd", "douyin"])
        };
        transaction::emit(
            ctx,
            &Order {
                channel,
                store: None,
                t,
                items,
                coupon,
                buyer,
            },
        );
        if i == 0 && ctx.rng.chance(0.7) {
            let (platform, campaign) = clicked.unwrap_or((OCEAN_ENGINE, ctx.rng.below(CAMPAIGNS)));
            let at = t + ctx.rng.between(SECOND_MS, HOUR_MS);
            ad_line(ctx, platform, AdEvent::Conversion, at, campaign, Some(0));
        }
    }
}

fn ad_only(ctx: &mut Ctx<'_>, s: &Span) {
    let n = ctx.rng.between(1, 4);
    let at = times(ctx, n as usize, s.first, s.last.min(s.first + 20 * DAY_MS));
    for t in at {
        let platform = *ctx.rng.pick(&[OCEAN_ENGINE, TENCENT_ADS, BAIDU]);
        let ev = if ctx.rng.chance(0.3) {
            AdEvent::Click
        } else {
            AdEvent::Impression
        };
        let campaign = ctx.rng.below(CAMPAIGNS);
        ad_line(ctx, platform, ev, t, campaign, None);
    }
}

fn coupon_hunter(ctx: &mut Ctx<'_>, s: &mut Span) {
    let mut t = s.first;
    let clicked = ad_touches(ctx, t, 2);
    let phones = ctx.me.phones.len();
    let code = s.channel_code;
    for k in 0..phones {
        t += ctx.rng.between(10 * MINUTE_MS, 2 * DAY_MS);
        // A "new customer" for each phone, all from the same app install.
        s.known = Known {
            phone: Some(k),
            ..Known::default()
        };
        s.revealed_at = s.revealed_at.min(t);
        event(
            ctx,
            "register",
            t,
            Some(s.known),
            Some(code),
            3,
            Props::Register,
        );
        event(
            ctx,
            "coupon_claim",
            t + 20 * SECOND_MS,
            Some(s.known),
            None,
            4,
            Props::Coupon("NEW20"),
        );
        if let Some((platform, campaign)) = clicked {
            if ctx.rng.chance(0.5) {
                ad_line(
                    ctx,
                    platform,
                    AdEvent::Conversion,
                    t + MINUTE_MS,
                    campaign,
                    Some(k),
                );
            }
        }
        if ctx.rng.chance(0.8) {
            let items = vec![(ctx.rng.below(SKUS.len() as u64) as usize, 1)];
            let subtotal = SKUS[items[0].0].price_fen;
            let coupon = (subtotal >= 2100).then_some(("NEW20", 2000));
            let buyer = Buyer {
                phone: Some(k),
                ..Buyer::default()
            };
            transaction::emit(
                ctx,
                &Order {
                    channel: "mini_program",
                    store: None,
                    t: t + 3 * MINUTE_MS,
                    items,
                    coupon,
                    buyer,
                },
            );
        }
    }
}

fn tablet_sessions(ctx: &mut Ctx<'_>, s: &Span) {
    let n = 1 + ctx.rng.below(3) as usize;
    for t in times(ctx, n, s.first, s.last) {
        let user = (t >= s.revealed_at && s.known.any() && ctx.rng.chance(0.6)).then_some(s.known);
        let events = 1 + ctx.rng.below(4) as usize;
        session(ctx, t, events, user, true, None);
    }
}
