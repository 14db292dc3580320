//! The floor of `benches/resolve_vs_peers.sh`: petgraph's `UnionFind` over
//! the graph's edges, already interned to integers — nothing but the
//! connectivity a resolve has to find, without reading events, rules,
//! stable keys or writing anything.
//!
//! ```sh
//! cargo run --release -p cdp-identity --example resolve_floor -- LAKE EDGES.parquet
//! ```
//!
//! The first run exports the edges of a resolved lake's graph state (one
//! edge from each set's first member to each other member: the same
//! connectivity the sets give) as Parquet with integer and `TYPE:VALUE`
//! columns, so every peer of the benchmark reads the very same edges. Then
//! it times reading the integer columns and the union-find with labelling,
//! and prints one JSON line.

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema, UInt32Type};
use cdp_identity::state::{Graph, Manifest};
use cdp_lake::{parquet_io, Lake};
use petgraph::unionfind::UnionFind;

fn edges_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("src", DataType::UInt32, false),
        Field::new("dst", DataType::UInt32, false),
        Field::new("src_id", DataType::Utf8, false),
        Field::new("dst_id", DataType::Utf8, false),
    ]))
}

async fn export(lake: &Lake, out: &str) -> usize {
    let manifest = Manifest::load(lake)
        .await
        .unwrap()
        .expect("a resolved lake");
    let graph = Graph::load(lake, &manifest).await.unwrap();
    let names: Vec<String> = (0..graph.nodes.len() as u32)
        .map(|n| graph.nodes.display(n))
        .collect();
    let (mut src, mut dst) = (Vec::new(), Vec::new());
    for s in 0..graph.sets.len() as u32 {
        let m = graph.sets.members(s);
        for &b in &m[1..] {
            src.push(m[0]);
            dst.push(b);
        }
    }
    let src_id: StringArray = src
        .iter()
        .map(|&n| Some(names[n as usize].as_str()))
        .collect();
    let dst_id: StringArray = dst
        .iter()
        .map(|&n| Some(names[n as usize].as_str()))
        .collect();
    let edges = src.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(src)),
        Arc::new(UInt32Array::from(dst)),
        Arc::new(src_id),
        Arc::new(dst_id),
    ];
    let batch = RecordBatch::try_new(edges_schema(), columns).unwrap();
    let bytes = parquet_io::encode(out, edges_schema(), &[batch]).unwrap();
    std::fs::write(out, &bytes).unwrap();
    eprintln!(
        "exported {edges} edges over {} identifiers to {out}",
        graph.nodes.len()
    );
    edges
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (lake, out) = match args.as_slice() {
        [_, lake, out] => (lake.clone(), out.clone()),
        _ => {
            eprintln!("usage: resolve_floor LAKE EDGES.parquet");
            std::process::exit(2);
        }
    };
    if !std::path::Path::new(&out).exists() {
        export(&Lake::open(&lake).unwrap(), &out).await;
    }

    let t0 = Instant::now();
    let bytes = bytes::Bytes::from(std::fs::read(&out).unwrap());
    let mut src: Vec<u32> = Vec::new();
    let mut dst: Vec<u32> = Vec::new();
    for b in parquet_io::decode(&out, bytes, Some(&["src", "dst"])).unwrap() {
        src.extend_from_slice(b.column(0).as_primitive::<UInt32Type>().values());
        dst.extend_from_slice(b.column(1).as_primitive::<UInt32Type>().values());
    }
    let read_s = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let nodes = src
        .iter()
        .chain(&dst)
        .copied()
        .max()
        .map_or(0, |m| m as usize + 1);
    let mut uf = UnionFind::<u32>::new(nodes);
    for (&a, &b) in src.iter().zip(&dst) {
        uf.union(a, b);
    }
    // Export the components: a label per node.
    let labels = uf.into_labeling();
    let mut roots = labels.clone();
    roots.sort_unstable();
    roots.dedup();
    let union_s = t1.elapsed().as_secs_f64();
    println!(
        "{{\"edges\": {}, \"nodes\": {nodes}, \"components\": {}, \"read_s\": {read_s:.3}, \"union_s\": {union_s:.3}}}",
        src.len(),
        roots.len()
    );
}
