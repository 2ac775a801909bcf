//! SVG plots drawn by the benchmark itself (plotters, SVG backend only: no system fonts or
//! image libraries needed; text is left to the SVG viewer).

use std::path::Path;

use plotters::prelude::*;

use crate::error::BenchError;
use crate::stats::Summary;

/// One line: its name and its points (x, summary of the runs at x).
pub struct Series<'a> {
    pub name: &'a str,
    pub points: Vec<(f64, Summary)>,
}

/// What a chart shows.
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: Vec<Series<'a>>,
    /// A horizontal target line and its label.
    pub target: Option<(f64, &'a str)>,
}

const COLORS: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(148, 103, 189)];

/// Draws `chart` to `path`: each series as a line through the medians with a min–max bar at
/// every point, plus the target as a dashed red line.
pub fn draw(path: &Path, chart: &Chart<'_>) -> Result<(), BenchError> {
    let fail =
        |e: &dyn std::fmt::Display| BenchError::Plot { path: path.to_path_buf(), message: e.to_string() };
    let points = chart.series.iter().flat_map(|s| s.points.iter());
    let (mut x_max, mut y_max) = (1.0_f64, chart.target.map_or(0.0, |t| t.0));
    for (x, summary) in points {
        x_max = x_max.max(*x);
        y_max = y_max.max(summary.max);
    }
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut ctx = ChartBuilder::on(&root)
        .caption(chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max * 1.05, 0.0..(y_max * 1.15).max(1e-6))
        .map_err(|e| fail(&e))?;
    ctx.configure_mesh().x_desc(chart.x_label).y_desc(chart.y_label).draw().map_err(|e| fail(&e))?;
    for (i, series) in chart.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let line = series.points.iter().map(|(x, s)| (*x, s.median));
        ctx.draw_series(LineSeries::new(line, color.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label(series.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        ctx.draw_series(series.points.iter().map(|(x, s)| Circle::new((*x, s.median), 4, color.filled())))
            .map_err(|e| fail(&e))?;
        ctx.draw_series(
            series
                .points
                .iter()
                .map(|(x, s)| PathElement::new(vec![(*x, s.min), (*x, s.max)], color.stroke_width(1))),
        )
        .map_err(|e| fail(&e))?;
    }
    if let Some((target, label)) = chart.target {
        let dashes = (0..40).map(|i| {
            let from = x_max * 1.05 * f64::from(i) / 40.0;
            PathElement::new(vec![(from, target), (from + x_max * 1.05 / 80.0, target)], RED.stroke_width(1))
        });
        ctx.draw_series(dashes)
            .map_err(|e| fail(&e))?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.stroke_width(1)));
    }
    ctx.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_an_svg_with_its_title_series_and_target() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("c.svg");
        let chart = Chart {
            title: "Burst",
            x_label: "pods",
            y_label: "seconds",
            series: vec![Series { name: "ours", points: vec![(100.0, Summary::of(&[1.0, 2.0, 3.0]))] }],
            target: Some((5.0, "target")),
        };
        draw(&path, &chart).expect("drawn");
        let svg = std::fs::read_to_string(&path).expect("written");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        for text in ["Burst", "ours", "target", "pods"] {
            assert!(svg.contains(text), "{text} missing");
        }
    }
}
