//! `online.jsonl` lines (tracking SDK), with the SDK mistakes of contract §1.

use crate::catalog::{self, PAGES, SKUS};
use crate::formats::{junk, push_email_raw, push_phone_online};
use rand::rngs::SmallRng;

use crate::ids::{uuid, Kind, Os};
use crate::json::{push_uint, Obj};
use crate::rng::Draw;
use crate::truth::{dev, slot};
use crate::world::{Ctx, Platform, Src};

/// What the person has revealed so far, i.e. what the SDK knows to send.
#[derive(Debug, Clone, Copy, Default)]
pub struct Known {
    pub openid: bool,
    pub unionid: bool,
    pub phone: Option<usize>,
    pub member_id: bool,
    pub email: bool,
}

impl Known {
    pub fn any(&self) -> bool {
        self.openid || self.unionid || self.phone.is_some() || self.member_id || self.email
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Props {
    Empty,
    Page,
    Sku(usize),
    Cart(usize, u32),
    Coupon(&'static str),
    Register,
}

pub struct OnlineEv<'s> {
    pub event: &'static str,
    pub ts: i64,
    pub on_tablet: bool,
    /// Identifiers sent in `user` (only when logged in).
    pub user: Option<Known>,
    pub channel_code: Option<&'s str>,
    pub utm: Option<(&'static str, &'s str)>,
    pub page: usize,
    pub props: Props,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    NotJson,
    MissingTs,
    MissingEvent,
    BadTs,
}

/// Builds the line, files it as accepted, and sometimes adds a malformed
/// sibling (a fresh line with the same content and one fault).
pub fn emit(ctx: &mut Ctx<'_>, ev: &OnlineEv<'_>) {
    let Some(revealed) = build(ctx, ev, None) else {
        return;
    };
    ctx.accept(Src::Online, ev.ts, revealed);
    if ctx.want_malformed() {
        let fault = *ctx.rng.pick(&[
            Fault::NotJson,
            Fault::MissingTs,
            Fault::MissingEvent,
            Fault::BadTs,
        ]);
        if build(ctx, ev, Some(fault)).is_some() {
            ctx.reject(Src::Online, ev.ts + 1, matches!(fault, Fault::NotJson));
        }
    }
}

/// Writes the line into `ctx.line`; returns the truth slots it reveals.
fn build(ctx: &mut Ctx<'_>, ev: &OnlineEv<'_>, fault: Option<Fault>) -> Option<u64> {
    let seq = ctx.next_seq(Src::Online)?;
    let mut line = ctx.take_line();
    let mut revealed = 0u64;
    let rng = &mut ctx.rng;
    let me = &ctx.me;
    let (platform, old_sdk) = match (&ctx.tablet, ev.on_tablet) {
        (Some(t), true) => (
            if t.os == Os::Ios {
                Platform::Ios
            } else {
                Platform::Android
            },
            false,
        ),
        _ => (me.platform, me.old_sdk),
    };
    let unique = ctx.w.keys.unique(Kind::EventId, ctx.pid, seq);
    {
        let mut o = Obj::new(&mut line);
        if !old_sdk {
            o.str("event_id", &uuid(unique, false));
        }
        if !matches!(fault, Some(Fault::MissingEvent)) {
            o.str("event", ev.event);
        }
        match fault {
            Some(Fault::MissingTs) => {}
            Some(Fault::BadTs) => {
                o.str(
                    "ts",
                    rng.pick::<&str>(&["yesterday", "--", "刚刚", "ts_unknown"]),
                );
            }
            _ => {
                // Mostly epoch ms; some SDKs send seconds, some a numeric string.
                match rng.weighted(&[80, 8, 8, 4]) {
                    0 => o.int("ts", ev.ts),
                    1 => o.int("ts", ev.ts / 1000),
                    2 => o.str_with("ts", |b| push_uint(b, ev.ts as u64)),
                    _ => o.str_with("ts", |b| push_uint(b, ev.ts as u64 / 1000)),
                };
            }
        }
        o.str("platform", platform.name());
        if ev.on_tablet {
            let t = ctx
                .tablet
                .as_ref()
                .expect("tablet events only for household members");
            o.str("anonymous_id", &t.anon);
            revealed |= slot::TABLET_ANON;
        } else if rng.chance(0.01) {
            // H5 pages read before the cookie is set, or a broken bridge.
            o.str("anonymous_id", junk(rng));
        } else {
            o.str("anonymous_id", &me.anon);
            revealed |= slot::ANON;
        }
        match ev.user {
            Some(k) if k.any() => {
                o.open_obj("user");
                let mp = platform == Platform::MiniProgram;
                if member(&mut o, "openid", k.openid && mp, rng) {
                    o.str("openid", &me.openid);
                    revealed |= slot::OPENID;
                }
                if member(&mut o, "unionid", k.unionid && mp, rng) {
                    o.str("unionid", &me.unionid);
                    revealed |= slot::UNIONID;
                }
                if let Some(p) = k.phone {
                    if !rng.chance(0.02) {
                        o.str_with("phone", |b| push_phone_online(b, &me.phones[p].digits, rng));
                        revealed |= slot::phone(p);
                    } else {
                        o.str("phone", junk(rng));
                    }
                } else if rng.chance(0.5) {
                    o.null("phone");
                }
                if member(&mut o, "member_id", k.member_id, rng) {
                    o.str("member_id", &me.member_id);
                    revealed |= slot::MEMBER_ID;
                }
                if member(&mut o, "email", k.email, rng) {
                    o.str_with("email", |b| push_email_raw(b, &me.email, rng));
                    revealed |= slot::EMAIL;
                }
                o.close_obj();
            }
            _ => {
                // Some SDK versions send the whole `user` object with nulls.
                if rng.chance(0.25) {
                    o.open_obj("user")
                        .null("openid")
                        .null("unionid")
                        .null("phone")
                        .null("member_id")
                        .null("email");
                    o.close_obj();
                }
            }
        }
        let (device, shift) = match (&ctx.tablet, ev.on_tablet) {
            (Some(t), true) => (Some(&t.device), slot::TABLET_SHIFT),
            _ => match platform {
                Platform::Ios | Platform::Android => (Some(&me.device), slot::OWN_DEVICE_SHIFT),
                _ => (None, 0),
            },
        };
        match device {
            Some(d) => {
                o.open_obj("device");
                if let Some(idfa) = &d.idfa {
                    if me.lat && !ev.on_tablet {
                        o.str("idfa", "00000000-0000-0000-0000-000000000000");
                    } else if rng.chance(0.2) {
                        o.str("idfa", &idfa.to_ascii_lowercase());
                        revealed |= dev::RAW_IDFA << shift;
                    } else {
                        o.str("idfa", idfa);
                        revealed |= dev::RAW_IDFA << shift;
                    }
                }
                if let Some(oaid) = &d.oaid {
                    if !ev.on_tablet && rng.chance(0.03) {
                        o.str("oaid", junk(rng));
                    } else {
                        if rng.chance(0.3) {
                            o.str("oaid", &oaid.to_ascii_uppercase());
                        } else {
                            o.str("oaid", oaid);
                        }
                        revealed |= dev::RAW_OAID << shift;
                    }
                }
                if let Some(aid) = &d.android_id {
                    if ev.on_tablet || rng.chance(0.9) {
                        o.str("android_id", aid);
                        revealed |= dev::ANDROID_ID << shift;
                    }
                }
                o.close_obj();
            }
            None => {
                if rng.chance(0.15) {
                    o.open_obj("device").null("idfa").null("oaid").close_obj();
                }
            }
        }
        o.open_obj("context");
        if let Some(code) = ev.channel_code {
            o.str("channel_code", code);
        }
        if let Some((src, campaign)) = ev.utm {
            o.str("utm_source", src).str("utm_campaign", campaign);
        }
        o.str("page", PAGES[ev.page].0);
        o.str_with("ip", |b| push_ip(b, unique));
        o.str(
            "ua",
            match platform {
                Platform::MiniProgram => catalog::UA_MINI,
                Platform::Ios => catalog::UA_IOS,
                Platform::Android => catalog::UA_ANDROID,
                Platform::H5 => catalog::UA_H5,
            },
        );
        o.close_obj();
        o.open_obj("properties");
        match ev.props {
            Props::Empty => {}
            Props::Page => {
                o.str("title", PAGES[ev.page].1);
            }
            Props::Sku(s) => {
                o.str("sku", SKUS[s].sku)
                    .str_with("price", |b| crate::json::push_yuan(b, SKUS[s].price_fen));
            }
            Props::Cart(s, q) => {
                o.str("sku", SKUS[s].sku).int("qty", q as i64);
            }
            Props::Coupon(c) => {
                o.str("coupon", c);
            }
            Props::Register => {
                o.str("method", "phone");
            }
        }
        if old_sdk {
            // Old SDKs have no event id but a random track id: it keeps two
            // distinct events from ever being byte-identical.
            o.raw_with("_track_id", |b| push_uint(b, track_id(ctx.pid, seq)));
        }
        o.close_obj();
        o.finish();
    }
    ctx.line = line;
    Some(revealed)
}

/// Decides whether a `user` member is sent: `true` means the caller writes
/// the real value; otherwise a junk string, a null, or nothing is written.
fn member(o: &mut Obj<'_>, key: &str, known: bool, rng: &mut SmallRng) -> bool {
    if known && !rng.chance(0.02) {
        return true;
    }
    if known || rng.chance(0.04) {
        o.str(key, junk(rng));
    } else if rng.chance(0.5) {
        o.null(key);
    }
    false
}

/// An old SDK's `_track_id`: an odd-multiplier bijection of (person, line)
/// on 53 bits, so it is unique and exact in any JSON parser.
fn track_id(pid: u64, seq: u64) -> u64 {
    const MASK: u64 = (1 << 53) - 1;
    (pid * crate::world::MAX_LINES_PER_SOURCE + seq).wrapping_mul(0x2545_f491_4f6c_dd1d) & MASK
}

/// A plausible client IP derived from the event's unique number.
fn push_ip(b: &mut Vec<u8>, n: u64) {
    const FIRST: [u64; 6] = [36, 58, 113, 117, 183, 223];
    push_uint(b, FIRST[(n % 6) as usize]);
    for shift in [8, 16, 24] {
        b.push(b'.');
        push_uint(b, (n >> shift) & 0xff);
    }
}
