//! The runner's report: one offline HTML page and one JSON file with every pattern's verdicts
//! and figures, both implementations' source side by side, and a chart per measured figure
//! and per experiment.

pub(crate) mod ecosystem;
pub(crate) mod source;
pub(crate) mod svg;

use std::fmt::Write as _;
use std::path::Path;
use std::{fs, io};

use bothways_bench::Point;
use bothways_spec::Figure;
use serde::Serialize;
use serde_json::{Value, json};

use crate::table::{self, Cell, Row};
use svg::{Bar, Line, esc, number};

/// An experiment as the report shows it: what the bench crate measured, written out as it is,
/// or, when it could not run, its id and why.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Experiment {
    /// Its charts and findings; only the id (as title) when it could not run.
    #[serde(flatten)]
    pub(crate) measured: bothways_bench::Experiment,
    /// Why the experiment could not run, when it could not.
    pub(crate) error: Option<String>,
}

/// Every N any series of `chart` measured, ascending, once each.
pub(crate) fn ns(chart: &bothways_bench::Chart) -> Vec<u64> {
    let mut ns: Vec<u64> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.n))
        .collect();
    ns.sort_unstable();
    ns.dedup();
    ns
}

/// The CSS class that colours a style's series: `async` or `threads`.
pub(crate) fn class(style: bothways_bench::Style) -> &'static str {
    match style {
        bothways_bench::Style::Async => "async",
        bothways_bench::Style::Threads => "threads",
    }
}

/// What the report is about: the run's facts, the patterns' rows, the experiments.
#[derive(Debug)]
pub(crate) struct Report<'a> {
    pub(crate) machine: String,
    pub(crate) cores: usize,
    pub(crate) full: bool,
    /// Whether the runner was built with optimisations: figures from a debug build are not
    /// the ones to quote.
    pub(crate) release: bool,
    pub(crate) seconds: f64,
    /// When the run finished, "2026-12-07 01:23 UTC".
    pub(crate) date: String,
    pub(crate) command: String,
    /// The patterns, in the runner's order, whether or not their checks ran.
    pub(crate) patterns: Vec<&'static str>,
    pub(crate) rows: &'a [Row],
    pub(crate) experiments: &'a [Experiment],
    /// Every workload against the crates a user would pick instead: this run's and criterion's.
    pub(crate) ecosystem: &'a ecosystem::Ecosystem,
}

/// The three implementations of a pattern, in the order the report shows them.
const IMPLS: [(&str, &str); 3] = [
    ("threads", "threads"),
    ("async current_thread", "async"),
    ("async multi_thread", "async"),
];

