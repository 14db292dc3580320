//! The change feed: what changed since the last published build (profiles
//! added, changed, removed; identity merges), as messages matching
//! `schemas/profile_update.schema.json`; and, against the real broker, a
//! build that merges two one_ids publishes that merge on the change topic.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cdp_config::KafkaConfig;
use cdp_lake::Lake;
use cdp_serve::changes::{self, PublishTarget};
use cdp_serve::fixture_lake::{self, phone_identifiers, FixtureBuild, FixtureMerge};
use cdp_serve::snapshot::one_id;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::Message;
use serde_json::Value;

use crate::json_schema::validate;
use crate::support::*;

/// The fixture's profiles carry their build_id: not a change of the person.
fn ignored() -> Vec<String> {
    vec!["build_id".into(), "days_since_last_seen".into()]
}

fn schema() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/profile_update.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Build 1: persons 1–10. Build 2: identity run r2 merged 2 (Bob) into 1
/// (Alice), who now has Bob's identifiers and one more order; person 5
/// bought again; person 11 appeared.
fn two_builds() -> (FixtureBuild, FixtureBuild) {
    let first = build("b1", "r1", persons(10), vec![]);
    let mut people = persons(11);
    let bob = people.remove(1);
    people[0].identifiers.extend(bob.identifiers);
    people[0].orders += 1;
    people[3].orders += 1; // one_key 5
    let second = build(
        "b2",
        "r2",
        people,
        vec![FixtureMerge {
            absorbed: 2,
            survivor: 1,
        }],
    );
    (first, second)
}

/// Every message of the current changes, as (key, kind header, JSON).
async fn messages(lake: &Lake) -> Vec<(String, String, Value)> {
    let set = changes::changes(lake, &ignored())
        .await
        .unwrap()
        .expect("unpublished changes");
    let mut out = Vec::new();
    set.for_each_message(|key, kind, payload| {
        out.push((
            key.to_string(),
            kind.to_string(),
            serde_json::from_slice(payload).unwrap(),
        ));
        Ok(())
    })
    .unwrap();
    set.commit(lake, "t", out.len() as u64).await.unwrap();
    out
}

#[tokio::test]
async fn changes_since_the_last_published_build_are_found_and_match_the_schema() {
    let (first, second) = two_builds();
    let (_dir, lake) = lake_with(&first).await;
    let schema = schema();

    // Nothing published before: every profile is added (a consumer's initial load).
    let initial = messages(&lake).await;
    assert_eq!(initial.len(), 10);
    assert!(initial
        .iter()
        .all(|(_, kind, m)| kind == "profile_added" && m["kind"] == "profile_added"));
    assert!(
        changes::changes(&lake, &ignored()).await.unwrap().is_none(),
        "b1 is published"
    );

    fixture_lake::write_and_publish(&lake, &second)
        .await
        .unwrap();
    let got = messages(&lake).await;
    let kinds: Vec<(&str, &str)> = got
        .iter()
        .map(|(k, kind, _)| (k.as_str(), kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("OID000000000002", "identity_merge"),
            ("OID000000000002", "profile_removed"),
            ("OID000000000011", "profile_added"),
            ("OID000000000001", "profile_changed"),
            ("OID000000000005", "profile_changed"),
        ],
        "merges first, then removals, additions, changes; unchanged profiles are not sent"
    );
    let by_kind: BTreeMap<&str, &Value> = got.iter().map(|(_, k, m)| (k.as_str(), m)).collect();
    let merge = by_kind["identity_merge"];
    assert_eq!(merge["one_id"], "OID000000000002");
    assert_eq!(merge["survivor_one_id"], "OID000000000001");
    assert_eq!(merge["identity_run_id"], "r2");
    assert_eq!(merge["edge_types"], serde_json::json!(["phone", "openid"]));
    assert_eq!(by_kind["profile_removed"]["merged_into"], "OID000000000001");
    let changed = &got[3].2;
    assert_eq!(changed["build"]["build_id"], "b2");
    assert_eq!(changed["profile"]["orders"], 2);
    assert_eq!(changed["tags"]["lifecycle"], serde_json::json!(["loyal"]));
    for (_, _, m) in initial.iter().chain(&got) {
        validate(&schema, m).unwrap_or_else(|e| panic!("{e}\n{m}"));
        assert!(
            !m.to_string().contains("13800138000"),
            "no identifier values: {m}"
        );
    }
    // A message that breaks the schema is caught by the check.
    let mut broken = merge.clone();
    broken.as_object_mut().unwrap().remove("survivor_one_id");
    assert!(validate(&schema, &broken).is_err());
}

