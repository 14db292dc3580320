//! The `ltv` and `ltv_model` tables: purchases (purchases.sql) through the
//! models (`ltv_models.rs`), joined to the profiles (ltv.sql).

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    Array, AsArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Float64Type, Int32Type, Int64Type, Schema, SchemaRef,
};
use datafusion::execution::context::SessionContext;

use cdp_ltv::TimeUnit;

use crate::error::{JobsError, Result};
use crate::ltv_models::{self, CustomerValue, ModelOutput, ModelParam};
use crate::sql::{self, SqlParams};
use crate::tags::{run, Collected};

pub const LTV_TABLE: &str = "ltv";
pub const LTV_MODEL_TABLE: &str = "ltv_model";
const PREDICTIONS_TABLE: &str = "ltv_predictions";

/// What the demo and the command print.
#[derive(Debug, Clone, PartialEq)]
pub struct LtvSummary {
    pub customers: u64,
    pub params: Vec<ModelParam>,
    pub mean_p_alive: f64,
    pub expected_purchases_365d: f64,
    pub predicted_clv_365d: f64,
    /// (band, customers), sorted by band.
    pub churn_risk: Vec<(String, u64)>,
}

impl LtvSummary {
    fn of(output: &ModelOutput) -> Self {
        let n = output.customers.len();
        let mut bands = std::collections::BTreeMap::<String, u64>::new();
        for c in &output.customers {
            *bands.entry(c.churn_risk.to_string()).or_default() += 1;
        }
        Self {
            customers: n as u64,
            params: output.params.clone(),
            mean_p_alive: if n == 0 {
                0.0
            } else {
                output.customers.iter().map(|c| c.p_alive).sum::<f64>() / n as f64
            },
            expected_purchases_365d: output
                .customers
                .iter()
                .map(|c| c.expected_purchases_365d)
                .sum(),
            predicted_clv_365d: output.customers.iter().map(|c| c.predicted_clv_365d).sum(),
            churn_risk: bands.into_iter().collect(),
        }
    }
}

/// Net orders as (one_key, UTC day, amount), sorted.
pub async fn purchases(ctx: &SessionContext, params: &SqlParams) -> Result<Vec<(i64, i32, f64)>> {
    let batches = run(ctx, &sql::PURCHASES, params).await?.batches;
    let mut out = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for b in &batches {
        let column = |name: &'static str, want: DataType| -> Result<&dyn Array> {
            let c = b.column_by_name(name).ok_or(JobsError::Column {
                table: "purchases",
                column: name,
                reason: "missing from purchases.sql".into(),
            })?;
            if c.data_type() != &want {
                return Err(JobsError::Column {
                    table: "purchases",
                    column: name,
                    reason: format!("{} instead of {want}", c.data_type()),
                });
            }
            Ok(c.as_ref())
        };
        let keys = column("one_key", DataType::Int64)?.as_primitive::<Int64Type>();
        let days = column("day", DataType::Int32)?.as_primitive::<Int32Type>();
        let amounts = column("amount", DataType::Float64)?.as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            out.push((keys.value(i), days.value(i), amounts.value(i)));
        }
    }
    Ok(out)
}

/// Fits and predicts (on a blocking thread: it is pure number crunching),
/// then builds `ltv` and `ltv_model`.
pub async fn compute(
    ctx: &SessionContext,
    params: &SqlParams,
    as_of: NaiveDate,
    unit: TimeUnit,
    discount_rate: f64,
    threads: usize,
) -> Result<(Collected, RecordBatch, LtvSummary)> {
    let purchases = purchases(ctx, params).await?;
    let as_of_day = params.as_of_day;
    let output = tokio::task::spawn_blocking(move || {
        ltv_models::fit_and_predict(&purchases, as_of_day, unit, discount_rate, threads)
    })
    .await
    .map_err(|e| JobsError::Task(e.to_string()))??;
    ctx.register_batch(PREDICTIONS_TABLE, predictions_batch(&output.customers)?)
        .map_err(JobsError::query("registering ltv_predictions"))?;
    let ltv = run(ctx, &sql::LTV, params).await?;
    let model = model_batch(&output.params, unit, as_of)?;
    Ok((ltv, model, LtvSummary::of(&output)))
}

fn arrow_err(table: &'static str) -> impl Fn(datafusion::arrow::error::ArrowError) -> JobsError {
    move |e| JobsError::Column {
        table,
        column: "*",
        reason: format!("{e} (our bug)"),
    }
}

pub fn predictions_schema() -> SchemaRef {
    let f = |name: &str| Field::new(name, DataType::Float64, false);
    Arc::new(Schema::new(vec![
        Field::new("one_key", DataType::Int64, false),
        f("frequency"),
        f("recency"),
        f("age"),
        f("mean_repeat_spend"),
        f("p_alive"),
        f("expected_purchases_90d"),
        f("expected_purchases_365d"),
        f("expected_average_spend"),
        f("predicted_clv_365d"),
        Field::new("churn_risk", DataType::Utf8, false),
    ]))
}

fn predictions_batch(customers: &[CustomerValue]) -> Result<RecordBatch> {
    let floats = |get: fn(&CustomerValue) -> f64| -> Arc<dyn Array> {
        Arc::new(Float64Array::from_iter_values(customers.iter().map(get)))
    };
    RecordBatch::try_new(
        predictions_schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(
                customers.iter().map(|c| c.one_key),
            )),
            floats(|c| c.rfm.frequency),
            floats(|c| c.rfm.recency),
            floats(|c| c.rfm.age),
            floats(|c| c.rfm.monetary),
            floats(|c| c.p_alive),
            floats(|c| c.expected_purchases_90d),
            floats(|c| c.expected_purchases_365d),
            floats(|c| c.expected_average_spend),
            floats(|c| c.predicted_clv_365d),
            Arc::new(StringArray::from_iter_values(
                customers.iter().map(|c| c.churn_risk),
            )),
        ],
    )
    .map_err(arrow_err(PREDICTIONS_TABLE))
}

