//! `cdp eval --lake DIR --truth DIR`: pairwise precision and recall of the
//! current identity_map against a generated world's truth.
//!
//! **What is counted.** The items are the identifiers of
//! `truth/identifiers.csv` that belong to exactly one person and are not in
//! `truth/shared_identifiers.csv` (household tablets and store phones belong
//! to several people or to none: no one_id can be right for them). A pair
//! is two items; an item missing from identity_map counts as alone.
//!
//! - **precision** = pairs in one one_id that belong to one person / pairs in
//!   one one_id;
//! - **recall** = pairs linkable at all that are in one one_id / pairs
//!   linkable at all. Two items of one person are **linkable** when a chain
//!   of the lake's events connects them in which every link is two items of
//!   that person seen in one event. Shared values do not link: a pair that
//!   only meets through a family tablet or a store phone cannot be told from
//!   two people sharing it, and a person whose ad-click device ids never
//!   appear next to their phone cannot be joined by anyone. The events say
//!   what co-occurred; the truth says whose each value is.
//! - **recall_all** = the same against every pair of one person's items,
//!   linkable or not: the ceiling the data allows is recall_all / recall.
//!
//! It also counts junk values in identity_map and one_ids over the limits.

use std::collections::BTreeMap;
use std::path::Path;

use cdp_config::IdentityConfig;
use cdp_lake::{parquet_io, Lake};
use cdp_model::IdType;
use futures::{StreamExt, TryStreamExt};
use petgraph::unionfind::UnionFind;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::error::{IdentityError, Result};
use crate::events_in::{list_event_files, parse_type, IdColumns};
use crate::identity_map::IdentityMap;
use crate::nodes::Nodes;
use crate::one_id::{one_id, OneKey};
use crate::rules::{type_index, Rules, TYPES};

#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub persons: u64,
    /// Identifiers of exactly one person, not shared.
    pub items: u64,
    pub items_in_map: u64,
    pub predicted_pairs: u64,
    pub correct_pairs: u64,
    pub precision: f64,
    pub linkable_groups: u64,
    pub linkable_pairs: u64,
    pub linkable_pairs_found: u64,
    pub recall: f64,
    pub truth_pairs: u64,
    pub truth_pairs_found: u64,
    pub recall_all: f64,
    /// One_ids holding items of two or more persons.
    pub mixed_one_ids: u64,
    /// identity_map values the junk list refuses (must be 0).
    pub junk_in_map: u64,
    /// one_ids over a per-type limit or the cap (must be empty).
    pub over_limits: Vec<String>,
    /// Shared values present in identity_map, by the truth's reason
    /// (`household_tablet`: a device profile of its own or one member's;
    /// `store_phone`: should be 0, the hot-value detector excludes them).
    pub shared_in_map: BTreeMap<String, u64>,
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "identity eval: {} persons, {} identifiers counted ({} in identity_map)",
            self.persons, self.items, self.items_in_map
        )?;
        writeln!(
            f,
            "  precision   {:.4}  ({} of {} pairs in one one_id are one person; {} one_ids mix persons)",
            self.precision, self.correct_pairs, self.predicted_pairs, self.mixed_one_ids
        )?;
        writeln!(
            f,
            "  recall      {:.4}  ({} of {} linkable pairs in one one_id; {} linkable groups)",
            self.recall, self.linkable_pairs_found, self.linkable_pairs, self.linkable_groups
        )?;
        writeln!(
            f,
            "  recall_all  {:.4}  ({} of {} pairs of one person, linkable or not)",
            self.recall_all, self.truth_pairs_found, self.truth_pairs
        )?;
        writeln!(f, "  junk values in identity_map: {}", self.junk_in_map)?;
        writeln!(
            f,
            "  shared values in identity_map: {:?}",
            self.shared_in_map
        )?;
        write!(f, "  one_ids over the limits: {}", self.over_limits.len())
    }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

