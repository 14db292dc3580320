//! The DataFusion session of a build: engine settings, the functions the job
//! SQL uses beside standard SQL, and the lake's object store.

use std::sync::Arc;

use datafusion::arrow::array::{
    make_comparator, Array, ArrayRef, AsArray, Int32Array, ListArray, TimestampMicrosecondArray,
    UInt32Array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::{take, SortOptions};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{exec_err, plan_err, ScalarValue};
use datafusion::execution::context::SessionContext;
use datafusion::functions_aggregate::first_last::{first_value_udaf, last_value_udaf};
use datafusion::logical_expr::{
    create_udf, ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
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

/// `utc_day(ts)`, `array_sort(list)`, and `first`/`last` as names of
/// DataFusion's ordered `first_value`/`last_value` aggregates (the names
/// DuckDB uses), so that the job SQL runs unchanged in both engines.
pub fn register_functions(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(ArraySort::new()));
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

/// `array_sort(list)`: each list's elements in ascending order, nulls last,
/// as DuckDB's `array_sort`. DataFusion has one only with its
/// `nested_expressions` feature, which would rebuild DataFusion for one
/// function. With it, `array_sort(array_agg(x))` replaces
/// `array_agg(x ORDER BY x)`, which DataFusion evaluates with one boxed
/// accumulator per group (12 s of a 22 s profile build on 1M persons).
#[derive(Debug, PartialEq, Eq, Hash)]
struct ArraySort {
    signature: Signature,
}

impl ArraySort {
    fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ArraySort {
    fn name(&self) -> &str {
        "array_sort"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> datafusion::error::Result<DataType> {
        match args {
            [list @ DataType::List(_)] => Ok(list.clone()),
            _ => plan_err!("array_sort expects one list, got {args:?}"),
        }
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let scalar_input = matches!(args.args.as_slice(), [ColumnarValue::Scalar(_)]);
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [array] = arrays.as_slice() else {
            return exec_err!("array_sort expects one argument");
        };
        let Some(list) = array.as_list_opt::<i32>() else {
            return exec_err!("array_sort expects a list, got {}", array.data_type());
        };
        let sorted = sort_each_list(list)?;
        Ok(if scalar_input {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&sorted, 0)?)
        } else {
            ColumnarValue::Array(Arc::new(sorted))
        })
    }
}

/// One `take` over the list values, permuted list by list.
fn sort_each_list(list: &ListArray) -> datafusion::error::Result<ListArray> {
    let offsets = list.value_offsets();
    let (first, last) = (offsets[0] as usize, offsets[offsets.len() - 1] as usize);
    let values = list.values();
    let options = SortOptions {
        descending: false,
        nulls_first: false,
    };
    let compare = make_comparator(values.as_ref(), values.as_ref(), options)?;
    let mut order: Vec<u32> = (first as u32..last as u32).collect();
    for w in offsets.windows(2) {
        let (a, b) = (w[0] as usize - first, w[1] as usize - first);
        order[a..b].sort_unstable_by(|&x, &y| compare(x as usize, y as usize));
    }
    let sorted = take(values.as_ref(), &UInt32Array::from(order), None)?;
    let rebased = OffsetBuffer::new(offsets.iter().map(|&o| o - first as i32).collect());
    let field = match list.data_type() {
        DataType::List(field) => field.clone(),
        other => return exec_err!("array_sort expects a list, got {other}"),
    };
    Ok(ListArray::try_new(
        field,
        rebased,
        sorted,
        list.nulls().cloned(),
    )?)
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

    /// The result of `sql` in a session with our functions, as a text table.
    async fn run(sql: &str) -> String {
        let ctx = SessionContext::new();
        register_functions(&ctx);
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn utc_day_and_first_last_work_in_sql() {
        let text = run(
                "SELECT utc_day(CAST('1997-09-30T23:59:59.999999Z' AS TIMESTAMP(6) WITH TIME ZONE)) AS d, \
                 first(v ORDER BY t) AS f, last(v ORDER BY t) AS l \
                 FROM (VALUES (2, 'b'), (1, 'a'), (3, 'c')) AS x(t, v)",
        )
        .await;
        assert!(text.contains("| 10134 | a | c |"), "{text}");
    }

    #[tokio::test]
    async fn array_sort_sorts_each_list_as_duckdb_does() {
        let text = run(
                "SELECT k, array_sort(array_agg(v)) AS s FROM \
                 (VALUES (1, 'h5'), (1, 'android'), (2, 'z'), (1, 'ios'), (2, 'a'), (3, 'm')) AS x(k, v) \
                 GROUP BY k ORDER BY k",
        )
        .await;
        let rows: Vec<String> = text
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        for row in [
            "| 1 | [android, h5, ios] |",
            "| 2 | [a, z] |",
            "| 3 | [m] |",
        ] {
            assert!(rows.iter().any(|r| r == row), "{row} missing:\n{text}");
        }
    }

    #[test]
    fn array_sort_keeps_null_lists_and_sliced_offsets() {
        use datafusion::arrow::array::StringArray;
        use datafusion::arrow::buffer::NullBuffer;
        use datafusion::arrow::datatypes::Field;
        let values = StringArray::from(vec!["x", "c", "a", "b", "q"]);
        let list = ListArray::new(
            Arc::new(Field::new("item", DataType::Utf8, true)),
            OffsetBuffer::new(vec![0, 1, 4, 4, 5].into()),
            Arc::new(values),
            Some(NullBuffer::from(vec![true, true, false, true])),
        );
        let sliced = list.slice(1, 3);
        let sorted = sort_each_list(&sliced).unwrap();
        assert_eq!(sorted.len(), 3);
        let first = sorted.value(0);
        let first = first.as_string::<i32>();
        assert_eq!(first.iter().flatten().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(sorted.is_null(1));
        assert_eq!(sorted.value(2).as_string::<i32>().value(0), "q");
    }
}
