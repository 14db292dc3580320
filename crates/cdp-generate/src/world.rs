//! The shared, read-only world (config, keys, stores, households) and the
//! per-person context every line builder writes through.

use rand::rngs::SmallRng;

use crate::catalog::{self, Store};
use crate::clock::{shanghai_midnight_ms, DAY_MS, MINUTE_MS, SECOND_MS};
use crate::ids::{base62_id, Device, Keys, Kind, Os, Phone};
use crate::rng::{mix64, seeded, Draw};
use crate::sink::{LineKind, PersonLines};
use crate::truth::Revenue;
use crate::WorldConfig;

/// Rates of the feed mistakes that are counted in the summary.
pub const MALFORMED_RATE: f64 = 0.005;
pub const DUPLICATE_RATE: f64 = 0.01;
/// Order systems retry more than trackers.
pub const TX_DUPLICATE_RATE: f64 = 0.02;
/// Share of retries held back to the end of the block (much later in the file).
pub const LATE_DUPLICATE_SHARE: f64 = 0.4;

/// Persons are grouped in fours; about 2% of groups are a household sharing
/// one tablet (2–4 members).
pub const HOUSEHOLD_GROUP: u64 = 4;
const HOUSEHOLD_RATE_PER_MILLE: u64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Src {
    Online = 0,
    Offline = 1,
    Ad = 2,
    Transaction = 3,
}

impl Src {
    pub const ALL: [Src; 4] = [Src::Online, Src::Offline, Src::Ad, Src::Transaction];
    pub fn name(self) -> &'static str {
        match self {
            Src::Online => "online",
            Src::Offline => "offline",
            Src::Ad => "ad",
            Src::Transaction => "transaction",
        }
    }
}

pub struct World {
    pub seed: u64,
    pub persons: u64,
    pub keys: Keys,
    pub stores: Vec<Store>,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A tablet shared by a household.
pub struct Tablet {
    pub members: u64,
    pub os: Os,
    pub anon: String,
    pub device: Device,
}

impl World {
    pub fn new(config: &WorldConfig) -> Self {
        let keys = Keys::new(config.seed);
        let start_ms = shanghai_midnight_ms(config.start_date);
        Self {
            seed: config.seed,
            persons: config.persons,
            stores: catalog::stores(config.seed, &keys),
            keys,
            start_ms,
            end_ms: start_ms + config.days as i64 * DAY_MS,
        }
    }

    /// The household tablet of group `group`, if that group is a household
    /// with at least two members inside the world.
    pub fn household(&self, group: u64) -> Option<Tablet> {
        let h = mix64(self.seed ^ mix64(0x7ab1e7 ^ group));
        if h % 1000 >= HOUSEHOLD_RATE_PER_MILLE {
            return None;
        }
        let size = 2 + (h >> 20) % 3;
        let first = group * HOUSEHOLD_GROUP;
        let members = size.min(self.persons.saturating_sub(first));
        if members < 2 {
            return None;
        }
        let os = if (h >> 40) & 1 == 0 {
            Os::Ios
        } else {
            Os::Android
        };
        let anon = match os {
            Os::Ios => format!("ipad-{:016x}", self.keys.unique(Kind::TabletAnon, group, 0)),
            Os::Android => format!("pad-{:016x}", self.keys.unique(Kind::TabletAnon, group, 0)),
        };
        Some(Tablet {
            members,
            os,
            anon,
            device: Device::new(&self.keys, os, Kind::TabletDevice, group, false),
        })
    }

    /// The tablet person `pid` shares, if any.
    pub fn tablet_of(&self, pid: u64) -> Option<Tablet> {
        let group = pid / HOUSEHOLD_GROUP;
        self.household(group)
            .filter(|t| pid - group * HOUSEHOLD_GROUP < t.members)
    }
}

/// Where a person's online activity happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    MiniProgram,
    Ios,
    Android,
    H5,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::MiniProgram => "mini_program",
            Platform::Ios => "ios",
            Platform::Android => "android",
            Platform::H5 => "h5",
        }
    }
}