fn read_csv(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| IdentityError::Truth {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

pub async fn eval(lake: &Lake, config: &IdentityConfig, truth: &Path) -> Result<EvalReport> {
    let rules = Rules::from_config(config)?;
    let mut report = EvalReport::default();

    // Items: identifiers of exactly one person, not shared.
    let mut items = Nodes::new();
    let mut owner: Vec<u32> = Vec::new();
    const SHARED: u32 = u32::MAX;
    let mut persons: FxHashMap<String, u32> = FxHashMap::default();
    let path = truth.join("identifiers.csv");
    let text = read_csv(&path)?;
    for (i, line) in text.lines().enumerate().skip(1) {
        let mut cells = line.splitn(3, ',');
        let (Some(p), Some(t), Some(v)) = (cells.next(), cells.next(), cells.next()) else {
            return Err(IdentityError::Truth {
                path: path.display().to_string(),
                reason: format!("line {}: expected person_id,id_type,id_value", i + 1),
            });
        };
        let Some(t) = parse_type(t) else { continue };
        let next = persons.len() as u32;
        let person = *persons.entry(p.to_string()).or_insert(next);
        let n = items.intern(t, v, 0)?;
        if n as usize == owner.len() {
            owner.push(person);
        } else if owner[n as usize] != person {
            owner[n as usize] = SHARED;
        }
    }
    report.persons = persons.len() as u64;
    let path = truth.join("shared_identifiers.csv");
    let mut shared_values: Vec<(IdType, String, String)> = Vec::new();
    for line in read_csv(&path)?.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        if let (Some(t), Some(v)) = (cells.first().and_then(|t| parse_type(t)), cells.get(1)) {
            if let Some(n) = items.find(t, v) {
                owner[n as usize] = SHARED;
            }
            shared_values.push((t, v.to_string(), cells.get(2).unwrap_or(&"").to_string()));
        }
    }
    let counted = |n: u32| owner[n as usize] != SHARED;
    report.items = (0..owner.len() as u32).filter(|&n| counted(n)).count() as u64;

    // Predicted one_ids.
    let map = IdentityMap::load(lake).await?;
    let predicted: Vec<Option<OneKey>> = (0..owner.len() as u32)
        .map(|n| map.one_key(items.id_type(n), &items.value(n)))
        .collect();
    report.items_in_map = (0..owner.len() as u32)
        .filter(|&n| counted(n) && predicted[n as usize].is_some())
        .count() as u64;

    // Linkable groups: the lake's events, links within one person only.
    let mut linkable = UnionFind::<u32>::new(owner.len());
    let files = list_event_files(lake).await?;
    let mut reads = futures::stream::iter(files.iter().map(|path| async move {
        let bytes = lake.get(path).await?;
        let p = path.clone();
        let batches = tokio::task::spawn_blocking(move || {
            parquet_io::decode(&p, bytes, Some(&["identifiers"]))
        })
        .await
        .map_err(|e| IdentityError::Task(e.to_string()))??;
        Ok::<_, IdentityError>((path, batches))
    }))
    .buffered(2);
    let mut by_person: Vec<(u32, u32)> = Vec::new();
    while let Some((path, batches)) = reads.try_next().await? {
        for batch in &batches {
            let cols = IdColumns::of(path, batch)?;
            for i in 0..cols.rows() {
                by_person.clear();
                by_person.extend(
                    cols.row(i)
                        .filter_map(|(t, v)| items.find(t, v))
                        .filter(|&n| counted(n))
                        .map(|n| (owner[n as usize], n)),
                );
                by_person.sort_unstable();
                for w in by_person.windows(2) {
                    if w[0].0 == w[1].0 {
                        linkable.union(w[0].1, w[1].1);
                    }
                }
            }
        }
    }

    // Pair counts. A missing item is alone: its own cluster.
    let mut cluster: FxHashMap<OneKey, u64> = FxHashMap::default();
    let mut cluster_person: FxHashMap<(OneKey, u32), u64> = FxHashMap::default();
    let mut person_size: FxHashMap<u32, u64> = FxHashMap::default();
    let mut group: FxHashMap<u32, u64> = FxHashMap::default();
    let mut group_cluster: FxHashMap<(u32, OneKey), u64> = FxHashMap::default();
    let mut persons_in: FxHashMap<OneKey, (u32, bool)> = FxHashMap::default();
    for n in 0..owner.len() as u32 {
        if !counted(n) {
            continue;
        }
        let p = owner[n as usize];
        let g = linkable.find(n);
        *person_size.entry(p).or_default() += 1;
        *group.entry(g).or_default() += 1;
        if let Some(k) = predicted[n as usize] {
            *cluster.entry(k).or_default() += 1;
            *cluster_person.entry((k, p)).or_default() += 1;
            *group_cluster.entry((g, k)).or_default() += 1;
            let e = persons_in.entry(k).or_insert((p, false));
            if e.0 != p {
                e.1 = true;
            }
        }
    }
    report.predicted_pairs = cluster.values().map(|&n| pairs(n)).sum();
    report.correct_pairs = cluster_person.values().map(|&n| pairs(n)).sum();
    report.linkable_groups = group.values().filter(|&&n| n > 1).count() as u64;
    report.linkable_pairs = group.values().map(|&n| pairs(n)).sum();
    report.linkable_pairs_found = group_cluster.values().map(|&n| pairs(n)).sum();
    report.truth_pairs = person_size.values().map(|&n| pairs(n)).sum();
    report.truth_pairs_found = report.correct_pairs;
    report.mixed_one_ids = persons_in.values().filter(|e| e.1).count() as u64;
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    report.precision = ratio(report.correct_pairs, report.predicted_pairs);
    report.recall = ratio(report.linkable_pairs_found, report.linkable_pairs);
    report.recall_all = ratio(report.truth_pairs_found, report.truth_pairs);

    // The map itself: no junk, no shared value, no one_id over the limits.
    let mut per_key: BTreeMap<OneKey, [u32; TYPES]> = BTreeMap::new();
    for (t, v, k) in map.iter() {
        if rules.junk.is_junk(t, &v) {
            report.junk_in_map += 1;
        }
        per_key.entry(k).or_insert([0; TYPES])[type_index(t)] += 1;
    }
    for (t, v, why) in &shared_values {
        if map.one_key(*t, v).is_some() {
            *report.shared_in_map.entry(why.clone()).or_default() += 1;
        }
    }
    for (k, counts) in per_key {
        let total: u32 = counts.iter().sum();
        let over: Vec<String> = IdType::ALL
            .iter()
            .filter(|&&t| rules.limit(t).is_some_and(|l| counts[type_index(t)] > l))
            .map(|t| format!("{t}={}", counts[type_index(*t)]))
            .collect();
        if !over.is_empty() || total > rules.cap {
            report.over_limits.push(format!(
                "{} ({total} identifiers; {})",
                one_id(k),
                over.join(", ")
            ));
        }
    }
    Ok(report)
}