#[tokio::test]
async fn a_build_that_merges_two_one_ids_publishes_the_merge_on_the_topic() {
    let target = topic_for_test().await;
    let (first, second) = two_builds();
    let (_dir, lake) = lake_with(&first).await;
    let s1 = changes::publish(&lake, &target, &ignored()).await.unwrap();
    assert_eq!((s1.added, s1.merges, s1.messages), (10, 0, 10));
    fixture_lake::write_and_publish(&lake, &second)
        .await
        .unwrap();
    let s2 = changes::publish(&lake, &target, &ignored()).await.unwrap();
    assert_eq!(
        (s2.merges, s2.removed, s2.added, s2.changed),
        (1, 1, 1, 2),
        "{s2:?}"
    );
    assert_eq!(s2.previous_build_id.as_deref(), Some("b1"));
    let again = changes::publish(&lake, &target, &ignored()).await.unwrap();
    assert!(again.already_published && again.messages == 0);

    let expected = (s1.messages + s2.messages) as usize;
    let found = read_topic(&target, expected).await;
    assert_eq!(found.len(), expected, "every change arrived: {found:?}");
    let schema = schema();
    for (_, _, m) in &found {
        validate(&schema, m).unwrap_or_else(|e| panic!("{e}\n{m}"));
    }
    let merge = found
        .iter()
        .find(|(_, kind, _)| kind == "identity_merge")
        .expect("the merge is on the topic");
    assert_eq!(merge.0, "OID000000000002", "keyed by the absorbed one_id");
    assert_eq!(merge.2["survivor_one_id"], "OID000000000001");
    assert_eq!(merge.2["build"]["build_id"], "b2");
    let removed = found
        .iter()
        .find(|(_, kind, _)| kind == "profile_removed")
        .expect("the absorbed profile is removed");
    assert_eq!(removed.2["merged_into"], "OID000000000001");
    cdp_ingest::kafka::admin::delete_topics(&target.brokers, &target.kafka, &[&target.topic]).await;
}

