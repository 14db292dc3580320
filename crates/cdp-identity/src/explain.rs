//! `cdp identity explain TYPE:VALUE [--dot]`: the one_id of an identifier,
//! every identifier in it, and every edge that touches them — the sets of
//! identifiers seen together in events, as the rules apply them (each strong
//! id to its event's strongest, each weak id to the strongest) — with why it
//! was accepted or refused. How each identifier is reached from the one
//! asked about is a breadth-first search over the accepted edges (petgraph);
//! `--dot` gives the same as a Graphviz graph.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use arrow::array::{Array, AsArray};
use cdp_config::IdentityConfig;
use cdp_lake::{parquet_io, Lake};
use cdp_model::Identifier;
use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::visit::{Bfs, EdgeRef};
use rustc_hash::FxHashMap;

use crate::engine::Engine;
use crate::error::{IdentityError, Result};
use crate::nodes::{flag, Nodes};
use crate::one_id::one_id;
use crate::rules::Rules;
use crate::state::{Graph, Manifest};
use crate::tables::IDENTITY_CONFLICTS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// `TYPE:VALUE`.
    pub identifier: String,
    pub one_id: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    /// Why it is out of every one_id, when it is (`hot_value`, `junk`, `unbound`).
    pub status: Option<String>,
    /// Accepted edges from the identifier asked about (None: not reached).
    pub hops: Option<u32>,
    /// The identifier it is reached through.
    pub via: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeExplained {
    pub a: String,
    pub b: String,
    pub strong: bool,
    pub events: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    /// `accepted`, or `refused: <reason> (<detail>)`.
    pub verdict: String,
}

impl EdgeExplained {
    pub fn accepted(&self) -> bool {
        self.verdict == "accepted"
    }
}

#[derive(Debug, Clone)]
pub struct Explanation {
    pub identifier: String,
    pub one_id: Option<String>,
    /// The identifiers of the one_id (or the identifier alone when it has none).
    pub members: Vec<Member>,
    /// Identifiers outside the one_id that share an edge with it.
    pub neighbours: Vec<Member>,
    pub edges: Vec<EdgeExplained>,
}

