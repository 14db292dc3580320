//! The report's sections: each turns query results into charts and tables.

use datafusion::execution::context::SessionContext;

use cdp_jobs::BuildManifest;
use cdp_lake::Lake;

use crate::charts::{BarChart, Series, BLUE_BAR, GREEN_BAR, RED_BAR};
use crate::html::{self, Cell};
use crate::lake_tables::Registered;
use crate::queries::{self, Rows};
use crate::{Report, Result};

/// Every query's result.
pub struct Results {
    overview: Rows,
    events_by_source: Rows,
    dead_letter_reasons: Rows,
    identifiers_per_one_id: Rows,
    largest_components: Rows,
    refused_merges: Rows,
    merges_over_time: Rows,
    lifecycle_funnel: Rows,
    acquisition_channels: Rows,
    ltv_distribution: Rows,
    p_alive_distribution: Rows,
    exclusive_coverage: Rows,
}

impl Results {
    pub async fn run(
        ctx: &SessionContext,
        progress: &mut dyn FnMut(usize, usize, &str),
    ) -> Result<Self> {
        let total = queries::ALL.len();
        let mut done = 0;
        let mut run = async |q: queries::Query| -> Result<Rows> {
            let rows = q.run(ctx).await?;
            done += 1;
            tracing::debug!(query = q.name, rows = rows.len(), "report query");
            progress(done, total, q.name);
            Ok(rows)
        };
        Ok(Self {
            overview: run(queries::OVERVIEW).await?,
            events_by_source: run(queries::EVENTS_BY_SOURCE).await?,
            dead_letter_reasons: run(queries::DEAD_LETTER_REASONS).await?,
            identifiers_per_one_id: run(queries::IDENTIFIERS_PER_ONE_ID).await?,
            largest_components: run(queries::LARGEST_COMPONENTS).await?,
            refused_merges: run(queries::REFUSED_MERGES).await?,
            merges_over_time: run(queries::MERGES_OVER_TIME).await?,
            lifecycle_funnel: run(queries::LIFECYCLE_FUNNEL).await?,
            acquisition_channels: run(queries::ACQUISITION_CHANNELS).await?,
            ltv_distribution: run(queries::LTV_DISTRIBUTION).await?,
            p_alive_distribution: run(queries::P_ALIVE_DISTRIBUTION).await?,
            exclusive_coverage: run(queries::EXCLUSIVE_COVERAGE).await?,
        })
    }
}

/// Collects the page's charts as they are drawn.
#[derive(Default)]
struct Page {
    charts: Vec<String>,
    empty: Vec<(String, String)>,
}

impl Page {
    fn chart(&mut self, chart: BarChart<'_>, caption: &str) -> Result<String> {
        let drawn = chart.draw()?;
        self.charts.push(drawn.id.clone());
        Ok(html::figure(&drawn, caption))
    }

    fn empty(&mut self, id: &str, title: &str, why: &str) -> String {
        self.charts.push(id.to_string());
        self.empty.push((id.to_string(), why.to_string()));
        html::empty_figure(id, title, why)
    }
}

fn names(values: Vec<Option<String>>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| v.unwrap_or_else(|| "(null)".into()))
        .collect()
}

fn as_f64(counts: &[u64]) -> Vec<f64> {
    counts.iter().map(|&c| c as f64).collect()
}

fn count(key: impl Into<String>, value: u64) -> Cell {
    Cell::Count {
        key: key.into(),
        value,
    }
}

fn share(key: impl Into<String>, part: u64, whole: u64) -> Cell {
    Cell::Share {
        key: key.into(),
        value: (whole > 0).then(|| part as f64 / whole as f64),
    }
}

pub fn render(
    lake: &Lake,
    build: &BuildManifest,
    registered: &Registered,
    r: &Results,
) -> Result<Report> {
    let mut page = Page::default();
    let ltv_skipped = build.ltv_time_unit.is_none() || registered.files_of("ltv") == 0;
    let sections = vec![
        overview(r)?,
        data_quality(&mut page, r)?,
        identity(&mut page, r)?,
        lifecycle(&mut page, r)?,
        acquisition(r)?,
        value(&mut page, r, ltv_skipped)?,
        coverage(&mut page, r)?,
    ];
    let meta = format!(
        "lake {} · build {} as of {} (finished {}) · LTV time unit {}",
        lake.url(),
        build.build_id,
        build.as_of,
        build.finished_at,
        build.ltv_time_unit.as_deref().unwrap_or("— (LTV skipped)"),
    );
    Ok(Report {
        html: html::page("CDP report", &meta, &sections),
        charts: page.charts,
        empty_charts: page.empty,
        build_id: build.build_id.clone(),
        as_of: build.as_of.clone(),
    })
}

