//! The runner's table: one row per scenario, a verdict and figures per style, laid out in
//! aligned plain-text columns.

use bothways_spec::Figure;

/// One style's outcome for one scenario.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Pass(Vec<Figure>),
    Fail(String),
    /// Async runs every scenario on both runtime flavours: current_thread, then multi_thread.
    Pair(Box<Cell>, Box<Cell>),
}

impl Cell {
    pub(crate) fn pass(figures: Vec<Figure>) -> Self {
        Cell::Pass(figures)
    }

    pub(crate) fn fail(why: String) -> Self {
        Cell::Fail(why)
    }

    pub(crate) fn pair(current: Cell, multi: Cell) -> Self {
        Cell::Pair(Box::new(current), Box::new(multi))
    }

    /// Whether the check could not run here (on either flavour, for a pair): the runner's
    /// known limits, shown and counted apart from passes. The test harness has no such verdict:
    /// there a check runs or fails (`bothways_spec::check::assert_passes`).
    pub(crate) fn skipped(&self) -> bool {
        match self {
            Cell::Pass(figures) => figures.iter().any(Figure::is_skipped),
            Cell::Fail(_) => false,
            Cell::Pair(a, b) => !self.failed() && (a.skipped() || b.skipped()),
        }
    }

    pub(crate) fn failed(&self) -> bool {
        match self {
            Cell::Pass(_) => false,
            Cell::Fail(_) => true,
            Cell::Pair(a, b) => a.failed() || b.failed(),
        }
    }

    /// The verdict and the figures' values; failures are listed under the table.
    fn text(&self) -> String {
        match self {
            Cell::Pass(figures) if figures.iter().any(Figure::is_skipped) => {
                let why: Vec<&str> = figures.iter().map(|f| f.name).collect();
                format!("skipped: {}", why.join(", "))
            }
            Cell::Pass(figures) if figures.is_empty() => "pass".into(),
            Cell::Pass(figures) => {
                let values: Vec<String> = figures.iter().map(value).collect();
                format!("pass {}", values.join(", "))
            }
            Cell::Fail(_) => "FAIL".into(),
            Cell::Pair(a, b) if a.skipped() || b.skipped() => {
                format!("{} / {}", a.text(), b.text())
            }
            Cell::Pair(a, b) => match (a.as_ref(), b.as_ref()) {
                (Cell::Pass(fa), Cell::Pass(fb)) if fa.is_empty() && fb.is_empty() => "pass".into(),
                (Cell::Pass(fa), Cell::Pass(fb)) => {
                    let pair = fa.iter().zip(fb).map(|(x, y)| {
                        format!("{} {} / {}", x.name, x.amount(), y.amount())
                            .trim_start()
                            .to_owned()
                    });
                    format!("pass {}", pair.collect::<Vec<_>>().join(", "))
                }
                _ => format!("{} / {}", verdict(a), verdict(b)),
            },
        }
    }

    fn failures(&self) -> Vec<String> {
        match self {
            Cell::Pass(_) => Vec::new(),
            Cell::Fail(why) => vec![why.clone()],
            Cell::Pair(a, b) => {
                let mut all: Vec<String> = a
                    .failures()
                    .into_iter()
                    .map(|w| format!("current_thread: {w}"))
                    .collect();
                all.extend(
                    b.failures()
                        .into_iter()
                        .map(|w| format!("multi_thread: {w}")),
                );
                all
            }
        }
    }
}

fn verdict(c: &Cell) -> &'static str {
    if c.failed() { "FAIL" } else { "pass" }
}

/// A figure's name (when it has one), value and unit.
fn value(f: &Figure) -> String {
    f.to_string().trim_start().to_owned()
}

/// The scenario of the row the runner adds before a pattern's checks.
pub(crate) const THREADS_USED: &str = "threads used";

/// One line of the table.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) pattern: &'static str,
    pub(crate) scenario: String,
    pub(crate) async_cell: Cell,
    pub(crate) threads_cell: Cell,
}

impl Row {
    /// Whether the row is a check of the suite, not the runner's own "threads used" count.
    pub(crate) fn is_check(&self) -> bool {
        self.scenario != THREADS_USED
    }