impl Report<'_> {
    /// Writes `report.html` and `report.json` into `dir`, creating it.
    pub(crate) fn write(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(&self.json()).map_err(io::Error::other)?;
        fs::write(dir.join("report.json"), json + "\n")?;
        fs::write(dir.join("report.html"), self.html())
    }

    /// The patterns the report covers, checks run or not.
    fn patterns(&self) -> Vec<&'static str> {
        self.patterns.clone()
    }

    fn rows_of(&self, pattern: &str) -> Vec<&Row> {
        self.rows.iter().filter(|r| r.pattern == pattern).collect()
    }

    /// The report as JSON: everything the page shows, as data.
    pub(crate) fn json(&self) -> Value {
        let patterns: Vec<Value> = self
            .patterns()
            .into_iter()
            .map(|p| {
                let files = source::pattern_files(p);
                json!({
                    "name": p,
                    "checks": self.rows_of(p).iter().map(|r| json!({
                        "scenario": r.scenario,
                        "threads": cell_json(&r.threads_cell),
                        "async_current_thread": cell_json(split(&r.async_cell).0),
                        "async_multi_thread": cell_json(split(&r.async_cell).1),
                    })).collect::<Vec<_>>(),
                    "charts": pattern_charts(&self.rows_of(p)).len(),
                    "source": {
                        "async_lines": files.iter().map(|f| f.async_lines).sum::<usize>(),
                        "threads_lines": files.iter().map(|f| f.threads_lines).sum::<usize>(),
                        "files": files.iter().map(|f| json!({
                            "file": f.file,
                            "async_lines": f.async_lines,
                            "threads_lines": f.threads_lines,
                            "items": f.rows.iter().map(|r| json!({
                                "async": r.asyncs.as_ref().map(|i| json!({"item": i.key, "lines": i.lines()})),
                                "threads": r.threads.as_ref().map(|i| json!({"item": i.key, "lines": i.lines()})),
                            })).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    },
                })
            })
            .collect();
        json!({
            "machine": self.machine,
            "cores": self.cores,
            "full": self.full,
            "profile": if self.release { "release" } else { "debug" },
            "seconds": self.seconds,
            "date": self.date,
            "command": self.command,
            "passed": !self.rows.iter().any(Row::failed)
                && self.experiments.iter().all(|e| e.error.is_none()),
            "patterns": patterns,
            "experiments": self.experiments,
            "ecosystem": self.ecosystem.json(&self.machine, self.cores),
        })
    }

    /// The report as one self-contained HTML page.
    pub(crate) fn html(&self) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>bothways — async and threads, side by side</title><style>{STYLE}</style></head><body>\n\
             <header><h1>bothways — async and threads, side by side</h1>\
             <p>{} · {} · {} cores · {} run, {} build, in {:.0} s · <code>{}</code></p>{}<nav>",
            esc(&self.date),
            esc(&self.machine),
            self.cores,
            if self.full { "full" } else { "quick" },
            if self.release { "release" } else { "debug" },
            self.seconds,
            esc(&self.command),
            if self.release {
                ""
            } else {
                "<p class=\"fail\">A debug build: these figures show what runs, not what it costs. \
                 Use <code>cargo run --release</code> for figures to quote.</p>"
            }
        );
        for p in self.patterns() {
            let _ = write!(h, "<a href=\"#pattern-{p}\">{p}</a> ");
        }
        for e in self.experiments {
            let _ = write!(
                h,
                "<a href=\"#experiment-{0}\">{0}</a> ",
                esc(e.measured.id)
            );
        }
        if !self.ecosystem.is_empty() {
            h.push_str("<a href=\"#ecosystem\">against the ecosystem</a> ");
        }
        h.push_str(
            "</nav><p class=\"legend\"><span class=\"swatch threads\"></span>threads \
             <span class=\"swatch async\"></span>async (tokio) \
             <span class=\"swatch other\"></span>other</p>\
             <p id=\"selfcheck\">rendering not checked (scripts off)</p></header>\n",
        );
        self.summary(&mut h);
        for p in self.patterns() {
            self.pattern(&mut h, p);
        }
        if !self.experiments.is_empty() {
            h.push_str("<h2 class=\"part\">Experiments</h2>\n");
        }
        for e in self.experiments {
            experiment(&mut h, e);
        }
        if !self.ecosystem.is_empty() {
            self.ecosystem.html(&mut h, &self.machine, self.cores);
        }
        let _ = writeln!(h, "<script>{SELF_CHECK}</script></body></html>");
        h
    }

    fn summary(&self, h: &mut String) {
        h.push_str(
            "<section id=\"summary\"><h2>Summary</h2><table class=\"verdicts\"><thead><tr>\
             <th>pattern</th><th>checks</th><th>threads</th><th>async</th>\
             <th>threads lines</th><th>async lines</th></tr></thead><tbody>",
        );
        for p in self.patterns() {
            let rows = self.rows_of(p);
            let files = source::pattern_files(p);
            // Skips are counted apart from passes: a check that could not run here is not
            // one that held.
            let tally = |cell: &dyn Fn(&Row) -> &Cell| {
                if rows.is_empty() {
                    return ("not run".to_owned(), "skip");
                }
                let runner_row_failed = rows.iter().any(|r| !r.is_check() && cell(r).failed());
                let counts = table::tally(rows.iter().filter(|r| r.is_check()).map(|r| cell(r)));
                let class = match counts {
                    (_, _, failed) if failed > 0 || runner_row_failed => "fail",
                    (_, skipped, _) if skipped > 0 => "skip",
                    _ => "pass",
                };
                let mut text = table::tally_text(counts);
                if runner_row_failed {
                    text.push_str(", threads used FAIL");
                }
                (text, class)
            };
            let (t, tc) = tally(&|r: &Row| &r.threads_cell);
            let (a, ac) = tally(&|r: &Row| &r.async_cell);
            let _ = write!(
                h,
                "<tr><td><a href=\"#pattern-{p}\">{p}</a></td><td>{}</td><td class=\"{tc}\">{t}</td>\
                 <td class=\"{ac}\">{a}</td><td>{}</td><td>{}</td></tr>",
                rows.iter().filter(|r| r.is_check()).count(),
                files.iter().map(|f| f.threads_lines).sum::<usize>(),
                files.iter().map(|f| f.async_lines).sum::<usize>()
            );
        }
        h.push_str("</tbody></table></section>\n");
    }

    fn pattern(&self, h: &mut String, p: &str) {
        let rows = self.rows_of(p);
        let files = source::pattern_files(p);
        let _ = write!(
            h,
            "<section class=\"pattern\" id=\"pattern-{p}\" data-pattern=\"{p}\"><h2>{p}</h2>\
             <h3>Conformance</h3>"
        );
        if rows.is_empty() {
            h.push_str("<p class=\"skip\">Not run this time: name it, or run with no names.</p>");
        } else {
            h.push_str(
                "<table class=\"verdicts\"><thead><tr><th>scenario</th><th>threads</th>\
                 <th>async current_thread</th><th>async multi_thread</th></tr></thead><tbody>",
            );
            for r in &rows {
                let (current, multi) = split(&r.async_cell);
                let _ = write!(h, "<tr><td>{}</td>", esc(&r.scenario));
                for c in [&r.threads_cell, current, multi] {
                    cell_html(h, c);
                }
                h.push_str("</tr>");
            }
            h.push_str("</tbody></table><h3>Measured</h3><div class=\"charts\">");
            for chart in pattern_charts(&rows) {
                h.push_str(&chart);
            }
            h.push_str("</div>");
        }
        let (al, tl) = (
            files.iter().map(|f| f.async_lines).sum::<usize>(),
            files.iter().map(|f| f.threads_lines).sum::<usize>(),
        );
        let _ = write!(
            h,
            "<h3>Source, side by side</h3><div class=\"side panels\">\
             <div class=\"panel async\" data-style=\"async\"><h4>bothways-{p}-async</h4>\
             <p>{al} lines in {} files</p></div>\
             <div class=\"panel threads\" data-style=\"threads\"><h4>bothways-{p}-threads</h4>\
             <p>{tl} lines in {} files</p></div></div>",
            files.iter().filter(|f| f.async_lines > 0).count(),
            files.iter().filter(|f| f.threads_lines > 0).count()
        );
        for f in &files {
            let _ = write!(
                h,
                "<details open class=\"file\"><summary><code>src/{}</code> — async {} lines · \
                 threads {} lines</summary><div class=\"side\">",
                esc(f.file),
                f.async_lines,
                f.threads_lines
            );
            for row in &f.rows {
                item_html(h, "async", row.asyncs.as_ref());
                item_html(h, "threads", row.threads.as_ref());
            }
            h.push_str("</div></details>");
        }
        h.push_str("</section>\n");
    }
}

