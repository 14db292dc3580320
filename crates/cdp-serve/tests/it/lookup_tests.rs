//! Looking a person up over real HTTP: every accepted form of an identifier
//! finds the one_id identity_map holds; unknown → 404; malformed → 400 with
//! a message naming what is wrong.

use arrow::array::{Array, AsArray};
use cdp_lake::parquet_io;
use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::support::*;

/// The one_id identity_map holds for an identifier, read from the files the
/// build lists (not through the server).
async fn one_id_in_identity_map(lake: &cdp_lake::Lake, id_type: &str, id_value: &str) -> String {
    let (manifest, _) = cdp_serve::manifest::read_current(lake)
        .await
        .unwrap()
        .unwrap();
    for file in manifest.files("identity_map") {
        let bytes = lake.get(file).await.unwrap();
        for batch in parquet_io::decode(file, bytes, None).unwrap() {
            let col = |n: &str| batch.column_by_name(n).unwrap().as_string::<i32>().clone();
            let (t, v, o) = (col("id_type"), col("id_value"), col("one_id"));
            for row in 0..batch.num_rows() {
                if t.value(row) == id_type && v.value(row) == id_value && o.is_valid(row) {
                    return o.value(row).to_string();
                }
            }
        }
    }
    panic!("{id_type} not in identity_map");
}