pub fn model_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("param", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        Field::new("log_likelihood", DataType::Float64, false),
        Field::new("customers", DataType::Int64, false),
        Field::new("time_unit", DataType::Utf8, false),
        Field::new("as_of", DataType::Date32, false),
    ]))
}

fn model_batch(params: &[ModelParam], unit: TimeUnit, as_of: NaiveDate) -> Result<RecordBatch> {
    let n = params.len();
    RecordBatch::try_new(
        model_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(
                params.iter().map(|p| p.model),
            )),
            Arc::new(StringArray::from_iter_values(
                params.iter().map(|p| p.param),
            )),
            Arc::new(Float64Array::from_iter_values(
                params.iter().map(|p| p.value),
            )),
            Arc::new(Float64Array::from_iter_values(
                params.iter().map(|p| p.log_likelihood),
            )),
            Arc::new(Int64Array::from_iter_values(
                params.iter().map(|p| p.customers as i64),
            )),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                unit.as_str(),
                n,
            ))),
            Arc::new(Date32Array::from_iter_values(std::iter::repeat_n(
                sql::day_number(as_of),
                n,
            ))),
        ],
    )
    .map_err(arrow_err(LTV_MODEL_TABLE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdp_ltv::Rfm;

    fn output() -> ModelOutput {
        let customer = |one_key, p_alive, band: &'static str| CustomerValue {
            one_key,
            rfm: Rfm {
                frequency: 2.0,
                recency: 30.43,
                age: 38.86,
                monetary: 20.0,
            },
            p_alive,
            expected_purchases_90d: 0.5,
            expected_purchases_365d: 1.5,
            expected_average_spend: 21.0,
            predicted_clv_365d: 30.0,
            churn_risk: band,
        };
        ModelOutput {
            params: vec![
                ModelParam {
                    model: "bgnbd",
                    param: "r",
                    value: 0.243,
                    log_likelihood: -9582.4,
                    customers: 2,
                },
                ModelParam {
                    model: "gamma_gamma",
                    param: "p",
                    value: 6.25,
                    log_likelihood: -100.0,
                    customers: 1,
                },
            ],
            customers: vec![customer(1, 0.9, "low"), customer(7, 0.3, "high")],
        }
    }

    #[test]
    fn model_rows_carry_unit_and_as_of() {
        let as_of = NaiveDate::from_ymd_opt(1997, 9, 30).unwrap();
        let b = model_batch(&output().params, TimeUnit::Week, as_of).unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.schema(), model_schema());
        let unit = b.column_by_name("time_unit").unwrap().as_string::<i32>();
        assert_eq!(unit.value(1), "week");
        let day = b
            .column_by_name("as_of")
            .unwrap()
            .as_primitive::<datafusion::arrow::datatypes::Date32Type>();
        assert_eq!(day.value(0), 10134);
    }

    #[test]
    fn predictions_and_summary_keep_every_customer() {
        let out = output();
        let b = predictions_batch(&out.customers).unwrap();
        assert_eq!(b.num_rows(), 2);
        let s = LtvSummary::of(&out);
        assert_eq!(s.customers, 2);
        assert!((s.mean_p_alive - 0.6).abs() < 1e-12);
        assert_eq!(s.churn_risk, vec![("high".into(), 1), ("low".into(), 1)]);
        assert!((s.predicted_clv_365d - 60.0).abs() < 1e-12);
    }

    #[test]
    fn the_models_fit_and_predict_every_customer() {
        // The CDNOW sample's purchases straight into the models (the
        // integration tests take them through ingest, resolve and build).
        let cdnow = include_str!("../fixtures/CDNOW_sample.txt");
        let mut purchases = Vec::new();
        for line in cdnow.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let day = NaiveDate::parse_from_str(f[2], "%Y%m%d").unwrap();
            purchases.push((
                f[0].parse().unwrap(),
                sql::day_number(day),
                f[4].parse().unwrap(),
            ));
        }
        let as_of = sql::day_number(NaiveDate::from_ymd_opt(1997, 9, 30).unwrap());
        let out = ltv_models::fit_and_predict(&purchases, as_of, TimeUnit::Week, 0.1, 1).unwrap();
        assert_eq!(out.customers.len(), 2357);
        let names: Vec<_> = out.params.iter().map(|p| (p.model, p.param)).collect();
        assert_eq!(
            names,
            [
                ("bgnbd", "r"),
                ("bgnbd", "alpha"),
                ("bgnbd", "a"),
                ("bgnbd", "b"),
                ("gamma_gamma", "p"),
                ("gamma_gamma", "q"),
                ("gamma_gamma", "gamma")
            ]
        );
        assert!(
            (out.params[0].value - 0.243).abs() < 1e-3,
            "{:?}",
            out.params[0]
        );
        assert_eq!(out.params[4].customers, 946, "Gamma-Gamma on the repeaters");
        assert!(out
            .customers
            .windows(2)
            .all(|w| w[0].one_key < w[1].one_key));
        assert!(out.customers.iter().all(|c| c.predicted_clv_365d >= 0.0
            && (0.0..=1.0).contains(&c.p_alive)
            && c.expected_purchases_365d >= c.expected_purchases_90d));
    }
}
