//! The LTV oracle: the CDNOW sample (fixtures/CDNOW_sample.txt, 2,357
//! customers of Fader, Hardie & Lee 2005) as reference transactions — one
//! `paid` order per line, the customer id as `buyer.member_id`, the day's
//! date, total_amount the dollar value — through ingest → resolve →
//! `build --as-of 1997-09-30 --ltv-time-unit week`, checked against every
//! figure of the published table (shared/data/cdnow/README.md).
//! Resolve is the real one (`cdp_identity::resolve`, as `cdp resolve` runs
//! it): one one_id per member_id.

use std::collections::BTreeMap;

use cdp_config::PipelineConfig;
use cdp_lake::Lake;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Float64Type;

use crate::support::{int_column, read_table};

const CDNOW: &str = include_str!("../../fixtures/CDNOW_sample.txt");

/// Each CDNOW line as a reference `paid` transaction at noon UTC of its day.
fn cdnow_transactions_jsonl() -> String {
    let mut out = String::new();
    for (n, line) in CDNOW.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [customer, _sample, date, _cds, dollars] = fields[..] else {
            panic!("line {}: {line:?}", n + 1);
        };
        let day = format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..8]);
        let amount: f64 = dollars.parse().unwrap();
        out.push_str(&format!(
            concat!(
                r#"{{"order_id":"CDNOW-{n}","status":"paid","updated_at":"{day}T12:00:00Z","#,
                r#""paid_at":"{day}T12:00:00Z","buyer":{{"member_id":"{customer}"}},"#,
                r#""total_amount":"{amount:.2}","currency":"USD"}}"#,
                "\n"
            ),
            n = n + 1,
            day = day,
            customer = customer,
            amount = amount
        ));
    }
    out
}

/// ingest → resolve → build as of 1997-09-30 in weeks.
async fn cdnow_build(skip_ltv: bool) -> (tempfile::TempDir, Lake, cdp_jobs::BuildReport) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("transaction.jsonl");
    std::fs::write(&input, cdnow_transactions_jsonl()).unwrap();
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    let config = PipelineConfig::default();
    let spec =
        cdp_ingest::InputSpec::parse(&format!("transaction={}", input.display()), &config).unwrap();
    let report = cdp_ingest::ingest_files(&lake, &config, vec![spec])
        .await
        .unwrap();
    assert!(report.balanced);
    assert_eq!(report.sources[0].accepted, 6919, "{report:?}");
    let identity = cdp_identity::resolve(&lake, &config.identity_config())
        .await
        .unwrap();
    assert_eq!(identity.one_ids, 2357, "{identity:?}");
    let request = cdp_jobs::BuildRequest {
        as_of: chrono::NaiveDate::from_ymd_opt(1997, 9, 30).unwrap(),
        ltv_time_unit: cdp_ltv::TimeUnit::Week,
        skip_ltv,
        emit_sql: None,
    };
    let build = cdp_jobs::build(&lake, &config, &request).await.unwrap();
    (dir, lake, build)
}

#[tokio::test]
async fn cdnow_customers_and_repeat_purchase_days_match_the_published_counts() {
    let (_dir, lake, report) = cdnow_build(true).await;
    assert_eq!(
        report.profiles, 2357,
        "customers who bought in the calibration period"
    );
    let profiles = read_table(&lake, "profiles").await;
    let purchase_days = int_column(&profiles, "purchase_days");
    let x: Vec<i64> = purchase_days.iter().map(|d| d - 1).collect();
    assert_eq!(
        x.iter().filter(|&&x| x == 0).count(),
        1411,
        "customers with x = 0"
    );
    assert_eq!(x.iter().filter(|&&x| x > 0).count(), 946, "repeaters");
    assert_eq!(x.iter().sum::<i64>(), 2457, "Σx");
}

fn floats(batches: &[RecordBatch], name: &str) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(name)
                .unwrap()
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

/// Gauss's hypergeometric series 2F1(a, b; c; z), |z| < 1.
fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let (mut term, mut sum) = (1.0, 1.0);
    for k in 0..10_000 {
        let k = k as f64;
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum += term;
        if term.abs() < 1e-15 * sum.abs() {
            break;
        }
    }
    sum
}

