//! Tags: the rules of `[[tag_group]]` (built-ins in
//! `pipelines/builtin_tags.toml`) evaluated over the `profiles` table into
//! the long table `tags` (one_key, one_id, tag_group, tag).
//!
//! An exclusive group becomes one `CASE WHEN … END` over every profile, so
//! that each one_id gets exactly one tag by construction; a multi-valued
//! group becomes one `SELECT … WHERE rule` per rule. `tag_coverage` then
//! counts what came out and proves the exclusive groups cover every one_id.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::ExprSchemable;

use cdp_config::{BuildConfig, TagGroup, TagGroupKind};

use crate::error::{JobsError, Result};
use crate::sql::{SqlFile, SqlParams, TAG_CUTOFFS};

pub const TAGS_TABLE: &str = "tags";
pub const TAG_GROUPS_TABLE: &str = "tag_groups";

/// The values of the `{placeholders}` of tag rules for one build.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub dormant_after_days: f64,
    pub churned_after_days: f64,
    pub rfm_recency_days: Option<f64>,
    pub rfm_frequency_orders: Option<f64>,
    pub rfm_monetary_yuan: Option<f64>,
    pub value_tier_a_min_yuan: Option<f64>,
    pub value_tier_b_min_yuan: Option<f64>,
}

impl Thresholds {
    fn value(&self, name: &str) -> Option<Option<f64>> {
        Some(match name {
            "dormant_after_days" => Some(self.dormant_after_days),
            "churned_after_days" => Some(self.churned_after_days),
            "rfm_recency_days" => self.rfm_recency_days,
            "rfm_frequency_orders" => self.rfm_frequency_orders,
            "rfm_monetary_yuan" => self.rfm_monetary_yuan,
            "value_tier_a_min_yuan" => self.value_tier_a_min_yuan,
            "value_tier_b_min_yuan" => self.value_tier_b_min_yuan,
            _ => return None,
        })
    }

    /// `when` with its placeholders replaced by numbers (`NULL` when there is
    /// no customer to take a median of: the rule then matches nobody).
    pub fn fill(&self, when: &str) -> std::result::Result<String, String> {
        let mut out = String::with_capacity(when.len());
        let mut rest = when;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| "an unclosed `{`".to_string())?;
            let name = &after[..close];
            let value = self
                .value(name)
                .ok_or_else(|| format!("unknown placeholder {{{name}}}"))?;
            match value {
                Some(v) => out.push_str(&format_number(v)),
                None => out.push_str("NULL"),
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// A number as a SQL literal: shortest round-trip form, never exponent.
fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// The thresholds: configured values, else the medians of
/// `tag_cutoffs.sql` and the value-tier quantiles of the customers.
pub async fn thresholds(
    ctx: &SessionContext,
    config: &BuildConfig,
    params: &SqlParams,
) -> Result<Thresholds> {
    let cutoffs = run(ctx, &TAG_CUTOFFS, params).await?.batches;
    let median = |name: &'static str| -> Result<Option<f64>> {
        let batch = cutoffs.first().filter(|b| b.num_rows() == 1);
        let Some(batch) = batch else { return Ok(None) };
        let column = batch.column_by_name(name).ok_or(JobsError::Column {
            table: "tag_cutoffs",
            column: name,
            reason: "missing from tag_cutoffs.sql".into(),
        })?;
        let values = column
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| JobsError::Column {
                table: "tag_cutoffs",
                column: name,
                reason: format!("{} instead of DOUBLE", column.data_type()),
            })?;
        Ok((!values.is_null(0)).then(|| values.value(0)))
    };
    let (tier_a, tier_b) = value_tier_cutoffs(ctx, config).await?;
    Ok(Thresholds {
        dormant_after_days: config.dormant_after_days.into(),
        churned_after_days: config.churned_after_days.into(),
        rfm_recency_days: config
            .rfm_recency_days
            .map_or_else(|| median("rfm_recency_days"), |v| Ok(Some(v)))?,
        rfm_frequency_orders: config
            .rfm_frequency_orders
            .map_or_else(|| median("rfm_frequency_orders"), |v| Ok(Some(v)))?,
        rfm_monetary_yuan: config
            .rfm_monetary_yuan
            .map_or_else(|| median("rfm_monetary_yuan"), |v| Ok(Some(v)))?,
        value_tier_a_min_yuan: config.value_tier_a_min_yuan.or(tier_a),
        value_tier_b_min_yuan: config.value_tier_b_min_yuan.or(tier_b),
    })
}

