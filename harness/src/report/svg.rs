//! Line charts as SVG, drawn with [plotters](https://docs.rs/plotters) (its SVG backend, no font
//! library: text stays SVG `<text>` and the viewer picks the font).
//!
//! A [`Chart`] is data only (title, axis labels, series of points) so the reports build charts
//! without touching the drawing library. The x axis may be logarithmic (batch and roster sizes
//! grow by factors); the y axis is linear from zero, so ratios between lines read off the plot
//! directly. The legend sits to the right of the plot, one entry per series in series order.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

const WIDTH: u32 = 760;
const HEIGHT: u32 = 440;
/// Room for the legend to the right of the plot.
const LEGEND: u32 = 230;
/// Distinguishable on white (Tableau 10).
const COLORS: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

/// One line of the chart.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    /// (x, y) in data units; points with non-finite values, or x ≤ 0 on a log axis, are skipped.
    pub points: Vec<(f64, f64)>,
}

#[derive(Clone, Debug)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_log: bool,
    pub series: Vec<Series>,
}

impl Chart {
    /// Each series' drawable points, sorted by x.
    fn drawable(&self) -> Vec<Vec<(f64, f64)>> {
        let usable =
            |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!self.x_log || x > 0.0);
        self.series
            .iter()
            .map(|s| {
                let mut points: Vec<(f64, f64)> = s.points.iter().copied().filter(usable).collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                points
            })
            .collect()
    }
}

/// The chart as a standalone SVG document.
pub fn render(chart: &Chart) -> String {
    let series = chart.drawable();
    let all = || series.iter().flatten();
    let (mut x0, mut x1) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.0), b.max(p.0))
    });
    if !x0.is_finite() {
        (x0, x1) = if chart.x_log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if x1 <= x0 {
        (x0, x1) = if chart.x_log {
            (x0 / 2.0, x1 * 2.0)
        } else {
            (x0 - 0.5, x1 + 0.5)
        };
    }
    let y_max = all().map(|p| p.1).fold(0.0_f64, f64::max);
    let y1 = if y_max > 0.0 { y_max * 1.05 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let drawn = root.fill(&WHITE).map_err(|e| e.to_string()).and_then(|()| {
            let (plot, legend) = root.split_horizontally((WIDTH - LEGEND) as i32);
            if chart.x_log {
                draw(&plot, chart, &series, (x0..x1).log_scale(), y1)?;
            } else {
                draw(&plot, chart, &series, x0..x1, y1)?;
            }
            draw_legend(&legend, chart)
        });
        // Drawing into a String cannot fail short of a bug in the backend; the chart then shows
        // what was drawn, and the reason is left in the document.
        if let Err(e) = drawn.and_then(|()| root.present().map_err(|e| e.to_string())) {
            drop(root);
            svg.push_str(&format!("<!-- chart incomplete: {} -->\n", escape(&e)));
        }
    }
    svg
}

fn draw<X>(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &Chart,
    series: &[Vec<(f64, f64)>],
    x: X,
    y1: f64,
) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let mut c = ChartBuilder::on(area)
        .caption(&chart.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x, 0f64..y1)
        .map_err(err)?;
    let x_desc = if chart.x_log {
        format!("{} (log scale)", chart.x_label)
    } else {
        chart.x_label.clone()
    };
    c.configure_mesh()
        .x_desc(x_desc)
        .y_desc(chart.y_label.as_str())
        .x_label_formatter(&|v| compact(*v))
        .y_label_formatter(&|v| compact(*v))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .draw()
        .map_err(err)?;
    for (i, points) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        c.draw_series(LineSeries::new(
            points.iter().copied(),
            color.stroke_width(2),
        ))
        .map_err(err)?;
        c.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(err)?;
    }
    Ok(())
}

fn draw_legend(area: &DrawingArea<SVGBackend<'_>, Shift>, chart: &Chart) -> Result<(), String> {
    for (i, series) in chart.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let y = 50 + 20 * i as i32;
        area.draw(&PathElement::new(
            vec![(8, y), (28, y)],
            color.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
        area.draw(&Text::new(
            series.name.clone(),
            (34, y - 6),
            ("sans-serif", 12).into_font(),
        ))
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A short tick label: 1500 → "1.5k", 2000000 → "2M".
fn compact(v: f64) -> String {
    let (scaled, suffix) = if v.abs() >= 1e9 {
        (v / 1e9, "G")
    } else if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

/// `text` fit for an XML comment (no `--`, no markup).
fn escape(text: &str) -> String {
    text.replace("--", "- -")
        .replace('<', "(")
        .replace('>', ")")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(x_log: bool, series: Vec<Series>) -> Chart {
        Chart {
            title: "t <&>".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_log,
            series,
        }
    }

    #[test]
    fn labels() {
        assert_eq!(compact(1500.0), "1.5k");
        assert_eq!(compact(2e6), "2M");
        assert_eq!(compact(0.0), "0");
    }

    #[test]
    fn every_series_is_drawn_with_its_points_and_legend() {
        let c = chart(
            true,
            vec![
                Series {
                    name: "alpha".into(),
                    points: vec![(1.0, 1.0), (10.0, 2.0), (-1.0, 5.0), (f64::NAN, 1.0)],
                },
                Series {
                    name: "beta".into(),
                    points: vec![(1.0, 3.0)],
                },
            ],
        );
        let svg = render(&c);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("chart incomplete"), "{svg}");
        // Three drawable points (the negative x on a log axis and the NaN are skipped).
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
        for text in ["alpha", "beta", "t &lt;&amp;&gt;", "(log scale)"] {
            assert!(svg.contains(text), "{text}: {svg}");
        }
    }

    #[test]
    fn empty_and_degenerate_charts_still_render() {
        for c in [
            chart(false, Vec::new()),
            chart(
                true,
                vec![Series {
                    name: "one".into(),
                    points: vec![(5.0, 0.0)],
                }],
            ),
            chart(
                false,
                vec![Series {
                    name: "flat".into(),
                    points: vec![(2.0, 0.0), (2.0, 0.0)],
                }],
            ),
        ] {
            let svg = render(&c);
            assert!(
                svg.starts_with("<svg") && !svg.contains("chart incomplete"),
                "{svg}"
            );
        }
    }
}