fn time(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us).map_or_else(
        || us.to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

fn status_of(nodes: &Nodes, n: u32) -> Option<String> {
    let f = nodes.flags(n);
    [
        (
            flag::HOT,
            "hot_value: seen with too many strong identifiers, excluded",
        ),
        (flag::JUNK, "junk: on the junk list, excluded"),
        (flag::ERASED, "erased"),
        (flag::UNBOUND, "unbound: kept apart by an operator's rule"),
    ]
    .iter()
    .find(|(bit, _)| f & bit != 0)
    .map(|(_, s)| s.to_string())
}

pub async fn explain(lake: &Lake, config: &IdentityConfig, id: &Identifier) -> Result<Explanation> {
    let rules = Rules::from_config(config)?;
    let manifest = Manifest::load(lake).await?.ok_or_else(|| {
        IdentityError::UnknownIdentifier(format!("{id} (the lake was never resolved)"))
    })?;
    let graph = Graph::load(lake, &manifest).await?;
    let nodes = &graph.nodes;
    let asked = nodes
        .find(id.id_type, &id.value)
        .ok_or_else(|| IdentityError::UnknownIdentifier(id.to_string()))?;
    let key = graph.keys[asked as usize];
    let members: Vec<u32> = if key == 0 {
        vec![asked]
    } else {
        (0..nodes.len() as u32)
            .filter(|&n| graph.keys[n as usize] == key)
            .collect()
    };
    let in_one_id: BTreeSet<u32> = members.iter().copied().collect();

    // The edges of every set touching the one_id, as the engine applies them.
    let mut edges: BTreeMap<(u32, u32), (u64, i64, i64)> = BTreeMap::new();
    for s in 0..graph.sets.len() as u32 {
        if !graph.sets.members(s).iter().any(|m| in_one_id.contains(m)) {
            continue;
        }
        let mut all: Vec<u32> = graph
            .sets
            .members(s)
            .iter()
            .copied()
            .filter(|&n| nodes.flags(n) & flag::ERASED == 0)
            .collect();
        all.sort_by(|&a, &b| nodes.cmp_priority(&rules, a, b));
        // The engine joins every member of a set to its first usable one;
        // excluded members are shown against the same anchor.
        let work = Engine::work_of(nodes, &rules, &graph.sets, s);
        let Some(anchor) = work
            .members
            .first()
            .copied()
            .or_else(|| all.first().copied())
        else {
            continue;
        };
        for &n in &all {
            if n == anchor || (!in_one_id.contains(&n) && !in_one_id.contains(&anchor)) {
                continue;
            }
            let e = edges.entry((anchor, n)).or_insert((0, i64::MAX, i64::MIN));
            e.0 += u64::from(graph.sets.events[s as usize]);
            e.1 = e.1.min(graph.sets.first_seen[s as usize]);
            e.2 = e.2.max(graph.sets.last_seen[s as usize]);
        }
    }

    let reasons = refusals(lake, nodes, &edges).await?;
    let mut explained = Vec::new();
    let mut pg: UnGraph<u32, ()> = UnGraph::new_undirected();
    let mut index: FxHashMap<u32, NodeIndex> = FxHashMap::default();
    for &m in &members {
        index.insert(m, pg.add_node(m));
    }
    let mut neighbours = BTreeSet::new();
    for (&(a, b), &(events, first, last)) in &edges {
        let (ka, kb) = (graph.keys[a as usize], graph.keys[b as usize]);
        let verdict = if ka != 0 && ka == kb {
            "accepted".to_string()
        } else if let Some(r) = reasons.get(&(a, b)).or_else(|| reasons.get(&(b, a))) {
            format!("refused: {r}")
        } else if let Some(s) = status_of(nodes, a).or_else(|| status_of(nodes, b)) {
            format!("refused: {}", s.split(':').next().unwrap_or(""))
        } else {
            "refused".to_string()
        };
        if verdict == "accepted" {
            if let (Some(&x), Some(&y)) = (index.get(&a), index.get(&b)) {
                pg.add_edge(x, y, ());
            }
        }
        for n in [a, b] {
            if !in_one_id.contains(&n) {
                neighbours.insert(n);
            }
        }
        explained.push(EdgeExplained {
            a: nodes.display(a),
            b: nodes.display(b),
            strong: rules.is_strong_ix(nodes.type_ix(a)) && rules.is_strong_ix(nodes.type_ix(b)),
            events,
            first_seen: first,
            last_seen: last,
            verdict,
        });
    }
    // Hops and the identifier each member is reached through.
    let mut hops: FxHashMap<u32, (u32, Option<u32>)> = FxHashMap::default();
    if let Some(&start) = index.get(&asked) {
        hops.insert(asked, (0, None));
        let mut bfs = Bfs::new(&pg, start);
        while let Some(x) = bfs.next(&pg) {
            let here = pg[x];
            let depth = hops[&here].0;
            for e in pg.edges(x) {
                let other = if e.source() == x {
                    e.target()
                } else {
                    e.source()
                };
                hops.entry(pg[other]).or_insert((depth + 1, Some(here)));
            }
        }
    }
    let member = |n: u32| Member {
        identifier: nodes.display(n),
        one_id: (graph.keys[n as usize] != 0).then(|| one_id(graph.keys[n as usize])),
        first_seen: nodes.first_seen[n as usize],
        last_seen: nodes.last_seen[n as usize],
        status: status_of(nodes, n),
        hops: hops.get(&n).map(|h| h.0),
        via: hops.get(&n).and_then(|h| h.1).map(|v| nodes.display(v)),
    };
    let mut ordered = members.clone();
    ordered.sort_by(|&a, &b| nodes.cmp_priority(&rules, a, b));
    Ok(Explanation {
        identifier: nodes.display(asked),
        one_id: (key != 0).then(|| one_id(key)),
        members: ordered.into_iter().map(member).collect(),
        neighbours: neighbours.into_iter().map(member).collect(),
        edges: explained,
    })
}

/// The latest recorded refusal of each edge among `edges`, from
/// identity_conflicts.
async fn refusals(
    lake: &Lake,
    nodes: &Nodes,
    edges: &BTreeMap<(u32, u32), (u64, i64, i64)>,
) -> Result<FxHashMap<(u32, u32), String>> {
    let wanted: BTreeSet<u32> = edges.keys().flat_map(|&(a, b)| [a, b]).collect();
    let mut out = FxHashMap::default();
    for path in lake.list(IDENTITY_CONFLICTS).await? {
        for batch in parquet_io::decode(&path, lake.get(&path).await?, None)? {
            let col = |name: &str| {
                batch
                    .column_by_name(name)
                    .and_then(|c| c.as_string_opt::<i32>().cloned())
            };
            let (Some(reason), Some(at), Some(av), Some(bt), Some(bv), Some(detail)) = (
                col("reason"),
                col("a_type"),
                col("a_value"),
                col("b_type"),
                col("b_value"),
                col("detail"),
            ) else {
                continue;
            };
            for i in 0..batch.num_rows() {
                if bt.is_null(i) {
                    continue;
                }
                let find = |t: &str, v: &str| {
                    crate::events_in::parse_type(t).and_then(|t| nodes.find(t, v))
                };
                let (Some(a), Some(b)) = (
                    find(at.value(i), av.value(i)),
                    find(bt.value(i), bv.value(i)),
                ) else {
                    continue;
                };
                if wanted.contains(&a) && wanted.contains(&b) {
                    let text = if detail.value(i).is_empty() {
                        reason.value(i).to_string()
                    } else {
                        format!("{} ({})", reason.value(i), detail.value(i))
                    };
                    out.insert((a, b), text);
                }
            }
        }
    }
    Ok(out)
}

impl Explanation {
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        match &self.one_id {
            Some(id) => {
                let _ = writeln!(
                    s,
                    "{} belongs to {id} ({} identifiers)",
                    self.identifier,
                    self.members.len()
                );
            }
            None => {
                let _ = writeln!(s, "{} belongs to no one_id", self.identifier);
            }
        }
        let _ = writeln!(s, "\nidentifiers (strongest first):");
        for m in &self.members {
            let reach = match (&m.hops, &m.via) {
                (Some(0), _) => "asked".to_string(),
                (Some(h), Some(v)) => format!("{h} hop(s), via {v}"),
                _ => "not reached by an accepted edge".to_string(),
            };
            let _ = writeln!(
                s,
                "  {:<60} seen {} .. {}  [{reach}]{}",
                m.identifier,
                time(m.first_seen),
                time(m.last_seen),
                m.status
                    .as_deref()
                    .map(|x| format!("  {x}"))
                    .unwrap_or_default()
            );
        }
        if !self.neighbours.is_empty() {
            let _ = writeln!(s, "\nseen with, but kept out:");
            for m in &self.neighbours {
                let _ = writeln!(
                    s,
                    "  {:<60} {}{}",
                    m.identifier,
                    m.one_id.as_deref().unwrap_or("(no one_id)"),
                    m.status
                        .as_deref()
                        .map(|x| format!("  {x}"))
                        .unwrap_or_default()
                );
            }
        }
        let _ = writeln!(s, "\nedges (from each event's strongest identifier):");
        for e in &self.edges {
            let _ = writeln!(
                s,
                "  {} — {}\n      {} {} event(s), {} .. {}: {}",
                e.a,
                e.b,
                if e.strong { "strong," } else { "weak," },
                e.events,
                time(e.first_seen),
                time(e.last_seen),
                e.verdict
            );
        }
        s
    }

    /// The one_id as a Graphviz graph: members filled, outsiders dashed,
    /// refused edges red and dashed with their reason.
    pub fn to_dot(&self) -> String {
        let mut g: UnGraph<String, (String, bool)> = UnGraph::new_undirected();
        let mut ix: BTreeMap<&str, NodeIndex> = BTreeMap::new();
        for m in &self.members {
            ix.insert(&m.identifier, g.add_node(m.identifier.clone()));
        }
        for m in &self.neighbours {
            ix.insert(&m.identifier, g.add_node(m.identifier.clone()));
        }
        for e in &self.edges {
            if let (Some(&a), Some(&b)) = (ix.get(e.a.as_str()), ix.get(e.b.as_str())) {
                g.add_edge(
                    a,
                    b,
                    (format!("{} ev, {}", e.events, e.verdict), e.accepted()),
                );
            }
        }
        let outsiders: BTreeSet<&str> = self
            .neighbours
            .iter()
            .map(|m| m.identifier.as_str())
            .collect();
        let edge_attrs =
            |_: &UnGraph<String, (String, bool)>,
             e: petgraph::graph::EdgeReference<'_, (String, bool)>| {
                let (label, ok) = e.weight();
                let style = if *ok { "" } else { ", color=red, style=dashed" };
                format!("label = {label:?}{style}")
            };
        let node_attrs = |_: &UnGraph<String, (String, bool)>, (_, name): (NodeIndex, &String)| {
            let style = if outsiders.contains(name.as_str()) {
                "style=dashed"
            } else {
                "style=filled, fillcolor=lightblue"
            };
            format!("label = {name:?}, {style}")
        };
        let dot = petgraph::dot::Dot::with_attr_getters(
            &g,
            &[
                petgraph::dot::Config::EdgeNoLabel,
                petgraph::dot::Config::NodeNoLabel,
            ],
            &edge_attrs,
            &node_attrs,
        );
        format!("{dot:?}")
    }
}
