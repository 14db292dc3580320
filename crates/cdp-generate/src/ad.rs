//! `ad.jsonl` lines: click logs carrying only (hashed) device ids, and
//! conversion callbacks carrying a hashed phone.

use crate::catalog::AD_PLATFORMS;
use crate::clock::{push_shanghai_rfc3339, push_utc_seconds};
use crate::formats::{push_hash, EMPTY_MD5, ZERO_IDFA};
use crate::ids::{Kind, Os};
use crate::json::{push_hex, push_uint, push_uint_padded, push_yuan, Obj};
use crate::rng::Draw;
use crate::truth::{dev, slot};
use crate::world::{Ctx, Src};

pub const OCEAN_ENGINE: usize = 0;
pub const TENCENT_ADS: usize = 1;
pub const BAIDU: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdEvent {
    Impression,
    Click,
    Conversion,
}

pub struct AdEv {
    pub platform: usize,
    pub event: AdEvent,
    pub t: i64,
    pub campaign: u64,
    /// The phone the advertiser matched the conversion to.
    pub phone: Option<usize>,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    NotJson,
    MissingClickId,
    MissingPlatform,
    BadTime,
}

pub fn emit(ctx: &mut Ctx<'_>, ev: &AdEv) {
    let Some(revealed) = build(ctx, ev, None) else {
        return;
    };
    ctx.accept(Src::Ad, ev.t, revealed);
    if ctx.want_malformed() {
        let fault = *ctx.rng.pick(&[
            Fault::NotJson,
            Fault::MissingClickId,
            Fault::MissingPlatform,
            Fault::BadTime,
        ]);
        if build(ctx, ev, Some(fault)).is_some() {
            ctx.reject(Src::Ad, ev.t + 1, matches!(fault, Fault::NotJson));
        }
    }
}