    pub(crate) fn failed(&self) -> bool {
        self.async_cell.failed() || self.threads_cell.failed()
    }
}

/// How many of a style's checks passed, were skipped, and failed: a skip is never a pass.
pub(crate) fn tally<'a>(cells: impl Iterator<Item = &'a Cell>) -> (usize, usize, usize) {
    cells.fold((0, 0, 0), |(p, s, f), cell| {
        if cell.failed() {
            (p, s, f + 1)
        } else if cell.skipped() {
            (p, s + 1, f)
        } else {
            (p + 1, s, f)
        }
    })
}

/// A tally in words: `20 pass, 2 skipped, 1 FAIL`, leaving out what is zero.
pub(crate) fn tally_text((pass, skipped, failed): (usize, usize, usize)) -> String {
    let mut parts = vec![format!("{pass} pass")];
    if skipped > 0 {
        parts.push(format!("{skipped} skipped"));
    }
    if failed > 0 {
        parts.push(format!("{failed} FAIL"));
    }
    parts.join(", ")
}

/// The rows as aligned columns, a tally per style, then every failure in full.
pub(crate) fn render(rows: &[Row]) -> String {
    let header = ["pattern", "scenario", "async", "threads"];
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.pattern.to_owned(),
                r.scenario.clone(),
                r.async_cell.text(),
                r.threads_cell.text(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: [&str; 4]| {
        let padded: Vec<String> = cols
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![
        line(header),
        line(widths.map(|w| "─".repeat(w)).each_ref().map(String::as_str)),
    ];
    out.extend(cells.iter().map(|r| line(r.each_ref().map(String::as_str))));
    let checks = || rows.iter().filter(|r| r.is_check());
    out.push(format!(
        "checks: async {} · threads {}",
        tally_text(tally(checks().map(|r| &r.async_cell))),
        tally_text(tally(checks().map(|r| &r.threads_cell)))
    ));
    let failures: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            let a = r
                .async_cell
                .failures()
                .into_iter()
                .map(|w| format!("async {w}"));
            let t = r
                .threads_cell
                .failures()
                .into_iter()
                .map(|w| format!("threads: {w}"));
            a.chain(t)
                .map(move |w| format!("  {} · {}: {w}", r.pattern, r.scenario))
        })
        .collect();
    if !failures.is_empty() {
        out.push(String::new());
        out.push("failures:".into());
        out.extend(failures);
    }
    out.join("\n")
}

/// The experiments: per chart, a heading and aligned columns, N then one column per series.
pub(crate) fn render_experiments(experiments: &[crate::report::Experiment]) -> String {
    use crate::report::svg::number;
    let mut out = Vec::new();
    for experiment in experiments {
        let e = &experiment.measured;
        if let Some(why) = &experiment.error {
            out.push(format!("{} — FAIL: {why}", e.id));
        }
        for c in &e.charts {
            out.push(format!("{} — {}, {}", e.id, c.title, c.y_label));
            let ns = crate::report::ns(c);
            let mut grid = vec![
                std::iter::once("N".to_owned())
                    .chain(c.series.iter().map(|s| s.label.clone()))
                    .collect::<Vec<_>>(),
            ];
            for n in ns {
                let mut line = vec![number(n as f64)];
                line.extend(
                    c.series
                        .iter()
                        .map(|s| match s.points.iter().find(|p| p.n == n) {
                            Some(p) => p.value.map_or_else(|| "–".into(), number),
                            None => String::new(),
                        }),
                );
                grid.push(line);
            }
            let mut widths = vec![0; grid[0].len()];
            for line in &grid {
                for (w, cell) in widths.iter_mut().zip(line) {
                    *w = (*w).max(cell.chars().count());
                }
            }
            for line in &grid {
                let padded: Vec<String> = line
                    .iter()
                    .zip(&widths)
                    .map(|(cell, w)| format!("{cell:>w$}"))
                    .collect();
                out.push(format!("  {}", padded.join("  ")));
            }
        }
    }
    out.join("\n")
}