#[tokio::test]
async fn a_phone_in_any_accepted_format_finds_the_one_id_of_identity_map() {
    let (_dir, lake) = lake_with(&build("b1", "r1", persons(40), vec![])).await;
    let expected = one_id_in_identity_map(&lake, "phone", ALICE_PHONE).await;
    let server = serve(&lake).await;
    let mut conn = Conn::open(server.addr).await;
    for raw in [
        "+86 138-0013-8000",
        "8613800138000",
        "138 0013 8000",
        "13800138000",
        "0086 138.0013.8000",
    ] {
        let path = format!("/v1/profiles/phone/{}", encode(raw));
        let (status, body, headers) = conn.send(Method::GET, &path, Some(TOKEN), None).await;
        assert_eq!(status, StatusCode::OK, "{raw}: {body}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body["one_id"], Value::String(expected.clone()), "{raw}");
        assert_eq!(
            body["identifier"]["id_value"], ALICE_PHONE,
            "{raw}: canonicalised"
        );
        assert_eq!(body["build"]["build_id"], "b1");
        // Every column of the build's rows, typed by their Arrow types.
        assert_eq!(body["profile"]["one_id"], Value::String(expected.clone()));
        assert_eq!(
            body["profile"]["net_revenue"], "12.34",
            "decimals are strings"
        );
        assert_eq!(body["profile"]["orders"], 1);
        assert_eq!(body["profile"]["first_channel_code"], "store_SZ001_qr");
        assert_eq!(body["profile"]["stores_visited"], Value::Null);
        assert_eq!(body["profile"]["first_seen"], "2026-11-01T00:00:00.000001Z");
        assert_eq!(body["tags"]["lifecycle"], serde_json::json!(["loyal"]));
        assert_eq!(body["tags"]["value_tier"], serde_json::json!(["A"]));
        assert_eq!(body["ltv"]["p_alive"], 0.6);
        assert_eq!(body["ltv"]["churn_risk"], "medium");
    }
    // The body form of the same lookup.
    let (status, body, _) = conn
        .send(
            Method::POST,
            "/v1/profiles/lookup",
            Some(TOKEN),
            Some(r#"{"id_type":"phone","value":"+86 138-0013-8000"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["one_id"], Value::String(expected.clone()));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn hashes_in_either_case_and_other_identifiers_find_their_person() {
    let (_dir, lake) = lake_with(&build("b1", "r1", persons(40), vec![])).await;
    let server = serve(&lake).await;
    let mut conn = Conn::open(server.addr).await;
    let alice_md5 = md5_hex("13800138000");
    let alice_sha = sha256_hex("13800138000");
    let carol_md5 = md5_hex(CAROL_NATIONAL);
    let cases = [
        ("phone_md5", alice_md5.to_uppercase(), "OID000000000001"),
        ("phone_md5", alice_md5.clone(), "OID000000000001"),
        ("phone_sha256", alice_sha.to_uppercase(), "OID000000000001"),
        ("openid", "o-alice-WX".to_string(), "OID000000000001"),
        ("phone", "+852 9123 4567".to_string(), "OID000000000002"),
        ("email", "  Bob@Example.COM ".to_string(), "OID000000000002"),
        // Known only by an ad platform's hash of the number.
        ("phone_md5", carol_md5.to_uppercase(), "OID000000000003"),
    ];
    for (t, v, expected) in cases {
        let path = format!("/v1/profiles/{t}/{}", encode(&v));
        let (status, body, _) = conn.send(Method::GET, &path, Some(TOKEN), None).await;
        assert_eq!(status, StatusCode::OK, "{t}: {body}");
        assert_eq!(body["one_id"], expected, "{t}");
    }
    // By one_id, the same person document.
    let (status, body, _) = conn
        .send(
            Method::GET,
            "/v1/profiles/by-one-id/OID000000000002",
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["profile"]["stores_visited"],
        serde_json::json!(["SZ001", "SZ002"])
    );
    assert_eq!(body["ltv"], Value::Null, "not a customer");
    assert!(body.get("identifier").is_none());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_identifiers_are_404_and_malformed_ones_400_with_a_message() {
    let (_dir, lake) = lake_with(&build("b1", "r1", persons(40), vec![])).await;
    let server = serve(&lake).await;
    let mut conn = Conn::open(server.addr).await;
    for path in [
        "/v1/profiles/phone/13800138001".to_string(),
        format!("/v1/profiles/phone_md5/{}", md5_hex("13800138001")),
        "/v1/profiles/openid/o-nobody".to_string(),
        "/v1/profiles/by-one-id/OID000000099999".to_string(),
    ] {
        let (status, body, _) = conn.send(Method::GET, &path, Some(TOKEN), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("b1"),
            "{body}"
        );
    }
    let cases: [(String, &str); 8] = [
        ("/v1/profiles/phone/12ab".into(), "not a valid phone"),
        // A placeholder clerks type: never an identifier.
        ("/v1/profiles/phone/13800000000".into(), "not a valid phone"),
        ("/v1/profiles/phone_md5/abc".into(), "32 hexadecimal digits"),
        (
            "/v1/profiles/phone_sha256/abc".into(),
            "64 hexadecimal digits",
        ),
        ("/v1/profiles/email/nobody".into(), "not a valid email"),
        ("/v1/profiles/openid/null".into(), "not a valid openid"),
        (
            "/v1/profiles/passport/X1234".into(),
            "unknown identifier type \"passport\"",
        ),
        ("/v1/profiles/by-one-id/12345".into(), "not a one_id"),
    ];
    for (path, message) in cases {
        let (status, body, _) = conn.send(Method::GET, &path, Some(TOKEN), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
        let text = body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{path}: {text}");
        assert!(
            !text.contains("12ab") && !text.contains("13800000000"),
            "no value echoed: {text}"
        );
    }
    let (status, body, _) = conn
        .send(
            Method::POST,
            "/v1/profiles/lookup",
            Some(TOKEN),
            Some("{\"id_type\":\"phone\"}"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"value\": string"),
        "{body}"
    );
    server.shutdown().await.unwrap();
}

/// The same acceptance point over an identity_map written by the identity
/// stage itself (`cdp resolve` over ingested events), before and after it
/// merges two one_ids: every accepted phone format, the phone's hashes and
/// the openid find the one_id identity_map holds; the absorbed one_id is
/// gone (404) once a build over the merged graph is current.
#[tokio::test]
async fn lookups_follow_the_identity_map_cdp_resolve_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let lake = cdp_lake::Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    let phone = cdp_serve::fixture_lake::phone_identifiers("13800138000");
    let openid = (cdp_model::IdType::Openid, "o-alice-WX".to_string());
    ingest_and_resolve(
        &lake,
        "ingest-1",
        &[
            event("e1", 0, &phone),
            event("e2", 1, std::slice::from_ref(&openid)),
        ],
    )
    .await;
    build_over_resolved_identity(&lake, "b1", |_| 1).await;
    let server = serve(&lake).await;
    let mut conn = Conn::open(server.addr).await;
    let alice_md5 = md5_hex("13800138000").to_uppercase();
    let mut one_ids_before = Vec::new();
    for build_id in ["b1", "b2"] {
        if build_id == "b2" {
            let mut both = phone.clone();
            both.push(openid.clone());
            let run = ingest_and_resolve(&lake, "ingest-2", &[event("e3", 2, &both)]).await;
            assert_eq!(run.merges, 1, "{run:?}");
            build_over_resolved_identity(&lake, "b2", |_| 2).await;
            wait_for_build(server.addr, Some("b2")).await;
        }
        let phone_one_id = one_id_in_identity_map(&lake, "phone", ALICE_PHONE).await;
        let openid_one_id = one_id_in_identity_map(&lake, "openid", "o-alice-WX").await;
        assert_eq!(
            phone_one_id == openid_one_id,
            build_id == "b2",
            "merged only by the second run"
        );
        if build_id == "b1" {
            one_ids_before = vec![phone_one_id.clone(), openid_one_id.clone()];
        }
        for raw in ["+86 138-0013-8000", "8613800138000", "138 0013 8000"] {
            let path = format!("/v1/profiles/phone/{}", encode(raw));
            let (status, body, _) = conn.send(Method::GET, &path, Some(TOKEN), None).await;
            assert_eq!(status, StatusCode::OK, "{build_id} {raw}: {body}");
            assert_eq!(body["one_id"], phone_one_id.as_str(), "{build_id} {raw}");
            assert_eq!(body["build"]["build_id"], build_id);
            assert_eq!(body["profile"]["one_id"], phone_one_id.as_str());
        }
        for (t, v, expected) in [
            ("phone_md5", alice_md5.as_str(), &phone_one_id),
            ("openid", "o-alice-WX", &openid_one_id),
        ] {
            let path = format!("/v1/profiles/{t}/{}", encode(v));
            let (status, body, _) = conn.send(Method::GET, &path, Some(TOKEN), None).await;
            assert_eq!(status, StatusCode::OK, "{build_id} {t}: {body}");
            assert_eq!(body["one_id"], expected.as_str(), "{build_id} {t}");
        }
    }
    // The absorbed one_id has no profile in b2; the survivor has.
    let survivor = one_id_in_identity_map(&lake, "openid", "o-alice-WX").await;
    for before in one_ids_before {
        let path = format!("/v1/profiles/by-one-id/{before}");
        let (status, body, _) = conn.send(Method::GET, &path, Some(TOKEN), None).await;
        if before == survivor {
            assert_eq!(status, StatusCode::OK, "{body}");
        } else {
            assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        }
    }
    server.shutdown().await.unwrap();
}
