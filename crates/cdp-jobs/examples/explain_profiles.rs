//! Prints DataFusion's `EXPLAIN ANALYZE` of the profile query over a lake:
//! where a build spends its time, operator by operator.
//!
//! ```sh
//! cargo run --release -p cdp-jobs --example explain_profiles -- LAKE AS_OF [THREADS]
//! ```
//!
//! `PROFILES_SQL=FILE` runs that file instead of `pipelines/sql/profiles.sql`
//! as compiled in (parameters filled in the same way), to try a change
//! without rebuilding; `DF_SET="key=value;…"` runs `SET key = value` for
//! each pair before the tables are registered (engine options).

use cdp_jobs::sql::{SqlFile, SqlParams, ORDERS, PROFILES};
use cdp_lake::Lake;
use chrono::NaiveDate;
use datafusion::arrow::util::pretty::pretty_format_batches;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let lake = args
        .next()
        .ok_or("usage: explain_profiles LAKE AS_OF [THREADS]")?;
    let as_of: NaiveDate = args.next().ok_or("AS_OF missing")?.parse()?;
    let threads: usize = args.next().map(|t| t.parse()).transpose()?.unwrap_or(2);
    let lake = Lake::open(&lake)?;
    let ctx = cdp_jobs::session::new_session(&lake, threads)?;
    for pair in std::env::var("DF_SET").unwrap_or_default().split(';') {
        if let Some((key, value)) = pair.split_once('=') {
            ctx.sql(&format!("SET {key} = {value}"))
                .await?
                .collect()
                .await?;
        }
    }
    cdp_jobs::resolved_events::register(&ctx, &lake, as_of).await?;
    let params = SqlParams::for_as_of(as_of);
    ctx.sql(&format!("CREATE VIEW orders AS {}", ORDERS.render(&params)))
        .await?
        .collect()
        .await?;
    let profiles = match std::env::var_os("PROFILES_SQL") {
        Some(path) => SqlFile {
            name: "profiles.sql",
            text: std::fs::read_to_string(path)?.leak(),
        },
        None => PROFILES,
    };
    let started = std::time::Instant::now();
    let plan = ctx
        .sql(&format!("EXPLAIN ANALYZE {}", profiles.render(&params)))
        .await?
        .collect()
        .await?;
    println!("{}", pretty_format_batches(&plan)?);
    println!("profiles query: {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
