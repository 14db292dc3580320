//! The page: one HTML file with its style inlined and the charts as inline
//! SVG, so that it opens anywhere without a network. Every figure shown in a
//! table carries `data-figure="<key>" data-value="<exact value>"`, every chart
//! `data-chart="<id>"`: what a test (or a script) reads back.

use std::fmt::Write;

use crate::charts::Chart;

/// Text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A count with thousands separators.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One table cell's content.
pub enum Cell {
    Text(String),
    /// A figure: shown formatted, its exact value in `data-value`.
    Count {
        key: String,
        value: u64,
    },
    /// A figure with decimals (`digits` shown).
    Number {
        key: String,
        value: Option<f64>,
        digits: usize,
    },
    /// A share shown as a percentage; `data-value` is the share (0..1).
    Share {
        key: String,
        value: Option<f64>,
    },
}

impl Cell {
    pub fn text(t: impl Into<String>) -> Self {
        Cell::Text(t.into())
    }

    fn render(&self) -> String {
        let figure = |key: &str, value: String, shown: String| {
            format!(
                "<td class=\"num\" data-figure=\"{}\" data-value=\"{}\">{}</td>",
                escape(key),
                escape(&value),
                escape(&shown)
            )
        };
        match self {
            Cell::Text(t) => format!("<td>{}</td>", escape(t)),
            Cell::Count { key, value } => figure(key, value.to_string(), thousands(*value)),
            Cell::Number { key, value, digits } => match value {
                Some(v) => figure(key, format!("{v}"), format!("{:.*}", *digits, v)),
                None => figure(key, String::new(), "—".into()),
            },
            Cell::Share { key, value } => match value {
                Some(v) => figure(key, format!("{v}"), format!("{:.1}%", v * 100.0)),
                None => figure(key, String::new(), "—".into()),
            },
        }
    }
}

/// A table with a header row.
pub fn table(id: &str, header: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut out = format!(
        "<table class=\"figures\" data-table=\"{}\">\n<tr>",
        escape(id)
    );
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str(&cell.render());
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// A chart, with what it shows said below it.
pub fn figure(chart: &Chart, caption: &str) -> String {
    format!(
        "<figure class=\"chart\" id=\"chart-{id}\" data-chart=\"{id}\" data-bars=\"{bars}\">\n{svg}\n<figcaption>{caption}</figcaption>\n</figure>\n",
        id = escape(&chart.id),
        bars = chart.bars,
        svg = chart.svg,
        caption = escape(caption),
    )
}

/// In place of a chart whose data the lake does not have (LTV skipped): the
/// figure is there, empty, and says why.
pub fn empty_figure(id: &str, title: &str, why: &str) -> String {
    format!(
        "<figure class=\"chart empty\" id=\"chart-{id}\" data-chart=\"{id}\" data-bars=\"0\" data-empty=\"{why}\">\n<h3>{title}</h3><p class=\"note\">{why}</p>\n</figure>\n",
        id = escape(id),
        title = escape(title),
        why = escape(why),
    )
}

/// A section of the page.
pub fn section(id: &str, title: &str, intro: &str, body: &str) -> String {
    format!(
        "<section id=\"{}\">\n<h2>{}</h2>\n<p class=\"intro\">{}</p>\n{}</section>\n",
        escape(id),
        escape(title),
        escape(intro),
        body
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px auto;max-width:1100px;color:#222;background:#fff}\
h1{font-size:24px;margin-bottom:4px}h2{font-size:20px;border-bottom:2px solid #3b6ea8;padding-bottom:4px;margin-top:36px}\
h3{font-size:16px}.meta{color:#555;font-size:13px}.intro,.note{color:#444;font-size:14px}\
figure{margin:16px 0}figcaption{color:#555;font-size:13px}svg{display:block}\
table.figures{border-collapse:collapse;margin:12px 0;font-size:13px}\
table.figures th,table.figures td{border:1px solid #ccc;padding:3px 8px;text-align:left}\
table.figures td.num{text-align:right;font-variant-numeric:tabular-nums}\
table.figures th{background:#eef2f7}";

/// The whole page.
pub fn page(title: &str, meta: &str, sections: &[String]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n<p class=\"meta\">{m}</p>\n",
        t = escape(title),
        m = escape(meta),
    );
    for s in sections {
        out.push_str(s);
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_formats() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn a_figure_cell_keeps_its_exact_value() {
        let t = table(
            "t",
            &["source", "events"],
            &[vec![
                Cell::text("online"),
                Cell::Count {
                    key: "events.online".into(),
                    value: 12345,
                },
            ]],
        );
        assert!(
            t.contains("data-figure=\"events.online\" data-value=\"12345\">12,345</td>"),
            "{t}"
        );
    }
}