fn overview(r: &Results) -> Result<String> {
    let o = &r.overview;
    let rows: Vec<Vec<Cell>> = [
        ("events", "events stored (every source, all days)"),
        ("dead_letters", "messages dead-lettered"),
        ("identifiers", "identifiers in identity_map"),
        ("one_ids", "one_ids in identity_map"),
        (
            "profiles",
            "profiles (one_ids with events up to the as-of day)",
        ),
        ("customers_with_ltv", "customers with an LTV prediction"),
    ]
    .into_iter()
    .map(|(column, label)| -> Result<Vec<Cell>> {
        let value = o.count(column)?.first().copied().unwrap_or(0);
        Ok(vec![
            Cell::text(label),
            count(format!("overview.{column}"), value),
        ])
    })
    .collect::<Result<_>>()?;
    Ok(html::section(
        "overview",
        "Overview",
        "The lake at a glance.",
        &html::table("overview", &["figure", "value"], &rows),
    ))
}

fn data_quality(page: &mut Page, r: &Results) -> Result<String> {
    let e = &r.events_by_source;
    let sources = names(e.text("source")?);
    let events = e.count("events")?;
    let dead = e.count("dead_letters")?;
    let mut body = page.chart(
        BarChart {
            id: "events-by-source",
            title: "Events and dead letters per source",
            categories: sources.clone(),
            series: vec![
                Series {
                    name: "events",
                    values: as_f64(&events),
                    color: BLUE_BAR,
                },
                Series {
                    name: "dead letters",
                    values: as_f64(&dead),
                    color: RED_BAR,
                },
            ],
            horizontal: false,
            value_axis: "messages",
        },
        "Events stored in the lake and messages dead-lettered (dlq), per source.",
    )?;
    let rows: Vec<Vec<Cell>> = sources
        .iter()
        .zip(events.iter().zip(&dead))
        .map(|(s, (&ev, &dl))| {
            vec![
                Cell::text(s),
                count(format!("events_by_source.{s}.events"), ev),
                count(format!("events_by_source.{s}.dead_letters"), dl),
                share(
                    format!("events_by_source.{s}.dead_letter_share"),
                    dl,
                    ev + dl,
                ),
            ]
        })
        .collect();
    body.push_str(&html::table(
        "events-by-source",
        &["source", "events", "dead letters", "dead-lettered share"],
        &rows,
    ));

    let d = &r.dead_letter_reasons;
    let source = names(d.text("source")?);
    let kind = names(d.text("reason_kind")?);
    let n = d.count("dead_letters")?;
    let example = names(d.text("example")?);
    if d.is_empty() {
        body.push_str(&page.empty(
            "dead-letter-reasons",
            "Top dead-letter reasons",
            "no dead letters in the lake",
        ));
    } else {
        body.push_str(&page.chart(
            BarChart {
                id: "dead-letter-reasons",
                title: "Top dead-letter reasons",
                categories: source
                    .iter()
                    .zip(&kind)
                    .map(|(s, k)| format!("{s}: {k}"))
                    .collect(),
                series: vec![Series {
                    name: "dead letters",
                    values: as_f64(&n),
                    color: RED_BAR,
                }],
                horizontal: true,
                value_axis: "dead letters",
            },
            "The ten most frequent reasons; a reason that quotes the bad value is counted per field.",
        )?);
        let rows: Vec<Vec<Cell>> = (0..d.len())
            .map(|i| {
                vec![
                    Cell::text(&source[i]),
                    Cell::text(&kind[i]),
                    count(format!("dead_letter_reasons.{i}"), n[i]),
                    Cell::text(&example[i]),
                ]
            })
            .collect();
        body.push_str(&html::table(
            "dead-letter-reasons",
            &["source", "reason", "dead letters", "example"],
            &rows,
        ));
    }
    Ok(html::section(
        "data-quality",
        "Events and dead letters",
        "What ingest stored and what it refused, with the reasons to act on.",
        &body,
    ))
}