/// Everything a person could ever reveal, in canonical form.
pub struct Me {
    pub os: Os,
    pub platform: Platform,
    /// iOS "limit ad tracking": the SDK sends the all-zero IDFA.
    pub lat: bool,
    /// An old SDK that sends no `event_id`.
    pub old_sdk: bool,
    pub anon: String,
    pub openid: String,
    pub unionid: String,
    pub member_id: String,
    pub wecom: String,
    pub email: String,
    pub phones: Vec<Phone>,
    pub device: Device,
    pub home_store: usize,
}

impl Me {
    /// `phone_count` > 1 makes a coupon hunter: several phones farmed from
    /// one Android phone's app.
    pub fn new(w: &World, pid: u64, rng: &mut SmallRng, phone_count: usize) -> Self {
        let hunter = phone_count > 1;
        let os = if !hunter && rng.chance(0.35) {
            Os::Ios
        } else {
            Os::Android
        };
        let platform = match rng.weighted(&[55, 25, 20]) {
            _ if hunter => Platform::Android,
            0 => Platform::MiniProgram,
            1 if os == Os::Ios => Platform::Ios,
            1 => Platform::Android,
            _ => Platform::H5,
        };
        let anon_n = w.keys.unique(Kind::Anon, pid, 0);
        let anon = match platform {
            Platform::MiniProgram => format!("wxa-{anon_n:016x}"),
            Platform::Ios => format!("ios-{anon_n:016x}"),
            Platform::Android => format!("and-{anon_n:016x}"),
            Platform::H5 => format!("h5-{anon_n:016x}"),
        };
        let pinyin = rng.pick(&catalog::PINYIN);
        let domain = rng.pick(&catalog::EMAIL_DOMAINS);
        Self {
            os,
            platform,
            lat: os == Os::Ios && rng.chance(0.3),
            old_sdk: platform != Platform::MiniProgram && rng.chance(0.25),
            anon,
            openid: base62_id("o", w.keys.unique(Kind::Openid, pid, 0), 16),
            unionid: base62_id("oU", w.keys.unique(Kind::Unionid, pid, 0), 15),
            member_id: w.keys.member_card(pid),
            wecom: base62_id("wm", w.keys.unique(Kind::Wecom, pid, 0), 18),
            email: format!("{pinyin}_{}@{domain}", to_base36(pid)),
            phones: (0..phone_count)
                .map(|k| Phone::new(w.keys.person_phone(pid, k)))
                .collect(),
            device: Device::new(
                &w.keys,
                os,
                Kind::Device,
                pid,
                os == Os::Android && rng.chance(0.25),
            ),
            home_store: rng.below(w.stores.len() as u64) as usize,
        }
    }
}

fn to_base36(mut v: u64) -> String {
    const D: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut s = Vec::new();
    loop {
        s.push(D[(v % 36) as usize]);
        v /= 36;
        if v == 0 {
            break;
        }
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII")
}

/// The per-person generation state.
pub struct Ctx<'a> {
    pub w: &'a World,
    pub pid: u64,
    pub rng: SmallRng,
    pub me: Me,
    pub tablet: Option<Tablet>,
    /// Truth slots revealed by accepted lines (see `truth::slot`).
    pub mask: u64,
    pub revenue: Revenue,
    /// Per-source line counters: part of event, click and record ids.
    seq: [u64; 4],
    pub orders: u64,
    pub store_phones_used: u64,
    pub lines: &'a mut [PersonLines; 4],
    /// Scratch buffer a line is built in.
    pub line: Vec<u8>,
}

/// Ids are unique per (person, counter) while the counter stays below this.
pub const MAX_LINES_PER_SOURCE: u64 = 4096;

impl<'a> Ctx<'a> {
    pub fn new(w: &'a World, pid: u64, lines: &'a mut [PersonLines; 4], line: Vec<u8>) -> Self {
        let mut rng = seeded(w.seed, 1, pid);
        let phones = if rng.chance(0.01) {
            2 + rng.below(3) as usize
        } else {
            1
        };
        let me = Me::new(w, pid, &mut rng, phones);
        Self {
            w,
            pid,
            rng,
            me,
            tablet: w.tablet_of(pid),
            mask: 0,
            revenue: Revenue::default(),
            seq: [0; 4],
            orders: 0,
            store_phones_used: 0,
            lines,
            line,
        }
    }

