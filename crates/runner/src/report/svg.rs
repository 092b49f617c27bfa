//! Charts for the report as inline SVG, written by hand: a bar chart per measured figure and a
//! line chart per experiment. No fonts, scripts or files outside the page, so it works offline.

use std::fmt::Write as _;

/// Width of every chart, in SVG user units.
const W: f64 = 400.0;
/// Room left of the plot for the bar labels or the y axis.
const LEFT: f64 = 140.0;
/// Room left of a line chart's plot, for the y axis ticks.
const LEFT_AXIS: f64 = 60.0;
/// Titles longer than this are cut, in full on hover.
const TITLE_CHARS: usize = 50;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;

/// One bar: a label, the value (none when it could not be measured), and its style's CSS
/// class (`async`, `threads`…).
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) value: Option<f64>,
    pub(crate) class: &'static str,
}

/// A horizontal bar chart of one figure across the implementations. Long labels widen the
/// chart to the left rather than run off its edge.
pub(crate) fn bars(title: &str, unit: &str, bars: &[Bar]) -> String {
    let row = 22.0;
    let h = TOP + row * bars.len() as f64 + 24.0;
    // About 6.5 units per character of the 11 px label font.
    let longest = bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(0);
    let left = LEFT.max(longest as f64 * 6.5 + 12.0);
    let w = W + (left - LEFT);
    let max = bars
        .iter()
        .filter_map(|b| b.value)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let scale = if max > 0.0 {
        (w - left - RIGHT - 60.0 - unit.chars().count() as f64 * 6.5) / max
    } else {
        0.0
    };
    let mut s = open(title, w, h);
    for (k, b) in bars.iter().enumerate() {
        let y = TOP + row * k as f64;
        let _ = write!(
            s,
            r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + 14.0,
            esc(&b.label)
        );
        match b.value.filter(|v| v.is_finite()) {
            Some(v) => {
                // A value of zero still gets a visible sliver, so the bar is seen to be there.
                let len = (v * scale).max(1.5);
                let _ = write!(
                    s,
                    r#"<rect class="bar {}" x="{left:.1}" y="{:.1}" width="{len:.1}" height="{:.1}"><title>{}: {} {}</title></rect><text class="value" x="{:.1}" y="{:.1}">{} {}</text>"#,
                    b.class,
                    y + 3.0,
                    row - 6.0,
                    esc(&b.label),
                    number(v),
                    esc(unit),
                    left + len + 4.0,
                    y + 14.0,
                    number(v),
                    esc(unit)
                );
            }
            None => {
                let _ = write!(
                    s,
                    r#"<text class="missing" x="{:.1}" y="{:.1}">not measured</text>"#,
                    left + 2.0,
                    y + 14.0
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// One line of a line chart: a label, its style's CSS class, and (x, y) points; a point with
/// no y could not be measured and is marked with a cross on the x axis.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) label: String,
    pub(crate) class: &'static str,
    pub(crate) points: Vec<(f64, Option<f64>)>,
}

/// A line chart of a figure against N, one line per implementation.
pub(crate) fn lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    log_x: bool,
    lines: &[Line],
) -> String {
    // Title, then one legend row per line, then the y label, then the plot.
    let legend_top = TOP + 8.0;
    let plot_top = legend_top + 16.0 * lines.len() as f64 + 16.0;
    let h = plot_top + 170.0;
    let plot_bottom = h - 40.0;
    let xs: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .filter(|x| x.is_finite() && (!log_x || *x > 0.0))
        .collect();
    let ys: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().filter_map(|p| p.1))
        .filter(|y| y.is_finite())
        .collect();
    let y_top = ys.iter().copied().fold(0.0f64, f64::max);
    let y_low = ys.iter().copied().fold(f64::INFINITY, f64::min);
    // Values more than 10× apart go on a log axis, or the smaller side lies flat on zero.
    let log_y = y_low > 0.0 && y_top / y_low > 10.0;
    let ty = |y: f64| {
        if log_y {
            y.max(f64::MIN_POSITIVE).log10()
        } else {
            y
        }
    };
    let (y_min, y_max) = if log_y {
        (y_low.log10().floor(), y_top.log10().ceil())
    } else if y_top > 0.0 {
        (0.0, y_top * 1.1)
    } else {
        (0.0, 1.0)
    };
    let tx = |x: f64| {
        if log_x {
            x.max(f64::MIN_POSITIVE).log10()
        } else {
            x
        }
    };
    let (x_min, x_max) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(tx(*x)), hi.max(tx(*x)))
        });
    let (x_min, x_max) = if x_min < x_max {
        (x_min, x_max)
    } else if x_min.is_finite() {
        (x_min - 1.0, x_min + 1.0)
    } else {
        (0.0, 1.0)
    };
    let px = |x: f64| LEFT_AXIS + (tx(x) - x_min) / (x_max - x_min) * (W - LEFT_AXIS - RIGHT);
    let py = |y: f64| plot_bottom - (ty(y) - y_min) / (y_max - y_min) * (plot_bottom - plot_top);

    let mut s = open(title, W, h);
    // Axes, and a tick at each N measured and at the top of the y range.
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LEFT_AXIS}" y1="{plot_bottom}" x2="{:.1}" y2="{plot_bottom}"/><line class="axis" x1="{LEFT_AXIS}" y1="{plot_top}" x2="{LEFT_AXIS}" y2="{plot_bottom}"/>"#,
        W - RIGHT
    );
    let mut ticks = xs.clone();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    for x in ticks {
        let _ = write!(
            s,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            px(x),
            plot_bottom + 14.0,
            number(x)
        );
    }
    let y_ticks: Vec<f64> = if log_y {
        // One tick per power of ten; the range is whole powers, a handful at most.
        let (lo, hi) = (y_min as i32, y_max as i32);
        (lo..=hi).map(|e| 10f64.powi(e)).collect()
    } else {
        [0.0, 0.5, 1.0].iter().map(|f| y_max / 1.1 * f).collect()
    };
    for y in y_ticks {
        let _ = write!(
            s,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT_AXIS - 4.0,
            py(y) + 4.0,
            number(y)
        );
    }
    let _ = write!(
        s,
        r#"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}{}</text><text class="axis-label" x="8" y="{:.1}">↑ {}{}</text>"#,
        (LEFT_AXIS + W - RIGHT) / 2.0,
        h - 8.0,
        esc(x_label),
        if log_x { " (log scale)" } else { "" },
        plot_top - 6.0,
        esc(y_label),
        if log_y { " (log scale)" } else { "" }
    );
    for (k, line) in lines.iter().enumerate() {
        // Lines of the same style share a colour; the second and third are dashed and dotted.
        let twin = lines[..k].iter().filter(|l| l.class == line.class).count();
        let dash = ["", "6 3", "2 2", "8 2 2 2"][twin.min(3)];
        let (lx, ly) = (8.0, legend_top + 16.0 * k as f64);
        let _ = write!(
            s,
            r#"<line class="line {}" x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke-dasharray="{dash}"/><text class="label" x="{:.1}" y="{:.1}">{}</text>"#,
            line.class,
            ly - 4.0,
            lx + 22.0,
            ly - 4.0,
            lx + 28.0,
            ly,
            esc(&line.label)
        );
        let measured: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter_map(|(x, y)| y.filter(|y| y.is_finite()).map(|y| (*x, y)))
            .filter(|(x, _)| x.is_finite() && (!log_x || *x > 0.0))
            .collect();
        if measured.len() > 1 {
            let path: Vec<String> = measured
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
                .collect();
            let _ = write!(
                s,
                r#"<polyline class="line {}" points="{}" stroke-dasharray="{dash}"/>"#,
                line.class,
                path.join(" ")
            );
        }
        for (x, y) in &measured {
            let _ = write!(
                s,
                r#"<circle class="dot {}" cx="{:.1}" cy="{:.1}" r="3.5"><title>{} at {}: {}</title></circle>"#,
                line.class,
                px(*x),
                py(*y),
                esc(&line.label),
                number(*x),
                number(*y)
            );
        }
        for (x, _) in line.points.iter().filter(|(_, y)| y.is_none()) {
            let _ = write!(
                s,
                r#"<text class="missing {}" x="{:.1}" y="{:.1}" text-anchor="middle">✕<title>{} at {}: could not be measured</title></text>"#,
                line.class,
                px(*x),
                plot_bottom - 4.0,
                esc(&line.label),
                number(*x)
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn open(title: &str, w: f64, h: f64) -> String {
    let shown: String = if title.chars().count() > TITLE_CHARS {
        title.chars().take(TITLE_CHARS - 1).chain(['…']).collect()
    } else {
        title.to_owned()
    };
    format!(
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" role="img" aria-label="{t}"><title>{t}</title><text class="title" x="8" y="16">{}</text>"#,
        esc(&shown),
        t = esc(title)
    )
}

/// A figure as a reader wants it: three significant figures, thousands grouped.
pub(crate) fn number(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a >= 1000.0 {
        let whole = format!("{:.0}", a);
        let grouped: Vec<String> = whole
            .as_bytes()
            .rchunks(3)
            .rev()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        format!("{}{}", if v < 0.0 { "-" } else { "" }, grouped.join(","))
    } else if a >= 100.0 || a == a.trunc() {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Escapes text for HTML and SVG alike.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(1234567.0), "1,234,567");
        assert_eq!(number(250.4), "250");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(1.234), "1.23");
        assert_eq!(number(0.01234), "0.012");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(f64::NAN), "–");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        let chart = bars("<script>", "µs", &[]);
        assert!(!chart.contains("<script>"));
    }

    #[test]
    fn a_bar_per_measured_value_and_a_note_for_the_missing() {
        let chart = bars(
            "per call",
            "µs",
            &[
                Bar {
                    label: "threads".into(),
                    value: Some(2.0),
                    class: "threads",
                },
                Bar {
                    label: "async".into(),
                    value: None,
                    class: "async",
                },
            ],
        );
        assert_eq!(chart.matches("<rect").count(), 1);
        assert!(chart.contains("not measured"));
    }

    #[test]
    fn a_line_per_series_and_a_cross_per_missing_point() {
        let chart = lines(
            "memory",
            "N",
            "KiB",
            true,
            &[
                Line {
                    label: "threads".into(),
                    class: "threads",
                    points: vec![(1e3, Some(9.0)), (1e4, Some(8.0)), (5e4, None)],
                },
                Line {
                    label: "async".into(),
                    class: "async",
                    points: vec![(1e3, Some(1.0)), (1e4, Some(1.0)), (5e4, Some(1.0))],
                },
            ],
        );
        assert_eq!(chart.matches("<polyline").count(), 2);
        assert_eq!(chart.matches("<circle").count(), 5);
        assert_eq!(chart.matches("✕").count(), 1);
        assert!(
            !chart.contains("↑ KiB (log scale)"),
            "1 to 9 KiB stays linear"
        );
    }

    #[test]
    fn values_far_apart_go_on_a_log_axis() {
        let line = |class, y| Line {
            label: class,
            class: "async",
            points: vec![(1.0, Some(y)), (2.0, Some(y))],
        };
        let chart = lines(
            "spawn",
            "N",
            "µs",
            false,
            &[line("a".into(), 1.5), line("b".into(), 60.0)],
        );
        assert!(chart.contains("↑ µs (log scale)"));
        // Ticks at the powers of ten that cover 1.5 to 60.
        for tick in [">1</text>", ">10</text>", ">100</text>"] {
            assert!(chart.contains(tick), "{tick} in {chart}");
        }
    }
}