fn identity(page: &mut Page, r: &Results) -> Result<String> {
    let h = &r.identifiers_per_one_id;
    let buckets = names(h.text("bucket")?);
    let one_ids = h.count("one_ids")?;
    let mut body = page.chart(
        BarChart {
            id: "identifiers-per-one-id",
            title: "Identifiers per one_id",
            categories: buckets.clone(),
            series: vec![Series {
                name: "one_ids",
                values: as_f64(&one_ids),
                color: BLUE_BAR,
            }],
            horizontal: false,
            value_axis: "one_ids",
        },
        "How many identifiers (identity_map rows) each one_id holds.",
    )?;
    let rows: Vec<Vec<Cell>> = buckets
        .iter()
        .zip(&one_ids)
        .map(|(b, &n)| {
            vec![
                Cell::text(b),
                count(format!("identifiers_per_one_id.{b}"), n),
            ]
        })
        .collect();
    body.push_str(&html::table(
        "identifiers-per-one-id",
        &["identifiers", "one_ids"],
        &rows,
    ));

    let l = &r.largest_components;
    let ids = names(l.text("one_id")?);
    let identifiers = l.count("identifiers")?;
    let types = l.count("id_types")?;
    let first = names(l.text("first_seen")?);
    let last = names(l.text("last_seen")?);
    body.push_str(&page.chart(
        BarChart {
            id: "largest-components",
            title: "Largest components",
            categories: ids.clone(),
            series: vec![Series {
                name: "identifiers",
                values: as_f64(&identifiers),
                color: BLUE_BAR,
            }],
            horizontal: true,
            value_axis: "identifiers",
        },
        "The ten one_ids with the most identifiers: where an over-merge would show first.",
    )?);
    let rows: Vec<Vec<Cell>> = (0..l.len())
        .map(|i| {
            vec![
                Cell::text(&ids[i]),
                count(
                    format!("largest_components.{}.identifiers", ids[i]),
                    identifiers[i],
                ),
                count(format!("largest_components.{}.id_types", ids[i]), types[i]),
                Cell::text(&first[i]),
                Cell::text(&last[i]),
            ]
        })
        .collect();
    body.push_str(&html::table(
        "largest-components",
        &[
            "one_id",
            "identifiers",
            "identifier types",
            "first seen",
            "last seen",
        ],
        &rows,
    ));

    let c = &r.refused_merges;
    let reasons = names(c.text("reason")?);
    let refusals = c.count("refusals")?;
    let sets = c.count("identifier_sets")?;
    if c.is_empty() {
        body.push_str(&page.empty(
            "refused-merges",
            "Refused merges by reason",
            "no join was refused in any resolve run",
        ));
    } else {
        body.push_str(&page.chart(
            BarChart {
                id: "refused-merges",
                title: "Refused merges by reason",
                categories: reasons.clone(),
                series: vec![Series {
                    name: "refusals",
                    values: as_f64(&refusals),
                    color: RED_BAR,
                }],
                horizontal: true,
                value_axis: "refusals",
            },
            "Joins the identity rules refused (identity_conflicts, every run): per-type limits, the cap, shared devices, unbind rules, hot values.",
        )?);
        let rows: Vec<Vec<Cell>> = (0..c.len())
            .map(|i| {
                vec![
                    Cell::text(&reasons[i]),
                    count(format!("refused_merges.{}", reasons[i]), refusals[i]),
                    count(format!("refused_merges.{}.sets", reasons[i]), sets[i]),
                ]
            })
            .collect();
        body.push_str(&html::table(
            "refused-merges",
            &["reason", "refusals", "identifier sets"],
            &rows,
        ));
    }

    let m = &r.merges_over_time;
    let runs = names(m.text("run_id")?);
    let merges = m.count("merges")?;
    let splits = m.count("splits")?;
    if m.is_empty() {
        body.push_str(&page.empty(
            "merges-over-time",
            "Merges over time",
            "no resolve run merged or split existing one_ids yet (the first run of a lake has none)",
        ));
    } else {
        body.push_str(&page.chart(
            BarChart {
                id: "merges-over-time",
                title: "Merges and splits per resolve run",
                categories: runs.clone(),
                series: vec![
                    Series {
                        name: "merges",
                        values: as_f64(&merges),
                        color: BLUE_BAR,
                    },
                    Series {
                        name: "splits",
                        values: as_f64(&splits),
                        color: RED_BAR,
                    },
                ],
                horizontal: true,
                value_axis: "one_ids",
            },
            "Existing one_ids joined (merge) or divided (split) by each resolve run, oldest first (identity_merges).",
        )?);
        let rows: Vec<Vec<Cell>> = (0..m.len())
            .map(|i| {
                vec![
                    Cell::text(&runs[i]),
                    count(format!("merges_over_time.{}.merges", runs[i]), merges[i]),
                    count(format!("merges_over_time.{}.splits", runs[i]), splits[i]),
                ]
            })
            .collect();
        body.push_str(&html::table(
            "merges-over-time",
            &["resolve run", "merges", "splits"],
            &rows,
        ));
    }
    Ok(html::section(
        "identity",
        "Identity",
        "Is the graph healthy: how one_ids are made up, what the rules refused, how one_ids changed.",
        &body,
    ))
}