/// The net revenue from which the top `value_tier_a_share` of customers
/// (then the next `value_tier_b_share`) are in tier A (then B): the revenue
/// of the last customer inside the share, customers sorted by revenue
/// descending. Ties at that value are all inside.
async fn value_tier_cutoffs(
    ctx: &SessionContext,
    config: &BuildConfig,
) -> Result<(Option<f64>, Option<f64>)> {
    let query = "profiles: customers' net revenue";
    let batches = ctx
        .sql("SELECT CAST(net_revenue AS DOUBLE) AS r FROM profiles WHERE orders >= 1")
        .await
        .map_err(JobsError::query(query))?
        .collect()
        .await
        .map_err(JobsError::query(query))?;
    let mut revenue: Vec<f64> = Vec::new();
    for b in &batches {
        revenue.extend(b.column(0).as_primitive::<Float64Type>().values().iter());
    }
    revenue.sort_by(|a, b| b.total_cmp(a));
    let at_share = |share: f64| -> Option<f64> {
        if revenue.is_empty() {
            return None;
        }
        let n = (share * revenue.len() as f64).ceil().max(1.0) as usize;
        Some(revenue[n.min(revenue.len()) - 1])
    };
    Ok((
        at_share(config.value_tier_a_share),
        at_share(config.value_tier_a_share + config.value_tier_b_share),
    ))
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One group's tags as a query over `profiles`, rows sorted by one_key.
pub fn group_sql(group: &TagGroup, thresholds: &Thresholds) -> Result<String> {
    let mut conditions = Vec::with_capacity(group.rule.len());
    for r in &group.rule {
        let when = thresholds
            .fill(&r.when)
            .map_err(|reason| JobsError::TagRule {
                group: group.name.clone(),
                tag: r.tag.clone(),
                when: r.when.clone(),
                reason,
            })?;
        conditions.push((r.tag.as_str(), when));
    }
    let name = quote(&group.name);
    Ok(match group.kind {
        TagGroupKind::Exclusive => {
            let default = quote(group.default.as_deref().unwrap_or_default());
            let tag = if conditions.is_empty() {
                default
            } else {
                let whens: String = conditions
                    .iter()
                    .map(|(tag, when)| format!("\n        WHEN ({when}) THEN {}", quote(tag)))
                    .collect();
                format!("CASE{whens}\n        ELSE {default}\n    END")
            };
            format!(
                "SELECT one_key, one_id, {name} AS tag_group,\n    {tag} AS tag\nFROM profiles\nORDER BY one_key"
            )
        }
        TagGroupKind::Multi => {
            let selects: Vec<String> = conditions
                .iter()
                .map(|(tag, when)| {
                    format!(
                        "    SELECT one_key, one_id, {name} AS tag_group, {} AS tag FROM profiles WHERE ({when})",
                        quote(tag)
                    )
                })
                .collect();
            format!(
                "SELECT one_key, one_id, tag_group, tag FROM (\n{}\n) AS rules\nORDER BY one_key, tag",
                selects.join("\n    UNION ALL\n")
            )
        }
    })
}

/// Checks every rule against the profile columns before anything runs: a
/// single boolean expression, known columns. Errors name group and rule.
pub fn check_rules(
    ctx: &SessionContext,
    profiles: &DFSchema,
    groups: &[TagGroup],
    thresholds: &Thresholds,
) -> Result<()> {
    for g in groups {
        for r in &g.rule {
            let bad = |reason: String| JobsError::TagRule {
                group: g.name.clone(),
                tag: r.tag.clone(),
                when: r.when.clone(),
                reason,
            };
            let when = thresholds.fill(&r.when).map_err(bad)?;
            let expr = ctx
                .parse_sql_expr(&when, profiles)
                .map_err(|e| bad(e.to_string()))?;
            let (_, field) = expr.to_field(profiles).map_err(|e| bad(e.to_string()))?;
            let data_type = field.data_type();
            if data_type != &DataType::Boolean {
                return Err(bad(format!("is {data_type}, not a boolean")));
            }
        }
    }
    Ok(())
}

/// Rows of a query with the schema its plan declares, so that a query
/// returning no rows still names its columns.
pub struct Collected {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

/// Every group's tags, group after group in config order; the columns are
/// those the first group's query declares (the built-in groups are always
/// there, so there is a first).
pub async fn compute(
    ctx: &SessionContext,
    groups: &[TagGroup],
    thresholds: &Thresholds,
) -> Result<(Vec<String>, Collected)> {
    let mut statements = Vec::with_capacity(groups.len());
    let mut tags: Option<Collected> = None;
    for g in groups {
        let sql = group_sql(g, thresholds)?;
        let query = format!("tag group {}", g.name);
        let group = collect(ctx, &sql, &query).await?;
        match &mut tags {
            None => tags = Some(group),
            Some(tags) => tags.batches.extend(group.batches),
        }
        statements.push(sql);
    }
    let tags = tags.ok_or_else(|| JobsError::Task("no tag group to compute (our bug)".into()))?;
    Ok((statements, tags))
}

/// Registers the group list (`tag_group`, `kind`, `position`) that
/// tag_coverage.sql reads.
pub fn register_groups(ctx: &SessionContext, groups: &[TagGroup]) -> Result<()> {
    use datafusion::arrow::array::{Int32Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    let schema = Arc::new(Schema::new(vec![
        Field::new("tag_group", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("position", DataType::Int32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(
                groups.iter().map(|g| g.name.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                groups.iter().map(|g| g.kind.as_str()),
            )),
            Arc::new(Int32Array::from_iter_values(0..groups.len() as i32)),
        ],
    )
    .map_err(|e| JobsError::Column {
        table: "tag_groups",
        column: "*",
        reason: format!("{e} (our bug)"),
    })?;
    ctx.register_batch(TAG_GROUPS_TABLE, batch)
        .map_err(JobsError::query("registering tag_groups"))?;
    Ok(())
}

/// Runs one SQL file and collects its rows.
pub async fn run(ctx: &SessionContext, file: &SqlFile, params: &SqlParams) -> Result<Collected> {
    collect(ctx, &file.render(params), file.name).await
}

/// Runs a query and collects its rows; `query` names it in errors.
pub async fn collect(ctx: &SessionContext, sql: &str, query: &str) -> Result<Collected> {
    let df = ctx.sql(sql).await.map_err(JobsError::query(query))?;
    let task = Arc::new(df.task_ctx());
    let plan = df
        .create_physical_plan()
        .await
        .map_err(JobsError::query(query))?;
    let schema = plan.schema();
    let batches = datafusion::physical_plan::collect(plan, task)
        .await
        .map_err(JobsError::query(query))?;
    Ok(Collected { schema, batches })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thresholds() -> Thresholds {
        Thresholds {
            dormant_after_days: 90.0,
            churned_after_days: 180.0,
            rfm_recency_days: Some(45.5),
            rfm_frequency_orders: Some(1.0),
            rfm_monetary_yuan: None,
            value_tier_a_min_yuan: Some(1000.0),
            value_tier_b_min_yuan: Some(250.25),
        }
    }

    #[test]
    fn placeholders_become_numbers_or_null() {
        let t = thresholds();
        assert_eq!(
            t.fill(
                "d > {dormant_after_days} AND r < {rfm_recency_days} AND m > {rfm_monetary_yuan}"
            )
            .unwrap(),
            "d > 90 AND r < 45.5 AND m > NULL"
        );
        assert!(t.fill("x > {nope}").unwrap_err().contains("{nope}"));
    }

    #[test]
    fn an_exclusive_group_is_one_case_with_its_default() {
        let group = TagGroup {
            name: "tier".into(),
            kind: TagGroupKind::Exclusive,
            default: Some("C".into()),
            rule: vec![cdp_config::TagRule {
                tag: "A'1".into(),
                when: "net_revenue >= {value_tier_a_min_yuan}".into(),
            }],
        };
        let sql = group_sql(&group, &thresholds()).unwrap();
        assert!(
            sql.contains("WHEN (net_revenue >= 1000) THEN 'A''1'"),
            "{sql}"
        );
        assert!(sql.contains("ELSE 'C'"), "{sql}");
    }
}
