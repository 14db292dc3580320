//! End-to-end checks of a generated world against an independent, simple
//! re-implementation of the contract's acceptance rules.

mod check;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use cdp_generate::{generate, WorldConfig, WorldSummary};
use check::{canonical_ok, Classified, Observed};

fn world(dir: &Path, persons: u64, seed: u64) -> WorldSummary {
    generate(
        &WorldConfig {
            persons,
            seed,
            ..WorldConfig::default()
        },
        dir,
    )
    .expect("world generates")
}

const SOURCES: [&str; 4] = ["ad", "offline", "online", "transaction"];

#[test]
fn same_seed_gives_byte_identical_files_and_another_seed_does_not() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let sa = world(a.path(), 3000, 7);
    let sb = world(b.path(), 3000, 7);
    world(c.path(), 3000, 8);
    let files = [
        "online.jsonl",
        "offline.jsonl",
        "ad.jsonl",
        "transaction.jsonl",
        "truth/identifiers.csv",
        "truth/revenue.csv",
        "truth/shared_identifiers.csv",
    ];
    for f in files {
        let x = std::fs::read(a.path().join(f)).unwrap();
        assert!(!x.is_empty(), "{f} is empty");
        assert_eq!(
            x,
            std::fs::read(b.path().join(f)).unwrap(),
            "{f} differs between runs"
        );
        if f.ends_with(".jsonl") {
            assert_ne!(
                x,
                std::fs::read(c.path().join(f)).unwrap(),
                "{f} ignores the seed"
            );
        }
    }
    let strip = |s: &WorldSummary| {
        serde_json::to_string(&WorldSummary {
            elapsed_ms: 0,
            ..s.clone()
        })
        .unwrap()
    };
    assert_eq!(strip(&sa), strip(&sb));
}

