//! The figures of the report equal the same figures computed here from the
//! lake's Parquet files directly (arrow, no DataFusion, none of the report's
//! SQL).

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{build_files, figures, floats, ints, parquet_files, read, row_count, texts};
use crate::world::world;

fn figure(figures: &BTreeMap<String, String>, key: &str) -> String {
    figures
        .get(key)
        .unwrap_or_else(|| panic!("the report has no figure {key}"))
        .clone()
}

fn count(figures: &BTreeMap<String, String>, key: &str) -> u64 {
    figure(figures, key)
        .parse()
        .unwrap_or_else(|e| panic!("{key}: {e}"))
}

#[test]
fn events_and_dead_letters_per_source_are_the_lake_files_rows() {
    let w = world();
    let f = figures(&w.report.html);
    let mut sources = BTreeSet::new();
    for table in ["events", "dlq"] {
        for dir in std::fs::read_dir(w.lake_dir.join(table)).unwrap() {
            let dir = dir.unwrap().path();
            let name = dir.file_name().unwrap().to_str().unwrap().to_string();
            sources.insert(name.strip_prefix("source=").unwrap().to_string());
        }
    }
    assert!(sources.len() >= 4, "{sources:?}");
    let (mut all_events, mut all_dead) = (0, 0);
    for source in &sources {
        let events = row_count(&parquet_files(
            &w.lake_dir.join("events").join(format!("source={source}")),
        ));
        let dead = row_count(&parquet_files(
            &w.lake_dir.join("dlq").join(format!("source={source}")),
        ));
        assert_eq!(
            count(&f, &format!("events_by_source.{source}.events")),
            events,
            "{source}"
        );
        assert_eq!(
            count(&f, &format!("events_by_source.{source}.dead_letters")),
            dead,
            "{source}"
        );
        all_events += events;
        all_dead += dead;
    }
    assert!(all_dead > 0, "the generated world has dead letters");
    assert_eq!(count(&f, "overview.events"), all_events);
    assert_eq!(count(&f, "overview.dead_letters"), all_dead);
}

#[test]
fn identity_figures_are_those_of_identity_map_merges_and_conflicts() {
    let w = world();
    let f = figures(&w.report.html);
    let map = read(&build_files(&w.lake_dir, "identity_map"));
    let mut per_one_id: BTreeMap<i64, u64> = BTreeMap::new();
    for key in ints(&map, "one_key") {
        *per_one_id.entry(key.unwrap()).or_default() += 1;
    }
    assert_eq!(count(&f, "overview.one_ids"), per_one_id.len() as u64);
    assert_eq!(
        count(&f, "overview.identifiers"),
        per_one_id.values().sum::<u64>()
    );
    let mut histogram: BTreeMap<String, u64> = BTreeMap::new();
    for &n in per_one_id.values() {
        let bucket = match n {
            1..=5 => n.to_string(),
            6..=10 => "6-10".into(),
            11..=20 => "11-20".into(),
            _ => "21+".into(),
        };
        *histogram.entry(bucket).or_default() += 1;
    }
    for (bucket, n) in &histogram {
        assert_eq!(
            count(&f, &format!("identifiers_per_one_id.{bucket}")),
            *n,
            "{bucket}"
        );
    }
    let largest = per_one_id.values().max().unwrap();
    let top_id = per_one_id
        .iter()
        .find(|(_, n)| *n == largest)
        .map(|(k, _)| format!("OID{k:012}"))
        .unwrap();
    assert_eq!(
        count(&f, &format!("largest_components.{top_id}.identifiers")),
        *largest
    );

    let conflicts = read(&parquet_files(&w.lake_dir.join("identity_conflicts")));
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    for reason in texts(&conflicts, "reason") {
        *refused.entry(reason.unwrap()).or_default() += 1;
    }
    assert!(!refused.is_empty(), "the generated world has refused joins");
    for (reason, n) in &refused {
        assert_eq!(
            count(&f, &format!("refused_merges.{reason}")),
            *n,
            "{reason}"
        );
    }

    let merges = read(&parquet_files(&w.lake_dir.join("identity_merges")));
    let mut per_run: BTreeMap<String, u64> = BTreeMap::new();
    for (run, kind) in texts(&merges, "run_id")
        .into_iter()
        .zip(texts(&merges, "kind"))
    {
        if kind.as_deref() == Some("merge") {
            *per_run.entry(run.unwrap()).or_default() += 1;
        }
    }
    assert!(!per_run.is_empty());
    for (run, n) in &per_run {
        assert_eq!(
            count(&f, &format!("merges_over_time.{run}.merges")),
            *n,
            "{run}"
        );
    }
}