/// The async cell's two runtime flavours; a single cell stands for both.
fn split(c: &Cell) -> (&Cell, &Cell) {
    match c {
        Cell::Pair(a, b) => (a, b),
        other => (other, other),
    }
}

fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Pass(figures) if figures.iter().any(Figure::is_skipped) => json!({
            "verdict": "skipped",
            "why": figures.iter().map(|f| f.name).collect::<Vec<_>>().join(", "),
        }),
        Cell::Pass(figures) => json!({
            "verdict": "pass",
            "figures": figures.iter().map(|f| json!({
                "name": f.name, "value": f.value, "unit": f.unit,
            })).collect::<Vec<_>>(),
        }),
        Cell::Fail(why) => json!({ "verdict": "fail", "why": why }),
        Cell::Pair(a, b) => json!({
            "current_thread": cell_json(a), "multi_thread": cell_json(b),
        }),
    }
}

fn cell_html(h: &mut String, c: &Cell) {
    match c {
        Cell::Pass(figures) if figures.iter().any(Figure::is_skipped) => {
            let why: Vec<&str> = figures.iter().map(|f| f.name).collect();
            let _ = write!(
                h,
                "<td class=\"skip\">skipped: {}</td>",
                esc(&why.join(", "))
            );
        }
        Cell::Pass(figures) => {
            let text: Vec<String> = figures.iter().map(|f| esc(f.to_string().trim())).collect();
            let _ = write!(
                h,
                "<td class=\"pass\">pass <small>{}</small></td>",
                text.join(", ")
            );
        }
        Cell::Fail(why) => {
            let _ = write!(
                h,
                "<td class=\"fail\">FAIL <small>{}</small></td>",
                esc(why)
            );
        }
        Cell::Pair(a, _) => cell_html(h, a),
    }
}