    /// The next line number of `src` for this person, or `None` once the
    /// person has used up the id space (the caller then skips the line).
    pub fn next_seq(&mut self, src: Src) -> Option<u64> {
        let s = &mut self.seq[src as usize];
        if *s >= MAX_LINES_PER_SOURCE - 1 {
            return None;
        }
        *s += 1;
        Some(*s)
    }

    pub fn next_order(&mut self) -> Option<u64> {
        if self.orders >= MAX_LINES_PER_SOURCE - 1 {
            return None;
        }
        self.orders += 1;
        Some(self.orders)
    }

    /// Files the line in `self.line` as accepted at time `key`, records the
    /// identifiers it revealed, and maybe re-delivers it (producer retry).
    pub fn accept(&mut self, src: Src, key: i64, revealed: u64) {
        self.mask |= revealed;
        let span = self.lines[src as usize].push(key, &self.line, LineKind::Accepted);
        let rate = if src == Src::Transaction {
            TX_DUPLICATE_RATE
        } else {
            DUPLICATE_RATE
        };
        if self.rng.chance(rate) {
            if self.rng.chance(LATE_DUPLICATE_SHARE) {
                self.lines[src as usize].push_again(key, span, LineKind::LateDuplicate);
            } else {
                let delay = self.rng.between(SECOND_MS, 10 * MINUTE_MS);
                self.lines[src as usize].push_again(key + delay, span, LineKind::Duplicate);
            }
        }
    }

    /// Files the line in `self.line` as malformed, cut short when `truncate`
    /// (a proper prefix of a JSON object is never valid JSON). The cut lands
    /// on an ASCII byte so the file stays valid UTF-8.
    pub fn reject(&mut self, src: Src, key: i64, truncate: bool) {
        if truncate {
            let len = self.line.len();
            let mut cut = len / 3 + self.rng.below((len / 2) as u64) as usize;
            while cut > 1 && (self.line[cut] >= 0x80 || self.line[cut - 1] >= 0x80) {
                cut -= 1;
            }
            self.line.truncate(cut.clamp(1, len - 1));
        }
        self.lines[src as usize].push(key, &self.line, LineKind::Malformed);
    }

    /// Should a malformed variant of the line just accepted be emitted too?
    pub fn want_malformed(&mut self) -> bool {
        self.rng.chance(MALFORMED_RATE)
    }

    pub fn take_line(&mut self) -> Vec<u8> {
        let mut l = std::mem::take(&mut self.line);
        l.clear();
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(persons: u64) -> World {
        World::new(&WorldConfig {
            persons,
            ..WorldConfig::default()
        })
    }

    #[test]
    fn households_have_two_to_four_members_and_a_shared_device() {
        let w = world(100_000);
        let mut households = 0;
        for g in 0..25_000 {
            if let Some(t) = w.household(g) {
                households += 1;
                assert!((2..=4).contains(&t.members));
                assert!(t.device.idfa.is_some() || t.device.oaid.is_some());
                let first = g * HOUSEHOLD_GROUP;
                assert!(w.tablet_of(first).is_some());
                assert!(w.tablet_of(first + t.members - 1).is_some());
                if t.members < 4 {
                    assert!(w.tablet_of(first + t.members).is_none());
                }
            }
        }
        assert!((200..=800).contains(&households), "{households} households");
    }

    #[test]
    fn truncated_rejects_are_never_json() {
        let w = world(10);
        let mut lines: [PersonLines; 4] = Default::default();
        let mut ctx = Ctx::new(&w, 1, &mut lines, Vec::new());
        for _ in 0..200 {
            ctx.line =
                r#"{"event":"page_view","ts":1,"user":{"name":"\u5f20\u4e09 张三 李四 王五"}}"#
                    .as_bytes()
                    .to_vec();
            ctx.reject(Src::Online, 0, true);
            let cut = ctx.line.clone();
            assert!(serde_json::from_slice::<serde_json::Value>(&cut).is_err());
            assert!(std::str::from_utf8(&cut).is_ok());
        }
    }
}
