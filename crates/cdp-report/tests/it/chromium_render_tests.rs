//! The report as a person sees it: rendered by headless Chromium (Debian's
//! `chromium`) to a PNG, kept as a test artifact; every chart is present in
//! the page and drawn, and the screenshot is not blank.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{charts, ChartFigure};
use crate::world::{artifacts_dir, world};

/// The charts of the report (their `data-chart` ids), whatever the data.
const EXPECTED_CHARTS: [&str; 10] = [
    "events-by-source",
    "dead-letter-reasons",
    "identifiers-per-one-id",
    "largest-components",
    "refused-merges",
    "merges-over-time",
    "lifecycle-funnel",
    "ltv-distribution",
    "p-alive-distribution",
    "coverage-lifecycle",
];

/// Charts that are empty, saying why, when the build skipped LTV.
const LTV_CHARTS: [&str; 2] = ["ltv-distribution", "p-alive-distribution"];

const WIDTH: u32 = 1200;

/// `chromium` from CDP_TEST_CHROMIUM or the PATH; the test fails (never
/// skips) without it.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CDP_TEST_CHROMIUM") {
        return PathBuf::from(path);
    }
    for name in ["chromium", "chromium-browser"] {
        if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        }) {
            return found;
        }
    }
    panic!(
        "chromium not found (PATH or CDP_TEST_CHROMIUM): the report test renders the report in \
         headless Chromium. Install it: `apt-get install -y chromium` (deploy/local/services.sh install does)"
    );
}

/// Renders `html` to `png` at WIDTH × `height`.
fn screenshot(html: &Path, png: &Path, height: u32) {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={WIDTH},{height}"))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(
        output.status.success() && png.is_file(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// (width, height, RGBA pixels) of a PNG.
fn decode(png: &Path) -> (u32, u32, Vec<[u8; 4]>) {
    let mut decoder = png::Decoder::new(std::fs::File::open(png).unwrap());
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let pixels = match info.color_type {
        png::ColorType::Rgba => bytes
            .chunks_exact(4)
            .map(|p| [p[0], p[1], p[2], p[3]])
            .collect(),
        png::ColorType::Rgb => bytes
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (info.width, info.height, pixels)
}

fn assert_drawn(chart: &ChartFigure) {
    let svg_start = chart
        .markup
        .find("<svg")
        .unwrap_or_else(|| panic!("{}: no SVG in {}", chart.id, chart.markup));
    let svg = &chart.markup[svg_start..chart.markup.find("</svg>").expect("closed svg")];
    // The background is one rect; each bar with a value another.
    let rects = svg.matches("<rect").count();
    assert!(chart.bars > 0, "{}: no bar above zero", chart.id);
    assert!(
        rects > chart.bars,
        "{}: {rects} rects for {} bars",
        chart.id,
        chart.bars
    );
    assert!(
        svg.matches("<text").count() >= 3,
        "{}: no title, axis or category labels",
        chart.id
    );
}

#[test]
fn every_chart_is_drawn_and_chromium_renders_the_report() {
    let w = world();
    let html = std::fs::read_to_string(&w.html_path).unwrap();
    assert_eq!(html, w.report.html, "the file is the rendered report");
    // Self-contained: nothing fetched (the SVG namespace URI is a name, not a fetch).
    for fetch in ["src=", "href=", "url(", "@import", "<script", "<link"] {
        assert!(!html.contains(fetch), "the report loads something: {fetch}");
    }

    let found = charts(&html);
    let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids, w.report.charts,
        "Report.charts lists the page's charts"
    );
    for expected in EXPECTED_CHARTS {
        assert!(ids.contains(&expected), "chart {expected} missing: {ids:?}");
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "chart ids are unique: {ids:?}");
    for chart in &found {
        if !w.ltv_built && LTV_CHARTS.contains(&chart.id.as_str()) {
            let why = chart.empty.as_deref().unwrap_or_else(|| {
                panic!("{}: LTV skipped, yet the chart does not say so", chart.id)
            });
            assert!(why.contains("skipped LTV"), "{}: {why}", chart.id);
            continue;
        }
        assert!(
            chart.empty.is_none(),
            "{} is empty: {:?}",
            chart.id,
            chart.empty
        );
        assert_drawn(chart);
    }

    // Tall enough for the whole page: a chart and its table take < 700 px.
    let height = 800 + 700 * found.len() as u32;
    let png = artifacts_dir().join("report.png");
    let _ = std::fs::remove_file(&png);
    screenshot(&w.html_path, &png, height);
    eprintln!("screenshot of the report: {}", png.display());
    let (width, h, pixels) = decode(&png);
    assert!(width >= WIDTH / 2 && h >= height / 2, "{width}×{h}");
    let ink = pixels
        .iter()
        .filter(|p| p[0] < 235 || p[1] < 235 || p[2] < 235)
        .count();
    let share = ink as f64 / pixels.len() as f64;
    assert!(
        share > 0.02,
        "the screenshot is nearly blank: {share:.4} of pixels drawn"
    );
    // The bars' fills reached the screen: the chart colours are there.
    let near = |p: &[u8; 4], c: (u8, u8, u8)| {
        p[0].abs_diff(c.0) < 8 && p[1].abs_diff(c.1) < 8 && p[2].abs_diff(c.2) < 8
    };
    for (name, color) in [
        ("blue bars", cdp_report::charts::BLUE_BAR),
        ("red bars", cdp_report::charts::RED_BAR),
        ("green bars", cdp_report::charts::GREEN_BAR),
    ] {
        let rgb = (color.0, color.1, color.2);
        let count = pixels.iter().filter(|p| near(p, rgb)).count();
        assert!(count > 500, "{name}: {count} pixels in the screenshot");
    }
}
