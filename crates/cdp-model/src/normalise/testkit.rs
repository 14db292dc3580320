//! Helpers shared by the normalisers' unit tests.

use crate::event::{CanonicalEvent, Provenance};
use crate::identifier::{IdType, Identifier};
use crate::normalise::{Normaliser, Rejection};
use crate::source::{SourceFormat, SourceKind};

pub(crate) const ONLINE: &str = include_str!("../../tests/fixtures/online.jsonl");
pub(crate) const OFFLINE: &str = include_str!("../../tests/fixtures/offline.jsonl");
pub(crate) const AD: &str = include_str!("../../tests/fixtures/ad.jsonl");
pub(crate) const TRANSACTION: &str = include_str!("../../tests/fixtures/transaction.jsonl");

/// Line `n` (1-based) of a fixture file.
pub(crate) fn line(fixture: &str, n: usize) -> &str {
    fixture.lines().nth(n - 1).expect("fixture line exists")
}

pub(crate) fn run(kind: SourceKind, raw: &str) -> Result<CanonicalEvent, Rejection> {
    Normaliser::default().normalise(
        &SourceFormat::Reference(kind),
        raw.as_bytes(),
        &Provenance::file_line("fixture.jsonl", 7),
    )
}

pub(crate) fn ok(kind: SourceKind, raw: &str) -> CanonicalEvent {
    run(kind, raw).unwrap_or_else(|r| panic!("rejected: {r}\n{raw}"))
}

pub(crate) fn err(kind: SourceKind, raw: &str) -> Rejection {
    match run(kind, raw) {
        Ok(ev) => panic!("accepted: {ev:?}\n{raw}"),
        Err(r) => r,
    }
}

/// An event's identifiers as `type:value`, in the event's order.
pub(crate) fn ids(ev: &CanonicalEvent) -> Vec<String> {
    ev.identifiers.iter().map(ToString::to_string).collect()
}

/// `type:value` strings in the canonical order (type, then value), so a
/// test can list expected identifiers in any order and still check sorting.
pub(crate) fn sorted(expected: &[&str]) -> Vec<String> {
    let mut ids: Vec<Identifier> = expected
        .iter()
        .map(|s| {
            let (t, v) = s.split_once(':').expect("type:value");
            Identifier::new(t.parse::<IdType>().expect("id type"), v)
        })
        .collect();
    ids.sort();
    ids.iter().map(ToString::to_string).collect()
}

pub(crate) fn us(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("test time")
        .timestamp_micros()
}

/// md5 / sha256 of the national numbers in the fixtures, computed outside
/// this code (Python hashlib) so the tests do not check the code with itself.
pub(crate) const MD5_13800138000: &str = "7945bd83237335e5376ff44d62e4f0ae";
pub(crate) const SHA256_13800138000: &str =
    "a6942f9771d67f34034d2f1926988ed3fad3bf1b4e7cedb9a31f31398dea43bc";
pub(crate) const MD5_13900139000: &str = "ffd07e1a0527aaeadd164d4a149a6506";
pub(crate) const SHA256_13900139000: &str =
    "f1d8142cbb59c0a2f93f91fbe934f83f9afbdab0b8fafaabad0f842b32aab322";
