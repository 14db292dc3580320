//! The report's SQL (`pipelines/sql/report/*.sql`, compiled in) and typed
//! access to a query's result columns.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::execution::context::SessionContext;

use crate::error::{ReportError, Result};

/// One SQL file of `pipelines/sql/report/`.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub name: &'static str,
    pub text: &'static str,
}

macro_rules! report_sql {
    ($($konst:ident = $file:literal;)*) => {
        $(pub const $konst: Query = Query {
            name: $file,
            text: include_str!(concat!("../../../pipelines/sql/report/", $file)),
        };)*
        /// Every report query.
        pub const ALL: &[Query] = &[$($konst),*];
    };
}

report_sql! {
    OVERVIEW = "overview.sql";
    EVENTS_BY_SOURCE = "events_by_source.sql";
    DEAD_LETTER_REASONS = "dead_letter_reasons.sql";
    IDENTIFIERS_PER_ONE_ID = "identifiers_per_one_id.sql";
    LARGEST_COMPONENTS = "largest_components.sql";
    REFUSED_MERGES = "refused_merges.sql";
    MERGES_OVER_TIME = "merges_over_time.sql";
    LIFECYCLE_FUNNEL = "lifecycle_funnel.sql";
    ACQUISITION_CHANNELS = "acquisition_channels.sql";
    LTV_DISTRIBUTION = "ltv_distribution.sql";
    P_ALIVE_DISTRIBUTION = "p_alive_distribution.sql";
    EXCLUSIVE_COVERAGE = "exclusive_coverage.sql";
}

/// A query's result in one batch.
pub struct Rows {
    query: &'static str,
    batch: RecordBatch,
}

impl Query {
    pub async fn run(&self, ctx: &SessionContext) -> Result<Rows> {
        let df = ctx
            .sql(self.text)
            .await
            .map_err(ReportError::query(self.name))?;
        let planned = std::sync::Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.map_err(ReportError::query(self.name))?;
        let schema = batches.first().map_or(planned, RecordBatch::schema);
        let batch = concat_batches(&schema, &batches)
            .map_err(|e| ReportError::query(self.name)(e.into()))?;
        Ok(Rows {
            query: self.name,
            batch,
        })
    }
}

impl Rows {
    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn column(&self, name: &'static str, to: &DataType) -> Result<std::sync::Arc<dyn Array>> {
        let column = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| ReportError::Column {
                query: self.query,
                column: name,
                reason: "not in the result".into(),
            })?;
        cast(column, to).map_err(|e| ReportError::Column {
            query: self.query,
            column: name,
            reason: e.to_string(),
        })
    }

    /// A column as text (timestamps as RFC 3339); nulls are `None`.
    pub fn text(&self, name: &'static str) -> Result<Vec<Option<String>>> {
        let column = self.column(name, &DataType::Utf8)?;
        Ok(column
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect())
    }

    /// A column as numbers; nulls are `None`.
    pub fn float(&self, name: &'static str) -> Result<Vec<Option<f64>>> {
        let column = self.column(name, &DataType::Float64)?;
        Ok(column.as_primitive::<Float64Type>().iter().collect())
    }

    /// A column as integers; nulls are 0 (counts).
    pub fn count(&self, name: &'static str) -> Result<Vec<u64>> {
        let column = self.column(name, &DataType::Int64)?;
        Ok(column
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.unwrap_or(0).max(0) as u64)
            .collect())
    }
}
