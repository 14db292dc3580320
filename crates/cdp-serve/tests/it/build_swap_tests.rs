//! A new build becomes visible without a restart and never as a mix of two:
//! requests hammer the server while `builds/current.json` flips between two
//! builds whose every table says which build it belongs to, and whose
//! identity maps give Alice's phone different one_ids.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::support::*;

fn tagged_build(id: &str, run: &str, swap_alice: bool) -> cdp_serve::fixture_lake::FixtureBuild {
    let mut people = persons(2000);
    if swap_alice {
        // In this build Alice's identifiers belong to one_key 2.
        let (a, b) = (people[0].identifiers.clone(), people[1].identifiers.clone());
        people[0].identifiers = b;
        people[1].identifiers = a;
    }
    for p in &mut people {
        p.tags.push(("build".into(), id.into()));
    }
    build(id, run, people, vec![])
}

/// Every part of an answer names the same build (and Alice the one_id of
/// that build); returns the build.
fn consistent_build(body: &Value) -> Result<String, String> {
    let build = body["build"]["build_id"]
        .as_str()
        .ok_or("no build")?
        .to_string();
    let parts = [
        body["profile"]["build_id"].as_str(),
        body["tags"]["build"][0].as_str(),
        body["ltv"]["build_id"].as_str().or(Some(&build)),
    ];
    if parts.iter().any(|p| *p != Some(build.as_str())) {
        return Err(format!("mixed builds: {body}"));
    }
    let alice_key = if build == "A" {
        "OID000000000001"
    } else {
        "OID000000000002"
    };
    if body["identifier"]["id_value"] == ALICE_PHONE && body["one_id"] != alice_key {
        return Err(format!("identity of another build: {body}"));
    }
    Ok(build)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_build_swap_under_load_never_answers_with_a_mix() {
    let a = tagged_build("A", "rA", false);
    let (_dir, lake) = lake_with(&a).await;
    let manifest_a = cdp_serve::manifest::read_current(&lake)
        .await
        .unwrap()
        .unwrap()
        .0;
    let manifest_b = cdp_serve::fixture_lake::write_build(&lake, &tagged_build("B", "rB", true))
        .await
        .unwrap();
    let server = serve(&lake).await;
    wait_for_build(server.addr, Some("A")).await;

    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for c in 0..6u64 {
        let (stop, answers, addr) = (stop.clone(), answers.clone(), server.addr);
        clients.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut seen = [0u64; 2];
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let path = match i % 4 {
                    0 => "/v1/profiles/phone/13800138000".to_string(),
                    1 => format!("/v1/profiles/by-one-id/OID{:012}", 1 + i % 2000),
                    2 => format!("/v1/profiles/phone/1370000{:04}", 4 + i % 1996),
                    _ => "/v1/segments/build/A?limit=5".to_string(),
                };
                let (status, body, _) = conn.send(Method::GET, &path, Some(TOKEN), None).await;
                let build = if path.starts_with("/v1/segments") {
                    // The segment exists in build A only.
                    match (status, body["build"]["build_id"].as_str()) {
                        (StatusCode::OK, Some("A")) => "A".to_string(),
                        (StatusCode::NOT_FOUND, _)
                            if body["error"]["message"]
                                .as_str()
                                .unwrap_or("")
                                .contains("build B") =>
                        {
                            "B".to_string()
                        }
                        _ => return Err(format!("{path}: {status} {body}")),
                    }
                } else {
                    if status != StatusCode::OK {
                        return Err(format!("{path}: {status} {body}"));
                    }
                    consistent_build(&body)?
                };
                seen[usize::from(build == "B")] += 1;
                answers.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, String>(seen)
        }));
    }
    // Flip the pointer back and forth; each flip is waited for, so both
    // builds are served while the clients run.
    for flip in 0..6 {
        let (manifest, id) = if flip % 2 == 0 {
            (&manifest_b, "B")
        } else {
            (&manifest_a, "A")
        };
        let before = answers.load(Ordering::Relaxed);
        cdp_serve::fixture_lake::publish(&lake, manifest)
            .await
            .unwrap();
        wait_for_build(server.addr, Some(id)).await;
        // Let the clients answer from this build for a while.
        while answers.load(Ordering::Relaxed) < before + 300 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut totals = [0u64; 2];
    for c in clients {
        let seen = c.await.unwrap().unwrap_or_else(|e| panic!("{e}"));
        totals[0] += seen[0];
        totals[1] += seen[1];
    }
    assert!(
        totals[0] > 0 && totals[1] > 0,
        "both builds answered: {totals:?}"
    );
    server.shutdown().await.unwrap();
}
