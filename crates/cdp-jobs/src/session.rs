//! The DataFusion session of a build: engine settings, the functions the job
//! SQL uses beside standard SQL, and the lake's object store.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int32Array, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{exec_err, ScalarValue};
use datafusion::execution::context::SessionContext;
use datafusion::functions_aggregate::first_last::{first_value_udaf, last_value_udaf};
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use datafusion::prelude::SessionConfig;

use cdp_lake::Lake;

use crate::error::{JobsError, Result};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Rows per batch. Larger than DataFusion's 8192: the profile query is a
/// few wide aggregations, where bigger batches amortise per-batch work.
const BATCH_SIZE: usize = 32 * 1024;

/// A session for one build on `threads` threads.
pub fn new_session(lake: &Lake, threads: usize) -> Result<SessionContext> {
    let mut config = SessionConfig::new()
        .with_target_partitions(threads)
        .with_batch_size(BATCH_SIZE)
        .with_information_schema(false);
    let options = config.options_mut();
    // Row-group statistics of event_time let the as-of filter skip data.
    options.execution.collect_statistics = true;
    // Strings as views: cheaper to decode and compare than offsets + bytes.
    options.execution.parquet.schema_force_view_types = true;
    let ctx = SessionContext::new_with_config(config);
    register_functions(&ctx);
    register_lake_store(&ctx, lake)?;
    Ok(ctx)
}

/// `utc_day(ts)`, and `first`/`last` as names of DataFusion's ordered
/// `first_value`/`last_value` aggregates (the names DuckDB uses), so that
/// the job SQL runs unchanged in both engines.
pub fn register_functions(ctx: &SessionContext) {
    ctx.register_udf(create_udf(
        "utc_day",
        vec![DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into()),
        )],
        DataType::Int32,
        Volatility::Immutable,
        Arc::new(utc_day),
    ));
    ctx.register_udaf((*first_value_udaf()).clone().with_aliases(["first"]));
    ctx.register_udaf((*last_value_udaf()).clone().with_aliases(["last"]));
}

/// The UTC calendar day of a timestamp, as days since 1970-01-01.
fn utc_day(args: &[ColumnarValue]) -> datafusion::error::Result<ColumnarValue> {
    let day = |us: i64| us.div_euclid(MICROS_PER_DAY) as i32;
    match args {
        [ColumnarValue::Array(array)] => {
            let Some(ts) = array.as_any().downcast_ref::<TimestampMicrosecondArray>() else {
                return exec_err!("utc_day expects a timestamp, got {}", array.data_type());
            };
            let days: Int32Array = ts.unary(day);
            Ok(ColumnarValue::Array(Arc::new(days) as ArrayRef))
        }
        [ColumnarValue::Scalar(ScalarValue::TimestampMicrosecond(us, _))] => {
            Ok(ColumnarValue::Scalar(ScalarValue::Int32(us.map(day))))
        }
        _ => exec_err!("utc_day expects one timestamp argument"),
    }
}

/// Lets the session read the lake's URL (a local folder needs nothing; an
/// object store is registered under its URL).
fn register_lake_store(ctx: &SessionContext, lake: &Lake) -> Result<()> {
    let url = url::Url::parse(lake.url()).map_err(|e| JobsError::Manifest {
        path: lake.url().to_string(),
        reason: format!("not a URL: {e}"),
    })?;
    if url.scheme() == "file" {
        return Ok(());
    }
    let (store, _) = object_store::parse_url(&url).map_err(|e| JobsError::Manifest {
        path: lake.url().to_string(),
        reason: format!("no object store for this URL: {e}"),
    })?;
    ctx.register_object_store(&url, Arc::from(store));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn utc_day_and_first_last_work_in_sql() {
        let ctx = SessionContext::new();
        register_functions(&ctx);
        let batches = ctx
            .sql(
                "SELECT utc_day(CAST('1997-09-30T23:59:59.999999Z' AS TIMESTAMP(6) WITH TIME ZONE)) AS d, \
                 first(v ORDER BY t) AS f, last(v ORDER BY t) AS l \
                 FROM (VALUES (2, 'b'), (1, 'a'), (3, 'c')) AS x(t, v)",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        assert!(text.contains("| 10134 | a | c |"), "{text}");
    }
}