#[test]
fn funnel_channels_and_coverage_are_those_of_profiles_and_tags() {
    let w = world();
    let f = figures(&w.report.html);
    let profiles = read(&build_files(&w.lake_dir, "profiles"));
    let orders: Vec<i64> = ints(&profiles, "orders")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let member: Vec<bool> = ints(&profiles, "member_since")
        .iter()
        .map(Option::is_some)
        .collect();
    let n = orders.len() as u64;
    let reached =
        |test: &dyn Fn(usize) -> bool| (0..orders.len()).filter(|&i| test(i)).count() as u64;
    assert_eq!(count(&f, "lifecycle_funnel.prospect"), n);
    assert_eq!(count(&f, "overview.profiles"), n);
    assert_eq!(
        count(&f, "lifecycle_funnel.member"),
        reached(&|i| member[i] || orders[i] >= 1)
    );
    let buyers = reached(&|i| orders[i] >= 1);
    assert!(buyers > 0);
    assert_eq!(count(&f, "lifecycle_funnel.first_purchase"), buyers);
    assert_eq!(
        count(&f, "lifecycle_funnel.repeat"),
        reached(&|i| orders[i] >= 2)
    );
    assert_eq!(
        count(&f, "lifecycle_funnel.loyal"),
        reached(&|i| orders[i] >= 3)
    );
    let conversion: f64 = figure(&f, "lifecycle_funnel.repeat.conversion")
        .parse()
        .unwrap();
    assert!((conversion - reached(&|i| orders[i] >= 2) as f64 / buyers as f64).abs() < 1e-12);

    // Acquisition: first live code, else first utm_source.
    let code = texts(&profiles, "first_channel_code");
    let utm = texts(&profiles, "first_utm_source");
    let revenue = floats(&profiles, "net_revenue");
    let mut channels: BTreeMap<String, (u64, u64, f64)> = BTreeMap::new();
    for i in 0..orders.len() {
        let channel = code[i]
            .clone()
            .or_else(|| utm[i].clone())
            .unwrap_or_else(|| "(none)".into());
        let c = channels.entry(channel).or_default();
        c.0 += 1;
        c.1 += u64::from(orders[i] >= 1);
        c.2 += revenue[i].unwrap();
    }
    assert!(channels.len() > 2, "{channels:?}");
    for (channel, (new, customers, revenue)) in &channels {
        assert_eq!(
            count(&f, &format!("acquisition.{channel}.new_one_ids")),
            *new
        );
        assert_eq!(
            count(&f, &format!("acquisition.{channel}.customers")),
            *customers
        );
        let shown: f64 = figure(&f, &format!("acquisition.{channel}.revenue"))
            .parse()
            .unwrap();
        assert!(
            (shown - revenue).abs() < 0.005,
            "{channel}: {shown} vs {revenue}"
        );
    }

    // Exclusive groups: one_ids per tag from the long tags table.
    let tags = read(&build_files(&w.lake_dir, "tags"));
    let mut per_tag: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (group, tag) in texts(&tags, "tag_group")
        .into_iter()
        .zip(texts(&tags, "tag"))
    {
        *per_tag.entry((group.unwrap(), tag.unwrap())).or_default() += 1;
    }
    for group in ["lifecycle", "rfm", "value_tier"] {
        assert_eq!(
            count(&f, &format!("coverage.{group}.one_ids")),
            n,
            "{group}"
        );
        assert_eq!(
            figure(&f, &format!("coverage.{group}.share")),
            "1",
            "{group}"
        );
        for ((g, tag), one_ids) in per_tag.iter().filter(|((g, _), _)| g == group) {
            assert_eq!(
                count(&f, &format!("coverage.{g}.{tag}")),
                *one_ids,
                "{g}/{tag}"
            );
        }
    }
}

#[test]
fn ltv_figures_are_those_of_the_ltv_table() {
    let w = world();
    let f = figures(&w.report.html);
    let ltv = read(&build_files(&w.lake_dir, "ltv"));
    if !w.ltv_built {
        assert!(ltv.is_empty(), "LTV skipped: no ltv files");
        assert_eq!(count(&f, "overview.customers_with_ltv"), 0);
        return;
    }
    let p_alive: Vec<f64> = floats(&ltv, "p_alive")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(
        count(&f, "overview.customers_with_ltv"),
        p_alive.len() as u64
    );
    let mut tenths = [0u64; 10];
    for p in &p_alive {
        tenths[((p * 10.0) as usize).min(9)] += 1;
    }
    for (t, n) in tenths.iter().enumerate() {
        assert_eq!(
            count(&f, &format!("p_alive_distribution.{t}")),
            *n,
            "tenth {t}"
        );
    }
    let clv = floats(&ltv, "predicted_clv_365d");
    let low = clv.iter().filter(|v| v.unwrap() < 50.0).count() as u64;
    if low > 0 {
        assert_eq!(count(&f, "ltv_distribution.0-50"), low);
    }
}