fn build(ctx: &mut Ctx<'_>, ev: &AdEv, fault: Option<Fault>) -> Option<u64> {
    let seq = ctx.next_seq(Src::Ad)?;
    let mut line = ctx.take_line();
    let mut revealed = 0u64;
    let unique = ctx.w.keys.unique(Kind::ClickId, ctx.pid, seq);
    let rng = &mut ctx.rng;
    let me = &ctx.me;
    let d = &me.device;
    // Tencent sends upper-case hex on most of its callbacks.
    let upper = ev.platform == TENCENT_ADS && rng.chance(0.6);
    {
        let mut o = Obj::new(&mut line);
        if !matches!(fault, Some(Fault::MissingClickId)) {
            o.str_with("click_id", |b| {
                b.extend_from_slice([&b"oe"[..], b"ta", b"bd"][ev.platform]);
                b.extend_from_slice(match ev.event {
                    AdEvent::Impression => b"-imp-",
                    AdEvent::Click => b"-clk-",
                    AdEvent::Conversion => b"-cvt-",
                });
                push_hex(b, &unique.to_be_bytes(), false);
            });
        }
        if !matches!(fault, Some(Fault::MissingPlatform)) {
            o.str("platform", AD_PLATFORMS[ev.platform]);
        }
        o.str(
            "event",
            match ev.event {
                AdEvent::Impression => "impression",
                AdEvent::Click => "click",
                AdEvent::Conversion => "conversion",
            },
        );
        match fault {
            Some(Fault::BadTime) => {
                o.str(
                    "event_time",
                    rng.pick::<&str>(&["not a time", "unknown", "00:00:00"]),
                );
            }
            _ if ev.platform == BAIDU => {
                o.str_with("event_time", |b| push_utc_seconds(b, ev.t));
            }
            _ => {
                o.str_with("event_time", |b| push_shanghai_rfc3339(b, ev.t));
            }
        }
        o.str_with("campaign_id", |b| {
            b.extend_from_slice(b"C-");
            push_uint(b, 1001 + ev.campaign);
        });
        o.str_with("adgroup_id", |b| {
            b.extend_from_slice(b"G-");
            push_uint(b, ev.campaign * 10 + rng.below(5));
        });
        o.str_with("creative_id", |b| {
            b.extend_from_slice(b"CR-");
            push_uint(b, ev.campaign * 100 + rng.below(20));
        });
        match ev.event {
            // Impressions are billed below one fen: "0.002".
            AdEvent::Impression => {
                o.str_with("cost", |b| {
                    b.extend_from_slice(b"0.00");
                    push_uint(b, 1 + rng.below(9));
                });
            }
            AdEvent::Click => {
                o.str_with("cost", |b| push_yuan(b, 10 + rng.below(290) as i64));
            }
            AdEvent::Conversion => {}
        }
        // Device ids: the platforms hash them; Baidu sometimes sends raw ones.
        let send_device = ev.event != AdEvent::Conversion || rng.chance(0.5);
        if send_device {
            match me.os {
                Os::Ios if me.lat => {
                    if rng.chance(0.2) {
                        o.str("idfa", ZERO_IDFA);
                    }
                }
                Os::Ios => {
                    let idfa = d.idfa.as_deref().expect("iOS device has an IDFA");
                    if ev.platform == BAIDU && rng.chance(0.5) {
                        o.str("idfa", idfa);
                        revealed |= dev::RAW_IDFA << slot::OWN_DEVICE_SHIFT;
                    } else {
                        let h = d.idfa_md5.as_deref().expect("hash");
                        o.str_with("idfa_md5", |b| push_hash(b, h, upper));
                        revealed |= dev::IDFA_MD5 << slot::OWN_DEVICE_SHIFT;
                    }
                }
                Os::Android => {
                    let oaid = d.oaid.as_deref().expect("Android device has an OAID");
                    if ev.platform == BAIDU && rng.chance(0.5) {
                        if rng.chance(0.5) {
                            o.str("oaid", &oaid.to_ascii_uppercase());
                        } else {
                            o.str("oaid", oaid);
                        }
                        revealed |= dev::RAW_OAID << slot::OWN_DEVICE_SHIFT;
                    } else {
                        let h = d.oaid_md5.as_deref().expect("hash");
                        o.str_with("oaid_md5", |b| push_hash(b, h, upper));
                        revealed |= dev::OAID_MD5 << slot::OWN_DEVICE_SHIFT;
                    }
                    match &d.imei_md5 {
                        Some(h) if ev.platform != BAIDU => {
                            o.str_with("imei_md5", |b| push_hash(b, h, upper));
                            revealed |= dev::IMEI_MD5 << slot::OWN_DEVICE_SHIFT;
                        }
                        // SDKs without IMEI permission hash the empty string.
                        None if ev.platform == OCEAN_ENGINE && rng.chance(0.4) => {
                            o.str_with("imei_md5", |b| push_hash(b, EMPTY_MD5, upper));
                        }
                        _ => {}
                    }
                }
            }
        }
        if let Some(k) = ev.phone {
            let p = &me.phones[k];
            match rng.weighted(&[50, 30, 20]) {
                0 => {
                    o.str_with("phone_md5", |b| push_hash(b, &p.md5, upper));
                    revealed |= slot::phone_md5(k);
                }
                1 => {
                    o.str_with("phone_sha256", |b| push_hash(b, &p.sha256, upper));
                    revealed |= slot::phone_sha256(k);
                }
                _ => {
                    o.str_with("phone_md5", |b| push_hash(b, &p.md5, upper));
                    o.str_with("phone_sha256", |b| push_hash(b, &p.sha256, upper));
                    revealed |= slot::phone_md5(k) | slot::phone_sha256(k);
                }
            }
        }
        if ev.event != AdEvent::Conversion {
            o.str_with("ip", |b| {
                b.extend_from_slice(b"10.");
                push_uint(b, (unique >> 8) & 0xff);
                b.push(b'.');
                push_uint(b, (unique >> 16) & 0xff);
                b.push(b'.');
                push_uint(b, (unique >> 24) & 0xff);
            });
            o.str_with("ua", |b| {
                b.extend_from_slice(if me.os == Os::Ios {
                    b"Mozilla/5.0 (iPhone) "
                } else {
                    b"Mozilla/5.0 (Linux; Android) "
                });
                b.extend_from_slice(b"AppVer/");
                push_uint_padded(b, 20 + (unique >> 32) % 9, 2);
            });
        }
        o.finish();
    }
    ctx.line = line;
    Some(revealed)
}