fn lifecycle(page: &mut Page, r: &Results) -> Result<String> {
    let f = &r.lifecycle_funnel;
    let stages = names(f.text("stage")?);
    let one_ids = f.count("one_ids")?;
    let mut body = page.chart(
        BarChart {
            id: "lifecycle-funnel",
            title: "Lifecycle funnel",
            categories: stages.clone(),
            series: vec![Series {
                name: "one_ids",
                values: as_f64(&one_ids),
                color: GREEN_BAR,
            }],
            horizontal: false,
            value_axis: "one_ids",
        },
        "One_ids that reached each stage: prospect (every profile) → member (signed up, or bought) → first purchase → repeat (2 net orders) → loyal (3 or more).",
    )?;
    let rows: Vec<Vec<Cell>> = (0..f.len())
        .map(|i| {
            let conversion = if i == 0 {
                Cell::text("")
            } else {
                share(
                    format!("lifecycle_funnel.{}.conversion", stages[i]),
                    one_ids[i],
                    one_ids[i - 1],
                )
            };
            vec![
                Cell::text(&stages[i]),
                count(format!("lifecycle_funnel.{}", stages[i]), one_ids[i]),
                conversion,
                share(
                    format!("lifecycle_funnel.{}.of_prospects", stages[i]),
                    one_ids[i],
                    one_ids[0],
                ),
            ]
        })
        .collect();
    body.push_str(&html::table(
        "lifecycle-funnel",
        &[
            "stage",
            "one_ids",
            "conversion from the stage before",
            "of all one_ids",
        ],
        &rows,
    ));
    Ok(html::section(
        "lifecycle",
        "Lifecycle",
        "Acquire → convert → retain: how far one_ids get.",
        &body,
    ))
}

fn acquisition(r: &Results) -> Result<String> {
    let a = &r.acquisition_channels;
    let channels = names(a.text("channel")?);
    let new = a.count("new_one_ids")?;
    let customers = a.count("customers")?;
    let revenue = a.float("revenue")?;
    let ltv = a.float("average_ltv")?;
    let rows: Vec<Vec<Cell>> = (0..a.len())
        .map(|i| {
            let c = &channels[i];
            vec![
                Cell::text(c),
                count(format!("acquisition.{c}.new_one_ids"), new[i]),
                count(format!("acquisition.{c}.customers"), customers[i]),
                share(
                    format!("acquisition.{c}.first_purchase_rate"),
                    customers[i],
                    new[i],
                ),
                Cell::Number {
                    key: format!("acquisition.{c}.revenue"),
                    value: revenue[i],
                    digits: 2,
                },
                Cell::Number {
                    key: format!("acquisition.{c}.average_ltv"),
                    value: ltv[i],
                    digits: 2,
                },
            ]
        })
        .collect();
    Ok(html::section(
        "acquisition",
        "Acquisition channels",
        "First-touch channel of each one_id (the live code of its earliest event with one, else its first utm_source): one_ids acquired, the share that bought, their net revenue (yuan) and average predicted 365-day CLV of its customers.",
        &html::table(
            "acquisition-channels",
            &[
                "channel",
                "new one_ids",
                "customers",
                "first-purchase rate",
                "net revenue",
                "average LTV (365 d)",
            ],
            &rows,
        ),
    ))
}