#[test]
fn summary_counts_match_files_and_an_independent_classifier() {
    let dir = tempfile::tempdir().unwrap();
    let summary = world(dir.path(), 6000, 42);
    let on_disk: WorldSummary =
        serde_json::from_slice(&std::fs::read(dir.path().join("truth/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        on_disk
            .sources
            .iter()
            .map(|s| s.source.as_str())
            .collect::<Vec<_>>(),
        SOURCES
    );
    assert_eq!(summary.sources.len(), 4);
    for s in &summary.sources {
        let path = dir.path().join(&s.path);
        let text = std::fs::read_to_string(&path).unwrap();
        let c = Classified::of(&s.source, &text);
        assert_eq!(c.lines, s.lines, "{} lines", s.source);
        assert_eq!(c.malformed, s.malformed, "{} malformed", s.source);
        assert_eq!(c.duplicates, s.duplicates, "{} duplicates", s.source);
        // Rates: about 0.5% malformed and 1–2% duplicates, never zero.
        let rate = |n: u64| n as f64 / s.lines as f64;
        assert!(
            (0.002..0.012).contains(&rate(s.malformed)),
            "{} malformed rate {}",
            s.source,
            rate(s.malformed)
        );
        assert!(
            (0.004..0.04).contains(&rate(s.duplicates)),
            "{} duplicate rate {}",
            s.source,
            rate(s.duplicates)
        );
        let d = on_disk
            .sources
            .iter()
            .find(|d| d.source == s.source)
            .unwrap();
        assert_eq!(
            (d.lines, d.malformed, d.duplicates),
            (s.lines, s.malformed, s.duplicates)
        );
    }
    let rows = std::fs::read_to_string(dir.path().join("truth/identifiers.csv"))
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    assert_eq!(rows, summary.truth_identifiers);
    let per_person = summary.sources.iter().map(|s| s.lines).sum::<u64>() as f64 / 6000.0;
    assert!(
        (7.0..14.0).contains(&per_person),
        "{per_person} lines per person"
    );
}

#[test]
fn truth_is_canonical_junk_free_and_seen_in_accepted_lines() {
    let dir = tempfile::tempdir().unwrap();
    world(dir.path(), 6000, 3);
    let mut seen = Observed::default();
    for s in SOURCES {
        let text = std::fs::read_to_string(dir.path().join(format!("{s}.jsonl"))).unwrap();
        for line in Classified::of(s, &text).accepted {
            seen.add_line(&line);
        }
    }
    seen.finish();
    let shared_text =
        std::fs::read_to_string(dir.path().join("truth/shared_identifiers.csv")).unwrap();
    let mut shared = HashSet::new();
    let mut reasons = HashSet::new();
    for l in shared_text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 3, "{l}");
        assert!(canonical_ok(f[0], f[1]), "shared {l}");
        assert!(seen.contains(f[0], f[1]), "shared id never sent: {l}");
        shared.insert((f[0].to_string(), f[1].to_string()));
        reasons.insert(f[2].to_string());
    }
    assert_eq!(
        reasons,
        HashSet::from(["household_tablet".to_string(), "store_phone".to_string()])
    );

    let text = std::fs::read_to_string(dir.path().join("truth/identifiers.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("person_id,id_type,id_value"));
    let mut owners: HashMap<(String, String), HashSet<String>> = HashMap::new();
    let mut types = HashSet::new();
    let mut persons = HashSet::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 3, "{l}");
        assert!(canonical_ok(f[1], f[2]), "not canonical or junk: {l}");
        assert!(
            seen.contains(f[1], f[2]),
            "never sent in an accepted line: {l}"
        );
        assert!(
            owners
                .entry((f[1].into(), f[2].into()))
                .or_default()
                .insert(f[0].into()),
            "listed twice: {l}"
        );
        types.insert(f[1].to_string());
        persons.insert(f[0].to_string());
    }
    assert_eq!(
        persons.len(),
        6000,
        "every person appears with an identifier"
    );
    for t in [
        "phone",
        "phone_md5",
        "phone_sha256",
        "email",
        "openid",
        "unionid",
        "member_id",
        "anonymous_id",
        "wecom_external_userid",
        "android_id",
        "idfa",
        "idfa_md5",
        "oaid",
        "oaid_md5",
        "imei_md5",
    ] {
        assert!(types.contains(t), "no {t} in the truth");
    }
    // Only shared identifiers (tablets) belong to several persons; store phones to nobody.
    let mut multi = 0;
    for (id, who) in &owners {
        if who.len() > 1 {
            multi += 1;
            assert!(
                shared.contains(id),
                "{id:?} owned by {who:?} but not declared shared"
            );
        }
    }
    assert!(multi > 0, "no household tablet used by two persons");
    for id in &shared {
        if id.0 == "phone" {
            assert!(
                !owners.contains_key(id),
                "store phone {id:?} attributed to a person"
            );
        }
    }
    // Coupon hunters: one person with several phones.
    let mut phones_per_person: HashMap<&str, usize> = HashMap::new();
    for ((t, _), who) in &owners {
        if t == "phone" {
            for p in who {
                *phones_per_person.entry(p.as_str()).or_default() += 1;
            }
        }
    }
    assert!(
        phones_per_person.values().any(|&n| n >= 2),
        "no coupon hunter"
    );
}