/// One bar chart per figure a check measured, each bar one implementation.
fn pattern_charts(rows: &[&Row]) -> Vec<String> {
    let mut charts = Vec::new();
    for r in rows {
        let (current, multi) = split(&r.async_cell);
        let cells = [&r.threads_cell, current, multi];
        let figures = |c: &Cell| match c {
            Cell::Pass(f) if !f.iter().any(Figure::is_skipped) => f.clone(),
            _ => Vec::new(),
        };
        let per_impl: Vec<Vec<Figure>> = cells.iter().map(|c| figures(c)).collect();
        // The figure names, in the order the first implementation that measured them gives;
        // each bar is that implementation's figure of the same name.
        let Some(names) = per_impl.iter().find(|f| !f.is_empty()) else {
            continue;
        };
        for named in names {
            let bars: Vec<Bar> = IMPLS
                .iter()
                .zip(&per_impl)
                .map(|((label, class), f)| Bar {
                    label: (*label).to_owned(),
                    value: f.iter().find(|g| g.name == named.name).map(|g| g.value),
                    class,
                })
                .collect();
            let title = if named.name.trim().is_empty() {
                r.scenario.clone()
            } else {
                format!("{} — {}", r.scenario, named.name.trim())
            };
            charts.push(svg::bars(&title, named.unit, &bars));
        }
    }
    charts
}

fn item_html(h: &mut String, style: &str, item: Option<&source::Item>) {
    match item {
        Some(i) => {
            let _ = write!(
                h,
                "<div class=\"cell {style}\" data-style=\"{style}\"><div class=\"head\"><code>{}</code> \
                 <span>{} lines</span></div><pre>{}</pre></div>",
                esc(&i.key),
                i.lines(),
                esc(&i.text)
            );
        }
        None => {
            let _ = write!(
                h,
                "<div class=\"cell {style} empty\" data-style=\"{style}\">no counterpart</div>"
            );
        }
    }
}

