//! A deliberately simple re-implementation of the contract's acceptance
//! rules (required fields, time formats, amounts) and of its identifier
//! canonical forms, independent of the generator's code.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime};
use md5::{Digest, Md5};
use sha2::Sha256;

pub const JUNK: [&str; 8] = [
    "",
    "null",
    "none",
    "unknown",
    "undefined",
    "(null)",
    "0",
    "-1",
];

pub fn json_str_field(line: &str, key: &str) -> Option<String> {
    fn find(v: &serde_json::Value, key: &str) -> Option<String> {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(s)) = m.get(key) {
                    return Some(s.clone());
                }
                m.values().find_map(|x| find(x, key))
            }
            _ => None,
        }
    }
    find(&serde_json::from_str(line).ok()?, key)
}

/// Yuan decimal string with at most two decimals, non-negative, in fen.
pub fn fen(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac = format!("{frac:0<2}");
    Some(int.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

fn nonempty<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// Would the contract's normaliser dead-letter `line`? Not JSON, a required
/// field missing, an unparseable time, or a bad `paid` total.
pub fn rejected(source: &str, line: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return true;
    };
    let s = |k: &str| nonempty(&v, k).and_then(|x| x.as_str());
    let required: &[&str] = match source {
        "online" => &["event"],
        "offline" => &["record_id", "store_id", "action"],
        "ad" => &["click_id", "platform", "event"],
        "transaction" => &["order_id", "status"],
        _ => unreachable!("unknown source {source}"),
    };
    if required.iter().any(|k| s(k).is_none()) {
        return true;
    }
    let time_ok = match source {
        "online" => nonempty(&v, "ts").is_some_and(|ts| {
            ts.as_i64().is_some()
                || ts
                    .as_str()
                    .is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        }),
        "offline" => s("occurred_at").is_some_and(|t| {
            NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").is_ok()
                || NaiveDateTime::parse_from_str(t, "%Y/%m/%d %H:%M").is_ok()
        }),
        "ad" => s("event_time").is_some_and(|t| DateTime::parse_from_rfc3339(t).is_ok()),
        _ => s("updated_at").is_some_and(|t| DateTime::parse_from_rfc3339(t).is_ok()),
    };
    if !time_ok {
        return true;
    }
    source == "transaction"
        && s("status") == Some("paid")
        && s("total_amount").and_then(fen).is_none()
}

fn dedup_key(source: &str, line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    match source {
        "online" => v
            .get("event_id")
            .and_then(|x| x.as_str())
            .map_or_else(|| format!("raw:{line}"), |e| format!("id:{e}")),
        "offline" => v["record_id"].as_str().unwrap().to_string(),
        "ad" => v["click_id"].as_str().unwrap().to_string(),
        _ => format!(
            "{}:{}",
            v["order_id"].as_str().unwrap(),
            v["status"].as_str().unwrap()
        ),
    }
}

pub struct Classified {
    pub lines: u64,
    pub malformed: u64,
    pub duplicates: u64,
    pub accepted: Vec<String>,
}

impl Classified {
    pub fn of(source: &str, text: &str) -> Self {
        let mut first: HashMap<String, &str> = HashMap::new();
        let mut c = Classified {
            lines: 0,
            malformed: 0,
            duplicates: 0,
            accepted: Vec::new(),
        };
        for line in text.lines() {
            c.lines += 1;
            if rejected(source, line) {
                c.malformed += 1;
                continue;
            }
            let key = dedup_key(source, line);
            if let Some(orig) = first.get(&key) {
                assert_eq!(*orig, line, "{source}: same id, different bytes");
                c.duplicates += 1;
            } else {
                first.insert(key, line);
                c.accepted.push(line.to_string());
            }
        }
        c
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

fn sha_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Canonical form (contract §3) and not junk.
pub fn canonical_ok(id_type: &str, v: &str) -> bool {
    if JUNK.contains(&v.trim().to_ascii_lowercase().as_str()) || v != v.trim() {
        return false;
    }
    match id_type {
        "phone" => {
            v.len() == 14
                && v.starts_with("+861")
                && v[3..].bytes().all(|b| b.is_ascii_digit())
                && !["13800000000", "11111111111", "12345678901"].contains(&&v[3..])
        }
        "phone_md5" | "idfa_md5" | "oaid_md5" | "imei_md5" => is_hex(v, 32) && v != md5_hex(""),
        "phone_sha256" => is_hex(v, 64) && v != sha_hex(""),
        "email" => v.contains('@') && v == v.to_lowercase(),
        "idfa" => {
            v.len() == 36 && v == v.to_uppercase() && v != "00000000-0000-0000-0000-000000000000"
        }
        "oaid" => v == v.to_lowercase(),
        "openid"
        | "unionid"
        | "member_id"
        | "anonymous_id"
        | "wecom_external_userid"
        | "android_id" => true,
        _ => false,
    }
}

/// Raw values seen in accepted lines, keyed by JSON field name, plus the
/// hashes the pipeline would derive from raw phones, IDFAs and OAIDs.
#[derive(Default)]
pub struct Observed {
    by_key: HashMap<String, HashSet<String>>,
    phones: HashSet<String>,
    derived: HashSet<String>,
}

fn national(raw: &str) -> Option<String> {
    let d: String = raw.chars().filter(char::is_ascii_digit).collect();
    match d.len() {
        11 => Some(d),
        13 if d.starts_with("86") => Some(d[2..].to_string()),
        _ => None,
    }
}

impl Observed {
    pub fn add_line(&mut self, line: &str) {
        fn walk(v: &serde_json::Value, into: &mut HashMap<String, HashSet<String>>) {
            if let serde_json::Value::Object(m) = v {
                for (k, x) in m {
                    match x {
                        serde_json::Value::String(s) => {
                            into.entry(k.clone())
                                .or_default()
                                .insert(s.trim().to_string());
                            into.entry(format!("lc:{k}"))
                                .or_default()
                                .insert(s.trim().to_ascii_lowercase());
                        }
                        _ => walk(x, into),
                    }
                }
            }
        }
        walk(&serde_json::from_str(line).unwrap(), &mut self.by_key);
    }

    /// Computes the derived values once all lines are in.
    pub fn finish(&mut self) {
        let values = |k: &str| self.by_key.get(&format!("lc:{k}")).into_iter().flatten();
        self.phones = ["phone", "mobile"]
            .iter()
            .flat_map(|k| values(k))
            .filter_map(|s| national(s))
            .collect();
        let mut derived: HashSet<String> = self
            .phones
            .iter()
            .flat_map(|p| {
                [
                    format!("phone_md5:{}", md5_hex(p)),
                    format!("phone_sha256:{}", sha_hex(p)),
                ]
            })
            .collect();
        derived.extend(values("idfa").map(|s| format!("idfa_md5:{}", md5_hex(&s.to_uppercase()))));
        derived.extend(values("oaid").map(|s| format!("oaid_md5:{}", md5_hex(s))));
        self.derived = derived;
    }

    /// Is the canonical identifier visible in some accepted raw value? (Raw
    /// values are compared trimmed and case-insensitively; canonical checks
    /// the exact case elsewhere.)
    pub fn contains(&self, id_type: &str, v: &str) -> bool {
        let has = |key: &str| self.by_key.get(key).is_some_and(|s| s.contains(v));
        let has_ci = |key: &str| {
            self.by_key
                .get(&format!("lc:{key}"))
                .is_some_and(|s| s.contains(&v.to_ascii_lowercase()))
        };
        match id_type {
            "phone" => self.phones.contains(&v[3..]),
            "phone_md5" | "phone_sha256" | "idfa_md5" | "oaid_md5" => {
                has_ci(id_type) || self.derived.contains(&format!("{id_type}:{v}"))
            }
            "imei_md5" | "idfa" | "oaid" | "email" => has_ci(id_type),
            "member_id" => has("member_id") || has("member_card"),
            other => has(other),
        }
    }
}