/// A fresh topic of 3 partitions on the real broker (`CDP_TEST_KAFKA_BROKERS`).
async fn topic_for_test() -> PublishTarget {
    let brokers = std::env::var("CDP_TEST_KAFKA_BROKERS")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .expect("CDP_TEST_KAFKA_BROKERS is not set: run `make test`, which starts a local Kafka-compatible broker (deploy/local/kafka.sh)");
    let topic = format!(
        "it-profile-updates-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    );
    let mut kafka = KafkaConfig::default();
    // One message per record batch: tansu 0.6 answers a fetch from inside
    // a batch with the next batch (see crates/cdp/tests/it/support.rs).
    kafka
        .producer_properties
        .insert("batch.num.messages".into(), "1".into());
    cdp_ingest::kafka::admin::create_topics(&brokers, &kafka, &[&topic], 3)
        .await
        .unwrap();
    PublishTarget {
        brokers,
        topic,
        kafka,
    }
}

/// Reads the topic from the beginning with a fresh group (short session
/// timeouts, so that the join takes seconds) until `expected` messages
/// arrived, or two minutes passed (a guard against hanging): (key, kind
/// header, JSON) each.
async fn read_topic(target: &PublishTarget, expected: usize) -> Vec<(String, String, Value)> {
    let target = target.clone();
    tokio::task::spawn_blocking(move || {
        let mut config = cdp_ingest::kafka::admin_config(&target.brokers, &target.kafka).unwrap();
        config
            .set("group.id", format!("{}-reader", target.topic))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "6000")
            .set("max.poll.interval.ms", "10000")
            .set("heartbeat.interval.ms", "1000");
        let consumer: BaseConsumer = config.create().unwrap();
        consumer.subscribe(&[&target.topic]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut found: Vec<(String, String, Value)> = Vec::new();
        while found.len() < expected && Instant::now() < deadline {
            let Some(message) = consumer.poll(Duration::from_millis(500)) else {
                continue;
            };
            let message = message.unwrap();
            let key = String::from_utf8(message.key().unwrap().to_vec()).unwrap();
            let kind = message
                .headers()
                .and_then(|h| h.iter().find(|h| h.key == changes::HEADER_KIND))
                .map(|h| String::from_utf8(h.value.unwrap().to_vec()).unwrap())
                .unwrap_or_default();
            found.push((
                key,
                kind,
                serde_json::from_slice(message.payload().unwrap()).unwrap(),
            ));
        }
        found
    })
    .await
    .unwrap()
}

/// The acceptance test over the identity stage itself: `cdp resolve` sees
/// a phone and an openid apart (two one_ids), a later event carries both
/// and it merges them, recording the merge in `identity_merges`; the build
/// after it publishes that merge on the change topic of the real broker,
/// keyed by the absorbed one_id, and the absorbed profile as removed.
#[tokio::test]
async fn a_merge_recorded_by_cdp_resolve_is_published_on_the_topic() {
    let target = topic_for_test().await;
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    let phone = phone_identifiers("13800138000");
    let openid = (cdp_model::IdType::Openid, "o-alice-WX".to_string());

    let first = ingest_and_resolve(
        &lake,
        "ingest-1",
        &[
            event("e1", 0, &phone),
            event("e2", 1, std::slice::from_ref(&openid)),
        ],
    )
    .await;
    let (_, keys) = resolved_identity_map(&lake).await;
    let phone_key = keys[&format!("phone:{ALICE_PHONE}")];
    let openid_key = keys["openid:o-alice-WX"];
    assert_ne!(phone_key, openid_key, "apart before the edge: {keys:?}");
    build_over_resolved_identity(&lake, "b1", |_| 1).await;
    let s1 = changes::publish(&lake, &target, &ignored()).await.unwrap();
    assert_eq!((s1.added, s1.merges, s1.messages), (2, 0, 2), "{s1:?}");

    // One event carries both: the graph joins them; the older key survives.
    let mut both = phone.clone();
    both.push(openid.clone());
    let second = ingest_and_resolve(&lake, "ingest-2", &[event("e3", 2, &both)]).await;
    assert_eq!(second.merges, 1, "{second:?}");
    assert!(second.run_id > first.run_id);
    let (_, keys) = resolved_identity_map(&lake).await;
    let (survivor, absorbed) = (phone_key.min(openid_key), phone_key.max(openid_key));
    assert_eq!(keys[&format!("phone:{ALICE_PHONE}")], survivor);
    assert_eq!(keys["openid:o-alice-WX"], survivor);
    build_over_resolved_identity(&lake, "b2", |_| 2).await;
    let s2 = changes::publish(&lake, &target, &ignored()).await.unwrap();
    assert_eq!(
        (s2.merges, s2.removed, s2.added, s2.changed),
        (1, 1, 0, 1),
        "{s2:?}"
    );

    let found = read_topic(&target, (s1.messages + s2.messages) as usize).await;
    assert_eq!(
        found.len() as u64,
        s1.messages + s2.messages,
        "every change arrived: {found:?}"
    );
    let schema = schema();
    for (_, _, m) in &found {
        validate(&schema, m).unwrap_or_else(|e| panic!("{e}\n{m}"));
        assert!(
            !m.to_string().contains("13800138000") && !m.to_string().contains("o-alice-WX"),
            "no identifier values: {m}"
        );
    }
    let (absorbed_id, survivor_id) = (one_id(absorbed), one_id(survivor));
    let merge = found
        .iter()
        .find(|(_, kind, _)| kind == "identity_merge")
        .expect("the merge is on the topic");
    assert_eq!(merge.0, absorbed_id, "keyed by the absorbed one_id");
    assert_eq!(merge.2["one_id"], absorbed_id.as_str());
    assert_eq!(merge.2["survivor_one_id"], survivor_id.as_str());
    assert_eq!(merge.2["identity_run_id"], second.run_id.as_str());
    assert_eq!(merge.2["build"]["build_id"], "b2");
    let mut edge: Vec<&str> = merge.2["edge_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    edge.sort_unstable();
    assert!(
        edge.contains(&"openid") && edge.len() == 2,
        "the edge's identifier types: {edge:?}"
    );
    let removed = found
        .iter()
        .find(|(_, kind, _)| kind == "profile_removed")
        .expect("the absorbed profile is removed");
    assert_eq!(removed.0, absorbed_id);
    assert_eq!(removed.2["merged_into"], survivor_id.as_str());
    cdp_ingest::kafka::admin::delete_topics(&target.brokers, &target.kafka, &[&target.topic]).await;
}
