//! Bar charts drawn by plotters as SVG (inlined in the report: no script,
//! no network). Categories are drawn as text labels placed at the bars'
//! centres, so any category names fit, horizontally for long ones.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{ReportError, Result};

/// One series of bars: a value per category.
pub struct Series {
    pub name: &'static str,
    pub values: Vec<f64>,
    pub color: RGBColor,
}

/// A bar chart: one group of bars per category, one bar per series.
pub struct BarChart<'a> {
    /// Stable id: the figure's `id="chart-<id>"` and `data-chart="<id>"`.
    pub id: &'a str,
    pub title: &'a str,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// Bars grow to the right, categories top to bottom (long names).
    pub horizontal: bool,
    /// The value axis' name.
    pub value_axis: &'a str,
}

/// A drawn chart.
pub struct Chart {
    pub id: String,
    pub title: String,
    pub svg: String,
    /// Bars with a value above zero.
    pub bars: usize,
}

pub const BLUE_BAR: RGBColor = RGBColor(0x3b, 0x6e, 0xa8);
pub const RED_BAR: RGBColor = RGBColor(0xc4, 0x4e, 0x52);
pub const GREEN_BAR: RGBColor = RGBColor(0x55, 0xa8, 0x68);

const WIDTH: u32 = 760;
const FONT: &str = "sans-serif";

/// Thousands and millions in short form for axis labels.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a == a.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

impl BarChart<'_> {
    pub fn draw(&self) -> Result<Chart> {
        let failed = |e: String| ReportError::Chart {
            chart: self.id.to_string(),
            reason: e,
        };
        let n = self.categories.len();
        let height = if self.horizontal {
            90 + 28 * n.max(1) as u32
        } else {
            320
        };
        let max = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0_f64, f64::max);
        let top = if max > 0.0 { max * 1.12 } else { 1.0 };
        let longest = self.categories.iter().map(|c| c.chars().count()).max();
        let category_space = if self.horizontal {
            (longest.unwrap_or(4) as u32 * 7 + 16).clamp(60, 360)
        } else {
            30
        };
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| failed(e.to_string()))?;
            let mut builder = ChartBuilder::on(&root);
            builder
                .caption(self.title, (FONT, 17))
                .margin(12)
                .margin_right(24);
            let series_count = self.series.len().max(1) as f64;
            let bar = 0.8 / series_count;
            let category_at = |i: usize| {
                if self.horizontal {
                    (n - 1 - i) as f64
                } else {
                    i as f64
                }
            };
            let (categories_axis, values_axis) = (0.0..n.max(1) as f64, 0.0..top);
            let mut chart = if self.horizontal {
                builder
                    .x_label_area_size(36)
                    .y_label_area_size(category_space);
                let mut chart = builder
                    .build_cartesian_2d(values_axis, categories_axis)
                    .map_err(|e| failed(e.to_string()))?;
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .y_labels(0)
                    .x_labels(6)
                    .x_label_formatter(&|v| compact(*v))
                    .x_desc(self.value_axis)
                    .draw()
                    .map_err(|e| failed(e.to_string()))?;
                chart
            } else {
                builder
                    .x_label_area_size(category_space)
                    .y_label_area_size(64);
                let mut chart = builder
                    .build_cartesian_2d(categories_axis, values_axis)
                    .map_err(|e| failed(e.to_string()))?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels(0)
                    .y_labels(6)
                    .y_label_formatter(&|v| compact(*v))
                    .y_desc(self.value_axis)
                    .draw()
                    .map_err(|e| failed(e.to_string()))?;
                chart
            };
            // (category, value) to the plane's (x, y).
            let point = |category: f64, value: f64| {
                if self.horizontal {
                    (value, category)
                } else {
                    (category, value)
                }
            };
            for (k, s) in self.series.iter().enumerate() {
                let rects = s.values.iter().enumerate().map(|(i, v)| {
                    // Horizontal: the first series on top.
                    let slot = if self.horizontal {
                        series_count - 1.0 - k as f64
                    } else {
                        k as f64
                    };
                    let c0 = category_at(i) + 0.1 + bar * slot;
                    Rectangle::new([point(c0, 0.0), point(c0 + bar, *v)], s.color.filled())
                });
                let drawn = chart
                    .draw_series(rects)
                    .map_err(|e| failed(e.to_string()))?;
                if self.series.len() > 1 {
                    let color = s.color;
                    drawn.label(s.name).legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                    });
                }
            }
            let (anchor, offset) = if self.horizontal {
                (Pos::new(HPos::Right, VPos::Center), (-6, 0))
            } else {
                (Pos::new(HPos::Center, VPos::Top), (0, 6))
            };
            let label = TextStyle::from((FONT, 13).into_font()).pos(anchor);
            for (i, name) in self.categories.iter().enumerate() {
                let (x, y) = chart.backend_coord(&point(category_at(i) + 0.5, 0.0));
                root.draw(&Text::new(
                    name.clone(),
                    (x + offset.0, y + offset.1),
                    label.clone(),
                ))
                .map_err(|e| failed(e.to_string()))?;
            }
            if self.series.len() > 1 {
                legend(&mut chart).map_err(failed)?;
            }
            root.present().map_err(|e| failed(e.to_string()))?;
        }
        let bars = self
            .series
            .iter()
            .flat_map(|s| s.values.iter())
            .filter(|v| **v > 0.0)
            .count();
        Ok(Chart {
            id: self.id.to_string(),
            title: self.title.to_string(),
            svg,
            bars,
        })
    }
}

type Plane =
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>;

fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Plane>,
) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 13))
        .draw()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_draws_one_rect_per_bar_and_its_labels() {
        let chart = BarChart {
            id: "t",
            title: "T",
            categories: vec!["online".into(), "ad".into()],
            series: vec![
                Series {
                    name: "events",
                    values: vec![10.0, 3.0],
                    color: BLUE_BAR,
                },
                Series {
                    name: "dead letters",
                    values: vec![1.0, 0.0],
                    color: RED_BAR,
                },
            ],
            horizontal: false,
            value_axis: "count",
        }
        .draw()
        .unwrap();
        assert_eq!(chart.bars, 3);
        assert!(chart.svg.starts_with("<svg"), "{}", &chart.svg[..80]);
        assert!(chart.svg.matches("<rect").count() >= 4, "{}", chart.svg);
        assert!(chart.svg.contains(">\nonline\n</text>"), "{}", chart.svg);
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(12.0), "12");
        assert_eq!(compact(1500.0), "1.5k");
        assert_eq!(compact(25_000.0), "25k");
        assert_eq!(compact(2_500_000.0), "2.5M");
    }
}
