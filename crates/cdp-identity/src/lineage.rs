//! `identity_merges/` and `identity_conflicts/`: one file per run that had
//! any, `part-<run_id>-00000.parquet`. Together with the graph state they
//! answer "why is this one_id what it is".

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use cdp_lake::Lake;

use crate::engine::{Conflict, Merge};
use crate::error::{IdentityError, Result};
use crate::nodes::Nodes;
use crate::one_id::{one_id, OneKey};
use crate::run::{HotValue, Split};
use crate::sets::Sets;
use crate::state::encode_blocking;
use crate::tables::{conflicts_schema, merges_schema, IDENTITY_CONFLICTS, IDENTITY_MERGES};

fn ts(values: Vec<Option<i64>>) -> TimestampMicrosecondArray {
    TimestampMicrosecondArray::from(values).with_timezone("UTC")
}

fn key_id(keys: &[OneKey], n: u32) -> Option<String> {
    let k = keys[n as usize];
    (k != 0).then(|| one_id(k))
}

/// Writes the merges and splits of a run; returns the file, if any.
pub(crate) async fn write_merges(
    lake: &Lake,
    run_id: &str,
    recorded_at: i64,
    nodes: &Nodes,
    sets: &Sets,
    merges: &[Merge],
    splits: &[Split],
) -> Result<Option<String>> {
    let rows = merges.len() + splits.len();
    if rows == 0 {
        return Ok(None);
    }
    let mut kind = Vec::with_capacity(rows);
    let mut from = Vec::with_capacity(rows);
    let mut to = Vec::with_capacity(rows);
    let mut reason = Vec::with_capacity(rows);
    let mut a = Vec::with_capacity(rows);
    let mut b = Vec::with_capacity(rows);
    let mut first = Vec::with_capacity(rows);
    for m in merges {
        kind.push("merge");
        from.push(m.absorbed);
        to.push(m.survivor);
        reason.push("edge".to_string());
        a.push(Some(m.a));
        b.push(Some(m.b));
        first.push(Some(sets.first_seen[m.set as usize]));
    }
    for s in splits {
        kind.push("split");
        from.push(s.from);
        to.push(s.to);
        reason.push(s.reason.clone());
        a.push(s.cause);
        b.push(None);
        first.push(None);
    }
    let id_type = |v: &[Option<u32>]| -> StringArray {
        v.iter()
            .map(|n| n.map(|n| nodes.id_type(n).as_str()))
            .collect()
    };
    let id_value = |v: &[Option<u32>]| -> StringArray {
        v.iter().map(|n| n.map(|n| nodes.value(n))).collect()
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![run_id; rows])),
        Arc::new(ts(vec![Some(recorded_at); rows])),
        Arc::new(StringArray::from(kind)),
        Arc::new(Int64Array::from(from.clone())),
        Arc::new(
            from.iter()
                .map(|&k| Some(one_id(k)))
                .collect::<StringArray>(),
        ),
        Arc::new(Int64Array::from(to.clone())),
        Arc::new(to.iter().map(|&k| Some(one_id(k))).collect::<StringArray>()),
        Arc::new(StringArray::from(reason)),
        Arc::new(id_type(&a)),
        Arc::new(id_value(&a)),
        Arc::new(id_type(&b)),
        Arc::new(id_value(&b)),
        Arc::new(ts(first)),
    ];
    let batch = RecordBatch::try_new(merges_schema(), columns)
        .map_err(IdentityError::arrow(IDENTITY_MERGES))?;
    let path = format!("{IDENTITY_MERGES}/part-{run_id}-00000.parquet");
    let bytes = encode_blocking(path.clone(), merges_schema(), batch, &[]).await?;
    lake.put(&path, bytes).await?;
    Ok(Some(path))
}

/// Writes the refused edges and hot values of a run; returns the file, if any.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_conflicts(
    lake: &Lake,
    run_id: &str,
    nodes: &Nodes,
    sets: &Sets,
    keys: &[OneKey],
    conflicts: &[Conflict],
    hot: &[HotValue],
) -> Result<Option<String>> {
    let rows = conflicts.len() + hot.len();
    if rows == 0 {
        return Ok(None);
    }
    let mut reason = Vec::with_capacity(rows);
    let mut a = Vec::with_capacity(rows);
    let mut b: Vec<Option<u32>> = Vec::with_capacity(rows);
    let mut first = Vec::with_capacity(rows);
    let mut count = Vec::with_capacity(rows);
    let mut detail = Vec::with_capacity(rows);
    for h in hot {
        reason.push("hot_value".to_string());
        a.push(h.node);
        b.push(None);
        first.push(None);
        count.push(0i64);
        detail.push(format!(
            "seen with {} distinct {}: excluded",
            h.distinct, h.id_type
        ));
    }
    for c in conflicts {
        reason.push(c.reason.as_string());
        a.push(c.a);
        b.push(Some(c.b));
        first.push(Some(sets.first_seen[c.set as usize]));
        count.push(i64::from(c.sets));
        detail.push(c.detail.clone());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![run_id; rows])),
        Arc::new(StringArray::from(reason)),
        Arc::new(
            a.iter()
                .map(|&n| Some(nodes.id_type(n).as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            a.iter()
                .map(|&n| Some(nodes.value(n)))
                .collect::<StringArray>(),
        ),
        Arc::new(a.iter().map(|&n| key_id(keys, n)).collect::<StringArray>()),
        Arc::new(
            b.iter()
                .map(|n| n.map(|n| nodes.id_type(n).as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            b.iter()
                .map(|n| n.map(|n| nodes.value(n)))
                .collect::<StringArray>(),
        ),
        Arc::new(
            b.iter()
                .map(|n| n.and_then(|n| key_id(keys, n)))
                .collect::<StringArray>(),
        ),
        Arc::new(ts(first)),
        Arc::new(Int64Array::from(count)),
        Arc::new(StringArray::from(detail)),
    ];
    let batch = RecordBatch::try_new(conflicts_schema(), columns)
        .map_err(IdentityError::arrow(IDENTITY_CONFLICTS))?;
    let path = format!("{IDENTITY_CONFLICTS}/part-{run_id}-00000.parquet");
    let bytes = encode_blocking(path.clone(), conflicts_schema(), batch, &[]).await?;
    lake.put(&path, bytes).await?;
    Ok(Some(path))
}