fn experiment(h: &mut String, experiment: &Experiment) {
    let e = &experiment.measured;
    let _ = write!(
        h,
        "<section class=\"experiment\" id=\"experiment-{}\"><h2>{}</h2><blockquote>{}</blockquote>",
        esc(e.id),
        esc(&e.title),
        esc(&e.claim)
    );
    if let Some(why) = &experiment.error {
        let _ = write!(h, "<p class=\"fail\">Could not run: {}</p>", esc(why));
    }
    if !e.notes.is_empty() {
        h.push_str("<ul class=\"notes\">");
        for n in &e.notes {
            let _ = write!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul>");
    }
    h.push_str("<div class=\"charts\">");
    for c in &e.charts {
        let lines: Vec<Line> = c
            .series
            .iter()
            .map(|s| Line {
                label: s.label.clone(),
                class: class(s.style),
                // N is a count well below 2^53: exact as f64.
                points: s.points.iter().map(|p| (p.n as f64, p.value)).collect(),
            })
            .collect();
        h.push_str("<figure>");
        h.push_str(&svg::lines(
            &c.title, &c.x_label, &c.y_label, c.log_x, &lines,
        ));
        // The figures in words too: a chart hides exact values and the reasons for a gap.
        h.push_str("<table class=\"points\"><thead><tr><th>N</th>");
        for s in &c.series {
            let _ = write!(h, "<th class=\"{}\">{}</th>", class(s.style), esc(&s.label));
        }
        h.push_str("</tr></thead><tbody>");
        for n in ns(c) {
            let _ = write!(h, "<tr><td>{}</td>", number(n as f64));
            for s in &c.series {
                match s.points.iter().find(|p| p.n == n) {
                    Some(Point {
                        value: Some(v),
                        note,
                        ..
                    }) => {
                        let _ = write!(
                            h,
                            "<td>{}{}</td>",
                            number(*v),
                            note.as_deref()
                                .map(|n| format!(" <small>{}</small>", esc(n)))
                                .unwrap_or_default()
                        );
                    }
                    Some(Point { note, .. }) => {
                        let _ = write!(
                            h,
                            "<td class=\"skip\">not measured{}</td>",
                            note.as_deref()
                                .map(|n| format!(": {}", esc(n)))
                                .unwrap_or_default()
                        );
                    }
                    None => h.push_str("<td></td>"),
                }
            }
            h.push_str("</tr>");
        }
        let _ = write!(
            h,
            "</tbody></table><figcaption>{}</figcaption></figure>",
            esc(&c.y_label)
        );
    }
    h.push_str("</div></section>\n");
}

const STYLE: &str = r#"
:root { --async: #2b7bb9; --threads: #d4752a; --other: #6a9f3a; --fail: #c0392b; --ink: #222; }
body { font: 14px/1.45 system-ui, sans-serif; color: var(--ink); margin: 0 2rem 4rem; max-width: 1500px; }
h1 { margin-top: 1.5rem; } h2 { border-bottom: 2px solid #ddd; margin-top: 2.5rem; }
h2.part { border: 0; font-size: 1.8rem; }
nav a { margin-right: .6rem; }
code, pre { font: 12px/1.35 ui-monospace, SFMono-Regular, Menlo, monospace; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { border: 1px solid #ddd; padding: .2rem .5rem; text-align: left; vertical-align: top; }
td.pass { color: #1e7a34; } td.fail, .fail { color: var(--fail); font-weight: 600; } td.skip, .skip { color: #888; }
small { color: #555; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin: 0 .25rem 0 .8rem; vertical-align: middle; }
.swatch.async, .bar.async { background: var(--async); fill: var(--async); }
.swatch.threads, .bar.threads { background: var(--threads); fill: var(--threads); }
.swatch.other, .bar.other { background: var(--other); fill: var(--other); }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; } figcaption { display: none; }
svg.chart { background: #fafafa; border: 1px solid #e4e4e4; }
svg .title { font: 600 12px system-ui, sans-serif; }
svg .label, svg .value, svg .tick, svg .axis-label, svg .missing { font: 11px system-ui, sans-serif; fill: #333; }
svg .missing { fill: var(--fail); }
svg .axis { stroke: #999; }
svg .line { fill: none; stroke-width: 2; }
svg .line.async { stroke: var(--async); } svg .line.threads { stroke: var(--threads); } svg .line.other { stroke: var(--other); }
svg .dot.async { fill: var(--async); } svg .dot.threads { fill: var(--threads); } svg .dot.other { fill: var(--other); }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 2px 1rem; }
.panel { border-top: 4px solid; padding: .2rem .5rem; }
.panel.async { border-color: var(--async); } .panel.threads { border-color: var(--threads); }
.panel h4 { margin: .2rem 0; }
.cell { min-width: 0; border-left: 3px solid; padding-left: .4rem; }
.cell.async { border-color: var(--async); } .cell.threads { border-color: var(--threads); }
.cell.empty { color: #aaa; font-style: italic; border-color: #eee; }
.cell .head { color: #555; font-size: 12px; } .cell .head span { float: right; }
.cell pre { margin: 0 0 .5rem; overflow-x: auto; background: #f6f6f6; padding: .3rem; }
details.file > summary { cursor: pointer; margin: .8rem 0 .3rem; font-weight: 600; }
blockquote { border-left: 3px solid #ccc; margin: .5rem 0; padding-left: .8rem; color: #444; }
#selfcheck { font-size: 12px; color: #888; }
.workload h3 { margin-bottom: .2rem; } .workload p { margin: 0 0 .4rem; }
td.threads { border-left: 4px solid var(--threads); } td.async { border-left: 4px solid var(--async); }
td.other { border-left: 4px solid var(--other); }
"#;

/// Runs in the browser once the page has loaded: checks that every pattern shows both panels
/// side by side and that every chart drew something, and says so in `#selfcheck` and on
/// `<body data-selfcheck>`, where the browser test reads it.
const SELF_CHECK: &str = r#"
(function () {
  var problems = [];
  var patterns = document.querySelectorAll("section.pattern");
  var panels = 0;
  patterns.forEach(function (p) {
    var name = p.dataset.pattern;
    var a = p.querySelector(".panel.async"), t = p.querySelector(".panel.threads");
    var ca = p.querySelector(".cell.async:not(.empty) pre"), ct = p.querySelector(".cell.threads:not(.empty) pre");
    if (!a || !t || !ca || !ct) { problems.push(name + ": a panel is missing"); return; }
    var ra = a.getBoundingClientRect(), rt = t.getBoundingClientRect();
    if (ra.width < 50 || rt.width < 50 || ra.height < 10 || rt.height < 10) { problems.push(name + ": a panel is not drawn"); return; }
    if (!(ra.right <= rt.left && Math.abs(ra.top - rt.top) < 2)) { problems.push(name + ": panels are not side by side"); return; }
    if (ca.textContent.trim() === "" || ct.textContent.trim() === "") { problems.push(name + ": a panel has no source"); return; }
    panels += 2;
  });
  // Item by item: each async cell sits level with its threads twin.
  var misaligned = 0;
  document.querySelectorAll(".side:not(.panels)").forEach(function (grid) {
    var cells = grid.children;
    for (var i = 0; i + 1 < cells.length; i += 2) {
      if (Math.abs(cells[i].getBoundingClientRect().top - cells[i + 1].getBoundingClientRect().top) > 2) { misaligned += 1; }
    }
  });
  if (misaligned > 0) { problems.push(misaligned + " source rows not aligned"); }
  var charts = document.querySelectorAll("svg.chart");
  var drawn = 0;
  charts.forEach(function (c, i) {
    var box = c.getBBox(), r = c.getBoundingClientRect();
    var marks = c.querySelectorAll("rect.bar, circle.dot, polyline.line, text.missing");
    var title = c.querySelector("text.title");
    var inked = Array.prototype.some.call(marks, function (m) { var b = m.getBBox(); return b.width > 0 && b.height > 0; });
    if (box.width > 0 && r.width > 0 && r.height > 0 && inked && title && title.getBBox().width > 0) { drawn += 1; }
    else { problems.push("chart " + i + " (" + (title ? title.textContent : "untitled") + ") did not render"); }
  });
  var verdict = problems.length === 0 ? "ok" : "FAIL";
  var text = verdict + " patterns=" + patterns.length + " panels=" + panels + " charts=" + drawn + "/" + charts.length;
  document.body.dataset.selfcheck = text;
  document.body.dataset.problems = problems.join("; ");
  document.getElementById("selfcheck").textContent = "rendering self-check: " + text + (problems.length ? " — " + problems.join("; ") : "");
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use bothways_bench::{Chart, Series, Style};

    /// report.json holds the bench crate's result as it is, beside the runner's verdict.
    #[test]
    fn an_experiment_is_written_as_the_bench_crate_measured_it() {
        let point = Point {
            n: 1_000,
            value: None,
            note: Some("limit reached".into()),
        };
        let measured = bothways_bench::Experiment {
            id: "spawn",
            title: "Spawn".into(),
            claim: "cheap".into(),
            charts: vec![Chart {
                title: "cost".into(),
                x_label: "N".into(),
                y_label: "µs".into(),
                log_x: true,
                series: vec![Series {
                    style: Style::Threads,
                    label: "threads".into(),
                    points: vec![point],
                }],
            }],
            notes: vec!["a note".into()],
            peers: Vec::new(),
        };
        let json = serde_json::to_value(Experiment {
            measured,
            error: None,
        })
        .unwrap();
        assert_eq!(json["id"], "spawn");
        assert_eq!(json["error"], Value::Null);
        assert_eq!(json["notes"][0], "a note");
        let series = &json["charts"][0]["series"][0];
        assert_eq!(series["style"], "threads");
        assert_eq!(series["points"][0]["n"], 1_000);
        assert_eq!(series["points"][0]["value"], Value::Null);
        assert_eq!(series["points"][0]["note"], "limit reached");
    }
}