fn value(page: &mut Page, r: &Results, ltv_skipped: bool) -> Result<String> {
    let why =
        "the current build skipped LTV (cdp build --skip-ltv, or the models are not available)";
    let mut body = String::new();
    let l = &r.ltv_distribution;
    if ltv_skipped || l.is_empty() {
        body.push_str(&page.empty("ltv-distribution", "Predicted CLV (365 days)", why));
    } else {
        let buckets = names(l.text("bucket")?);
        let customers = l.count("customers")?;
        body.push_str(&page.chart(
            BarChart {
                id: "ltv-distribution",
                title: "Predicted CLV, next 365 days (yuan)",
                categories: buckets.clone(),
                series: vec![Series {
                    name: "customers",
                    values: as_f64(&customers),
                    color: GREEN_BAR,
                }],
                horizontal: false,
                value_axis: "customers",
            },
            "Customers by predicted 365-day CLV (BG/NBD + Gamma-Gamma, ltv table).",
        )?);
        let rows: Vec<Vec<Cell>> = buckets
            .iter()
            .zip(&customers)
            .map(|(b, &n)| vec![Cell::text(b), count(format!("ltv_distribution.{b}"), n)])
            .collect();
        body.push_str(&html::table(
            "ltv-distribution",
            &["CLV (yuan)", "customers"],
            &rows,
        ));
    }
    let p = &r.p_alive_distribution;
    if ltv_skipped || p.is_empty() {
        body.push_str(&page.empty("p-alive-distribution", "P(alive)", why));
    } else {
        // Every tenth, also the empty ones: the shape is the point.
        let tenths = p.count("tenth")?;
        let customers = p.count("customers")?;
        let mut per_tenth = [0u64; 10];
        for (t, n) in tenths.iter().zip(&customers) {
            per_tenth[(*t as usize).min(9)] += n;
        }
        let labels: Vec<String> = (0..10)
            .map(|t| format!("{:.1}-{:.1}", t as f64 / 10.0, (t + 1) as f64 / 10.0))
            .collect();
        body.push_str(&page.chart(
            BarChart {
                id: "p-alive-distribution",
                title: "P(alive)",
                categories: labels.clone(),
                series: vec![Series {
                    name: "customers",
                    values: as_f64(&per_tenth),
                    color: BLUE_BAR,
                }],
                horizontal: false,
                value_axis: "customers",
            },
            "Customers by the BG/NBD probability that they are still active.",
        )?);
        let rows: Vec<Vec<Cell>> = labels
            .iter()
            .zip(per_tenth)
            .enumerate()
            .map(|(t, (l, n))| vec![Cell::text(l), count(format!("p_alive_distribution.{t}"), n)])
            .collect();
        body.push_str(&html::table(
            "p-alive-distribution",
            &["P(alive)", "customers"],
            &rows,
        ));
    }
    Ok(html::section(
        "value",
        "Lifetime value",
        "What the customers are expected to be worth, and how many are still active.",
        &body,
    ))
}

fn coverage(page: &mut Page, r: &Results) -> Result<String> {
    let c = &r.exclusive_coverage;
    let groups = names(c.text("tag_group")?);
    let tags = c.text("tag")?;
    let one_ids = c.count("one_ids")?;
    let tag_rows = c.count("tag_rows")?;
    let all = c.count("all_one_ids")?;
    let mut body = String::new();
    let mut group_rows = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let group = groups[i].clone();
        let end = (i..c.len())
            .find(|&j| groups[j] != group)
            .unwrap_or(c.len());
        let (mut names_, mut counts) = (Vec::new(), Vec::new());
        for j in i..end {
            match &tags[j] {
                None => group_rows.push(vec![
                    Cell::text(&group),
                    count(format!("coverage.{group}.one_ids"), one_ids[j]),
                    count(format!("coverage.{group}.tag_rows"), tag_rows[j]),
                    count(format!("coverage.{group}.all_one_ids"), all[j]),
                    share(format!("coverage.{group}.share"), one_ids[j], all[j]),
                ]),
                Some(tag) => {
                    names_.push(tag.clone());
                    counts.push(one_ids[j]);
                }
            }
        }
        let id = format!("coverage-{group}");
        let title = format!("Tag group {group}");
        body.push_str(&page.chart(
            BarChart {
                id: &id,
                title: &title,
                categories: names_.clone(),
                series: vec![Series {
                    name: "one_ids",
                    values: as_f64(&counts),
                    color: GREEN_BAR,
                }],
                horizontal: true,
                value_axis: "one_ids",
            },
            "One_ids per tag; in an exclusive group every one_id has exactly one tag.",
        )?);
        let rows: Vec<Vec<Cell>> = names_
            .iter()
            .zip(&counts)
            .map(|(t, &n)| {
                vec![
                    Cell::text(t),
                    count(format!("coverage.{group}.{t}"), n),
                    share(format!("coverage.{group}.{t}.share"), n, all[i]),
                ]
            })
            .collect();
        body.push_str(&html::table(&id, &["tag", "one_ids", "share"], &rows));
        i = end;
    }
    let summary = html::table(
        "exclusive-coverage",
        &[
            "exclusive group",
            "one_ids tagged",
            "tag rows",
            "all one_ids",
            "coverage",
        ],
        &group_rows,
    );
    Ok(html::section(
        "coverage",
        "Exclusive tag groups",
        "Coverage of the exclusive groups (tag_coverage): each must tag every one_id exactly once.",
        &(summary + &body),
    ))
}
