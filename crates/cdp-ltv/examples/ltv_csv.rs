//! LTV of every customer in a transactions CSV, timed stage by stage: what
//! `benches/ltv_vs_lifetimes.sh` runs against the Python `lifetimes`
//! package, and a runnable example of the crate's API.
//!
//! ```text
//! cargo run --release -p cdp-ltv --example ltv_csv -- \
//!     --input transactions.csv --as-of 2024-06-30 [--unit day|week] \
//!     [--clv-horizon-days 365] [--clv-steps 12] [--annual-discount-rate 0.1] \
//!     [--threads N] [--out predictions.csv]
//! ```
//!
//! The CSV has a header and the columns `customer_id,date,amount` (date
//! `YYYY-MM-DD`, one row per order). Prints one JSON object: seconds per
//! stage, the fitted parameters and log-likelihoods. `--out` writes every
//! customer's history and predictions (not timed).

use std::error::Error;
use std::fmt::Write as _;
use std::time::Instant;

use cdp_ltv::{fit_bgnbd_with, fit_gamma_gamma_with, predict, summarise, LtvOptions, Purchase};
use chrono::NaiveDate;

struct Args {
    input: String,
    as_of: NaiveDate,
    out: Option<String>,
    options: LtvOptions,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut input = None;
    let mut as_of = None;
    let mut out = None;
    let mut options = LtvOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--input" => input = Some(value()?),
            "--as-of" => as_of = Some(NaiveDate::parse_from_str(&value()?, "%Y-%m-%d")?),
            "--out" => out = Some(value()?),
            "--unit" => options.time_unit = value()?.parse()?,
            "--clv-horizon-days" => options.clv_horizon_days = value()?.parse()?,
            "--clv-steps" => options.clv_steps = value()?.parse()?,
            "--annual-discount-rate" => options.annual_discount_rate = value()?.parse()?,
            "--threads" => options.fit.threads = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(Args {
        input: input.ok_or("--input is required")?,
        as_of: as_of.ok_or("--as-of is required")?,
        out,
        options,
    })
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
}

/// `YYYY-MM-DD` → days since 1970-01-01.
fn parse_day(text: &str) -> Option<i32> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        text[..4].parse().ok()?,
        text[5..7].parse().ok()?,
        text[8..].parse().ok()?,
    )?;
    Some((date - epoch()).num_days() as i32)
}

/// Parses the CSV on every core: the text is cut at line ends into one
/// share per thread.
fn read_purchases(path: &str, threads: usize) -> Result<Vec<Purchase>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)?;
    let body = text.split_once('\n').map_or("", |(_, rest)| rest); // after the header
    let mut shares = Vec::new();
    let mut rest = body;
    for t in (1..=threads.max(1)).rev() {
        let cut = if t == 1 {
            rest.len()
        } else {
            rest[rest.len() / t..]
                .find('\n')
                .map_or(rest.len(), |i| rest.len() / t + i + 1)
        };
        let (share, tail) = rest.split_at(cut);
        shares.push(share);
        rest = tail;
    }
    let parsed: Vec<Result<Vec<Purchase>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .iter()
            .map(|share| scope.spawn(move || parse_lines(path, share)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a parser thread panicked"))
            .collect()
    });
    let mut purchases = Vec::with_capacity(body.len() / 24);
    for share in parsed {
        purchases.extend(share?);
    }
    Ok(purchases)
}

fn parse_lines(path: &str, text: &str) -> Result<Vec<Purchase>, String> {
    let mut purchases = Vec::with_capacity(text.len() / 24);
    for line in text.lines() {
        let bad = || format!("{path}: expected customer_id,date,amount: {line:?}");
        let mut fields = line.split(',');
        let (Some(customer), Some(date), Some(amount)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        purchases.push(Purchase {
            customer: customer.parse().map_err(|_| bad())?,
            day: parse_day(date).ok_or_else(bad)?,
            amount: amount.parse().map_err(|_| bad())?,
        });
    }
    Ok(purchases)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let options = &args.options;
    let threads = match options.fit.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let clock = Instant::now();
    let mut purchases = read_purchases(&args.input, threads)?;
    let read_s = clock.elapsed().as_secs_f64();

    let start = Instant::now();
    let as_of_day = (args.as_of - epoch()).num_days() as i32;
    let summaries = summarise(&mut purchases, as_of_day, options.time_unit)?;
    let summary_s = start.elapsed().as_secs_f64();
    let clock = Instant::now();
    let bgnbd = fit_bgnbd_with(&summaries.rfm, &options.fit)?;
    let bgnbd_s = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    let gamma_gamma = fit_gamma_gamma_with(&summaries.rfm, &options.fit)?;
    let gamma_gamma_s = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    let predictions = predict(&bgnbd.model, &gamma_gamma.model, &summaries.rfm, options)?;
    let predict_s = clock.elapsed().as_secs_f64();
    let end_to_end_s = start.elapsed().as_secs_f64();

    if let Some(out) = &args.out {
        let mut csv = String::with_capacity(summaries.len() * 120);
        csv.push_str("customer_id,frequency,recency,T,monetary_value,p_alive,expected_purchases_90d,expected_purchases_365d,expected_average_spend,predicted_clv,churn_risk\n");
        for ((customer, c), p) in summaries
            .customers
            .iter()
            .zip(&summaries.rfm)
            .zip(&predictions)
        {
            writeln!(
                csv,
                "{customer},{},{},{},{},{},{},{},{},{},{}",
                c.frequency,
                c.recency,
                c.age,
                c.monetary,
                p.p_alive,
                p.expected_purchases_90d,
                p.expected_purchases_365d,
                p.expected_average_spend,
                p.predicted_clv,
                p.churn_risk.as_str()
            )?;
        }
        std::fs::write(out, csv)?;
    }

    let b = bgnbd.model;
    let g = gamma_gamma.model;
    println!(
        concat!(
            "{{\"purchases\": {}, \"customers\": {}, \"unit\": \"{}\", \"threads\": {}, ",
            "\"seconds\": {{\"read\": {:.4}, \"summary\": {:.4}, \"bgnbd_fit\": {:.4}, \"gamma_gamma_fit\": {:.4}, ",
            "\"predict\": {:.4}, \"end_to_end\": {:.4}}}, ",
            "\"bgnbd\": {{\"r\": {:e}, \"alpha\": {:e}, \"a\": {:e}, \"b\": {:e}, \"log_likelihood\": {:e}, \"iterations\": {}}}, ",
            "\"gamma_gamma\": {{\"p\": {:e}, \"q\": {:e}, \"gamma\": {:e}, \"log_likelihood\": {:e}, \"customers\": {}, \"excluded\": {}, \"iterations\": {}}}}}"
        ),
        purchases.len(),
        summaries.len(),
        options.time_unit,
        threads,
        read_s,
        summary_s,
        bgnbd_s,
        gamma_gamma_s,
        predict_s,
        end_to_end_s,
        b.r,
        b.alpha,
        b.a,
        b.b,
        bgnbd.log_likelihood,
        bgnbd.iterations,
        g.p,
        g.q,
        g.gamma,
        gamma_gamma.log_likelihood,
        gamma_gamma.customers,
        gamma_gamma.excluded,
        gamma_gamma.iterations,
    );
    Ok(())
}