#[test]
fn revenue_truth_matches_accepted_orders() {
    let dir = tempfile::tempdir().unwrap();
    world(dir.path(), 6000, 11);
    let text = std::fs::read_to_string(dir.path().join("transaction.jsonl")).unwrap();
    let c = Classified::of("transaction", &text);
    let mut paid: HashMap<String, i64> = HashMap::new();
    let mut refunded: HashSet<String> = HashSet::new();
    let mut refund_before_paid = 0;
    for line in &c.accepted {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["order_id"].as_str().unwrap().to_string();
        match v["status"].as_str().unwrap() {
            "paid" => {
                paid.insert(id, check::fen(v["total_amount"].as_str().unwrap()).unwrap());
            }
            "refunded" => {
                if !paid.contains_key(&id) {
                    refund_before_paid += 1;
                }
                refunded.insert(id);
            }
            _ => {}
        }
    }
    assert!(
        refund_before_paid > 0,
        "no refund arrives before its payment"
    );
    assert!(
        refunded.iter().all(|o| paid.contains_key(o)),
        "a refund without its payment"
    );
    let expected_net: i64 = paid
        .iter()
        .filter(|(o, _)| !refunded.contains(*o))
        .map(|(_, f)| f)
        .sum();
    let rev = std::fs::read_to_string(dir.path().join("truth/revenue.csv")).unwrap();
    let mut lines = rev.lines();
    assert_eq!(
        lines.next(),
        Some("person_id,net_revenue_fen,orders_paid,orders_refunded")
    );
    let (mut net, mut n_paid, mut n_refunded) = (0i64, 0u64, 0u64);
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        net += f[1].parse::<i64>().unwrap();
        n_paid += f[2].parse::<u64>().unwrap();
        n_refunded += f[3].parse::<u64>().unwrap();
    }
    assert_eq!(net, expected_net);
    assert_eq!(n_paid, paid.len() as u64);
    assert_eq!(n_refunded, refunded.len() as u64);
}

#[test]
fn every_contract_mess_is_present() {
    let dir = tempfile::tempdir().unwrap();
    world(dir.path(), 4000, 5);
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let online = read("online.jsonl");
    let offline = read("offline.jsonl");
    let ad = read("ad.jsonl");
    let tx = read("transaction.jsonl");
    let has = |text: &str, needle: &str| text.contains(needle);
    assert!(
        online
            .lines()
            .any(|l| !l.contains("\"event_id\"") && l.starts_with('{')),
        "old SDK lines"
    );
    assert!(
        online.lines().any(|l| l.contains("\"ts\":\"")),
        "ts as string"
    );
    assert!(
        online
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|v| v["ts"].as_i64().is_some_and(|t| t < 100_000_000_000)),
        "ts in seconds"
    );
    assert!(has(
        &online,
        r#""user":{"openid":null,"unionid":null,"phone":null,"member_id":null,"email":null}"#
    ));
    assert!(has(&online, r#""phone":"+86 1"#) && has(&online, r#""phone":"861"#));
    assert!(online.lines().any(|l| check::json_str_field(l, "phone")
        .is_some_and(|p| p.len() == 13 && p.as_bytes()[3] == b' ')));
    assert!(has(&online, cdp_generate::ZERO_IDFA));
    assert!(
        has(&online, r#""unionid":"undefined""#)
            || has(&online, r#""openid":"undefined""#)
            || has(&online, r#""anonymous_id":"undefined""#)
    );
    assert!(cdp_generate::PLACEHOLDER_MOBILES
        .iter()
        .all(|p| has(&offline, &format!("\"mobile\":\"{p}\""))));
    assert!(has(&offline, r#""mobile":"+86"#));
    assert!(offline
        .lines()
        .any(|l| check::json_str_field(l, "occurred_at")
            .is_some_and(|t| t.len() == 16 && t.contains('/'))));
    assert!(has(&ad, cdp_generate::EMPTY_MD5));
    assert!(ad.lines().any(|l| check::json_str_field(l, "phone_md5")
        .is_some_and(|h| h.chars().any(|c| c.is_ascii_uppercase()))));
    assert!(
        has(&ad, "\"phone_sha256\"")
            && has(&ad, "\"imei_md5\"")
            && has(&ad, "\"oaid_md5\"")
            && has(&ad, "\"idfa_md5\"")
    );
    assert!(has(&ad, r#""cost":"0.00"#), "sub-fen impression costs");
    for s in [
        "\"status\":\"refunded\"",
        "\"status\":\"cancelled\"",
        "\"unit_price\":\"",
        "\"discount_amount\":\"",
        "\"channel\":\"jd\"",
        "\"channel\":\"douyin\"",
        "\"channel\":\"store\"",
    ] {
        assert!(has(&tx, s), "{s}");
    }
}