/// BG/NBD expected purchases in the next `t` units (FHL 2005, eq. 10),
/// written out here to check the published 39-week figure against the
/// fitted parameters independently of cdp-ltv.
fn bgnbd_expected(p: &BTreeMap<String, f64>, x: f64, t_x: f64, big_t: f64, t: f64) -> f64 {
    let (r, alpha, a, b) = (p["r"], p["alpha"], p["a"], p["b"]);
    let z = t / (alpha + big_t + t);
    let head = (a + b + x - 1.0) / (a - 1.0)
        * (1.0
            - ((alpha + big_t) / (alpha + big_t + t)).powf(r + x)
                * hyp2f1(r + x, b + x, a + b + x - 1.0, z));
    let alive = if x > 0.0 {
        1.0 + a / (b + x - 1.0) * ((alpha + big_t) / (alpha + t_x)).powf(r + x)
    } else {
        1.0
    };
    head / alive
}

#[tokio::test]
async fn cdnow_ltv_reproduces_the_published_figures() {
    let (_dir, lake, report) = cdnow_build(false).await;
    assert_eq!(report.manifest.ltv_time_unit.as_deref(), Some("week"));

    // Fitted parameters and log-likelihood (ltv_model).
    let model = read_table(&lake, "ltv_model").await;
    let mut bgnbd = BTreeMap::new();
    let mut gg = BTreeMap::new();
    let mut ll = BTreeMap::new();
    for b in &model {
        let m = b.column_by_name("model").unwrap().as_string::<i32>();
        let p = b.column_by_name("param").unwrap().as_string::<i32>();
        let v = b
            .column_by_name("value")
            .unwrap()
            .as_primitive::<Float64Type>();
        let l = b
            .column_by_name("log_likelihood")
            .unwrap()
            .as_primitive::<Float64Type>();
        let unit = b.column_by_name("time_unit").unwrap().as_string::<i32>();
        for i in 0..b.num_rows() {
            assert_eq!(unit.value(i), "week");
            let target = if m.value(i) == "bgnbd" {
                &mut bgnbd
            } else {
                &mut gg
            };
            target.insert(p.value(i).to_string(), v.value(i));
            ll.insert(m.value(i).to_string(), l.value(i));
        }
    }
    let near = |got: f64, want: f64, tol: f64, what: &str| {
        assert!(
            (got - want).abs() <= tol,
            "{what}: {got} vs published {want} ± {tol}"
        );
    };
    near(bgnbd["r"], 0.243, 0.001, "BG/NBD r");
    near(bgnbd["alpha"], 4.414, 0.001, "BG/NBD alpha");
    near(bgnbd["a"], 0.793, 0.001, "BG/NBD a");
    near(bgnbd["b"], 2.426, 0.001, "BG/NBD b");
    near(ll["bgnbd"], -9582.4, 0.05, "BG/NBD log-likelihood");
    near(gg["p"], 6.25, 0.01, "Gamma-Gamma p");
    near(gg["q"], 3.74, 0.01, "Gamma-Gamma q");
    near(gg["gamma"], 15.44, 0.01, "Gamma-Gamma gamma");
    assert!(ll["gamma_gamma"].is_finite());

    // Per customer (ltv).
    let ltv = read_table(&lake, "ltv").await;
    let frequency = floats(&ltv, "frequency");
    let recency = floats(&ltv, "recency");
    let age = floats(&ltv, "age");
    let p_alive = floats(&ltv, "p_alive");
    let expected_365 = floats(&ltv, "expected_purchases_365d");
    let spend = floats(&ltv, "expected_average_spend");
    assert_eq!(frequency.len(), 2357);
    assert_eq!(frequency.iter().filter(|&&x| x == 0.0).count(), 1411);
    assert_eq!(frequency.iter().filter(|&&x| x > 0.0).count(), 946);
    assert_eq!(frequency.iter().sum::<f64>(), 2457.0);
    for i in 0..frequency.len() {
        if frequency[i] == 0.0 {
            assert_eq!(p_alive[i], 1.0, "P(alive) of an x = 0 customer");
        }
    }
    let i = (0..frequency.len())
        .find(|&i| {
            frequency[i] == 2.0
                && (recency[i] - 30.43).abs() < 0.005
                && (age[i] - 38.86).abs() < 0.005
        })
        .expect("the customer with x=2, t_x=30.43, T=38.86");
    near(
        p_alive[i],
        0.7266,
        0.0005,
        "P(alive) of x=2, t_x=30.43, T=38.86",
    );
    near(
        bgnbd_expected(&bgnbd, 2.0, recency[i], age[i], 39.0),
        1.226,
        0.001,
        "expected purchases in the next 39 weeks",
    );
    near(
        expected_365[i],
        bgnbd_expected(&bgnbd, 2.0, recency[i], age[i], 365.0 / 7.0),
        1e-6,
        "expected purchases in 365 days, as the formula gives",
    );
    let mean_spend = spend.iter().sum::<f64>() / spend.len() as f64;
    near(
        mean_spend,
        35.25,
        0.01,
        "expected average spend, mean over all customers",
    );
}
