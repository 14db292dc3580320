//! `cdp forget`: the person's events leave the events files (their dedup
//! keys stay, so a redelivery is refused), their identifiers leave other
//! people's events, identity_map, resolved_events and the lineage tables;
//! the erasure record holds no personal data.

use cdp_config::IdentityConfig;
use cdp_lake::event_writer::{EventWriterOptions, Offer};
use cdp_lake::{parquet_io, EventWriter, Lake};

use crate::support::{event, event_one_ids, id, identity_map, table_rows, temp_lake, write_events};

async fn all_event_text(lake: &Lake) -> String {
    let mut text = String::new();
    for f in lake.list("events").await.unwrap() {
        for b in parquet_io::decode(&f, lake.get(&f).await.unwrap(), None).unwrap() {
            text.push_str(&format!("{b:?}"));
        }
    }
    text
}

#[tokio::test]
async fn forget_erases_the_person_everywhere_and_keeps_a_record_without_personal_data() {
    let (_dir, lake) = temp_lake();
    let day = 24 * 60;
    write_events(
        &lake,
        "r1",
        &[
            event(
                "li-1",
                0,
                &[
                    "member_id:M-LI",
                    "phone:+8613900000001",
                    "anonymous_id:ipad-home",
                ],
            ),
            event("li-2", day, &["member_id:M-LI", "email:li@x.cn"]),
            event("li-3", 2 * day, &["email:li@x.cn"]),
            // The sibling logs in on the tablet Li's one_id holds.
            event(
                "wang-1",
                day,
                &["member_id:M-WANG", "anonymous_id:ipad-home"],
            ),
            event(
                "wang-2",
                2 * day,
                &["member_id:M-WANG", "phone:+8613900000002"],
            ),
            // Conflicts naming Li: a second card on Li's phone.
            event(
                "zhao-1",
                3 * day,
                &["member_id:M-ZHAO", "phone:+8613900000001"],
            ),
        ],
    )
    .await;
    let config = IdentityConfig::default();
    cdp_identity::resolve(&lake, &config).await.unwrap();
    let map = identity_map(&lake).await;
    let li = map["member_id:M-LI"].clone();
    assert_eq!(map["anonymous_id:ipad-home"], li);
    assert!(!table_rows(&lake, "identity_conflicts").await.is_empty());

    let record = cdp_identity::forget(&lake, &config, &id("email:li@x.cn"))
        .await
        .unwrap();
    assert_eq!(record.one_id.as_deref(), Some(li.as_str()));
    assert_eq!(record.events_deleted, 3);
    assert!(
        record.events_stripped >= 2,
        "Wang's tablet login and Zhao's card on Li's phone: {record:?}"
    );
    assert_eq!(record.identifiers_erased.values().sum::<u64>(), 4);

    // Events: Li's are gone, and Li's values appear nowhere.
    let text = all_event_text(&lake).await;
    for gone in [
        "M-LI",
        "li@x.cn",
        "ipad-home",
        "13900000001",
        "li-1",
        "li-2",
    ] {
        assert!(!text.contains(gone), "{gone} is still in events");
    }
    assert!(text.contains("wang-1") && text.contains("M-WANG"));
    // identity_map, resolved_events, lineage.
    let after = identity_map(&lake).await;
    assert!(after
        .keys()
        .all(|k| !k.contains("LI") && !k.contains("li@") && !k.contains("ipad")));
    assert!(after.values().all(|v| *v != li));
    let events = event_one_ids(&lake).await;
    assert!(!events.contains_key("li-1") && !events.contains_key("li-3"));
    assert_eq!(
        events["wang-1"].as_deref(),
        Some(after["member_id:M-WANG"].as_str())
    );
    for table in ["identity_conflicts", "identity_merges"] {
        for row in table_rows(&lake, table).await {
            let row = format!("{row:?}");
            assert!(
                !row.contains("13900000001") && !row.contains(&li),
                "{table}: {row}"
            );
        }
    }
    // The state keeps no value of Li's.
    for f in lake.list("identity/state").await.unwrap() {
        let bytes = lake.get(&f).await.unwrap();
        assert!(!bytes.windows(4).any(|w| w == b"M-LI"), "{f}");
    }
    // The record: the type asked for, the one_id, counts; no value.
    let json = String::from_utf8(
        lake.get(&format!("identity/erasures/{}.json", record.erasure_id))
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(json.contains("\"id_type\": \"email\"") && json.contains(&li));
    assert!(
        !json.contains("li@x.cn") && !json.contains("M-LI") && !json.contains("13900000001"),
        "{json}"
    );

    // A redelivery of Li's erased event is a duplicate, not a comeback.
    let mut w = EventWriter::open(lake.clone(), "r3", EventWriterOptions::default())
        .await
        .unwrap();
    let replay = event("li-2", day, &["member_id:M-LI", "email:li@x.cn"]);
    assert_eq!(w.offer(&replay).await.unwrap(), Offer::Duplicate);
    // And a resolve afterwards keeps everything as it is.
    let next = cdp_identity::resolve(&lake, &config).await.unwrap();
    assert_eq!((next.events_read, next.merges, next.splits), (0, 0, 0));
    assert_eq!(identity_map(&lake).await, after);
}
