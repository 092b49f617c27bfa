//! Docs that cannot drift: the code a page in `docs/` (or the README) shows comes from the
//! sources between anchors, and its measured tables from one run's `docs/results/report.json`.
//! `cargo run --release -- --docs` writes both in place; a test fails while either is stale.
//!
//! In a page, what is generated sits between markers, which render as nothing:
//!
//! ```text
//! <!-- snippet: crates/timeout-async/src/fetch.rs#fetch_line -->
//! ```rust
//! …the lines between `// ANCHOR: fetch_line` and `// ANCHOR_END: fetch_line`…
//! ```
//! <!-- /snippet -->
//!
//! <!-- results: pattern journal -->
//! …a table written from docs/results/report.json…
//! <!-- /results -->
//! ```
//!
//! The anchors are mdBook's (`{{#include file.rs:anchor}}`): one comment line before the lines
//! shown and one after. Results come in six kinds: `run` (machine, date, command), `pattern
//! NAME` (the checks' verdicts and figures), `experiment ID` (each chart as a table),
//! `ecosystem` (the peers' tables), `headline` (each experiment's first finding) and `peers`
//! (one line per peer table: its charted figure for each row, against bothways' first row).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where the generated pages live, under the workspace root.
const PAGES: &[&str] = &["README.md", "docs"];
/// The run the measured tables are written from.
pub(crate) const REPORT: &str = "docs/results/report.json";

/// The workspace root: two levels above this crate.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Every page that may hold generated blocks.
fn pages(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for page in PAGES {
        let path = root.join(page);
        if path.is_dir() {
            let entries = fs::read_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for entry in entries {
                let file = entry.map_err(|e| e.to_string())?.path();
                if file.extension().is_some_and(|x| x == "md") {
                    found.push(file);
                }
            }
        } else if path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// Every page as it should be: `(path, what is on disk, what it should hold)`.
pub(crate) fn generate(root: &Path) -> Result<Vec<(PathBuf, String, String)>, String> {
    let report = fs::read_to_string(root.join(REPORT))
        .map_err(|e| format!("{REPORT}: {e} (publish a run with --publish)"))?;
    let report: Value = serde_json::from_str(&report).map_err(|e| format!("{REPORT}: {e}"))?;
    let mut out = Vec::new();
    for path in pages(root)? {
        let old = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let new = fill(&old, root, &report).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((path, old, new));
    }
    Ok(out)
}

/// Writes every stale page; returns the ones written.
pub(crate) fn write(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for (path, old, new) in generate(root)? {
        if old != new {
            fs::write(&path, new).map_err(|e| format!("{}: {e}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// A page with every generated block written anew.
fn fill(page: &str, root: &Path, report: &Value) -> Result<String, String> {
    let mut out = String::with_capacity(page.len());
    let mut lines = page.split_inclusive('\n');
    while let Some(line) = lines.next() {
        out.push_str(line);
        let trimmed = line.trim();
        let (body, end) = if let Some(spec) = marker(trimmed, "snippet:") {
            (snippet(root, spec)?, "<!-- /snippet -->")
        } else if let Some(spec) = marker(trimmed, "results:") {
            (results(report, spec)?, "<!-- /results -->")
        } else {
            continue;
        };
        // Skip what was there up to the end marker, and write the block anew.
        let mut closed = false;
        for old in lines.by_ref() {
            if old.trim() == end {
                out.push_str(&body);
                out.push_str(old);
                closed = true;
                break;
            }
        }
        if !closed {
            return Err(format!("{trimmed} has no {end}"));
        }
    }
    Ok(out)
}

/// The text after `<!-- kind` in a marker line, without the closing `-->`.
fn marker<'a>(line: &'a str, kind: &str) -> Option<&'a str> {
    let inner = line.strip_prefix("<!--")?.strip_suffix("-->")?.trim();
    Some(inner.strip_prefix(kind)?.trim())
}

/// The lines of `path` between `ANCHOR: name` and `ANCHOR_END: name`, other anchors left out,
/// dedented, as a fenced block.
fn snippet(root: &Path, spec: &str) -> Result<String, String> {
    let (path, name) = spec
        .split_once('#')
        .ok_or_else(|| format!("snippet {spec:?} names no anchor (path#anchor)"))?;
    let source = fs::read_to_string(root.join(path)).map_err(|e| format!("snippet {path}: {e}"))?;
    let (open, close) = (format!("ANCHOR: {name}"), format!("ANCHOR_END: {name}"));
    let is_anchor = |l: &str| l.contains("// ANCHOR: ") || l.contains("// ANCHOR_END: ");
    let mut inside = false;
    let mut taken: Vec<&str> = Vec::new();
    let mut found = false;
    for line in source.lines() {
        if line.trim_end().ends_with(&open) && line.contains("//") {
            inside = true;
            found = true;
        } else if line.trim_end().ends_with(&close) && line.contains("//") {
            inside = false;
        } else if inside && !is_anchor(line) {
            taken.push(line);
        }
    }
    if !found || taken.is_empty() {
        return Err(format!(
            "snippet {spec}: no lines between `// {open}` and `// {close}`"
        ));
    }
    let indent = taken
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::from("```rust\n");
    for line in taken {
        out.push_str(line.get(indent..).unwrap_or("").trim_end());
        out.push('\n');
    }
    out.push_str("```\n");
    Ok(out)
}

/// A generated table from the report.
fn results(report: &Value, spec: &str) -> Result<String, String> {
    let mut words = spec.split_whitespace();
    let kind = words.next().unwrap_or_default();
    let name = words.next().unwrap_or_default();
    match kind {
        "run" => Ok(run_line(report)),
        "pattern" => pattern_table(report, name),
        "experiment" => experiment_tables(report, name),
        "ecosystem" => Ok(ecosystem_tables(report)),
        "headline" => Ok(headline(report)),
        "peers" => Ok(peers_lines(report)),
        other => Err(format!("unknown results kind {other:?}")),
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("?").to_owned()
}

/// Three significant figures, as the runner's table prints them.
fn number(v: f64) -> String {
    let digits = if v == v.trunc() && v.abs() < 1e6 || v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else if v.abs() >= 1.0 {
        2
    } else {
        3
    };
    format!("{v:.digits$}")
}

fn run_line(report: &Value) -> String {
    let mode = if report.get("full").and_then(Value::as_bool) == Some(true) {
        ", full size"
    } else {
        ""
    };
    format!(
        "Measured on {}, {} cores, {} (`{}`, {} build{mode}).\n",
        text(report, "machine"),
        report.get("cores").and_then(Value::as_u64).unwrap_or(0),
        text(report, "date"),
        text(report, "command"),
        text(report, "profile"),
    )
}

/// One style's cell of a check row: the verdict and the figures.
fn cell(v: Option<&Value>) -> String {
    let Some(v) = v else {
        return "–".into();
    };
    let verdict = text(v, "verdict");
    let figures: Vec<String> = v
        .get("figures")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| text(f, "unit") != "(skipped)")
        .map(|f| {
            let value = f.get("value").and_then(Value::as_f64).unwrap_or(f64::NAN);
            format!("{} {} {}", text(f, "name"), number(value), text(f, "unit"))
                .trim()
                .to_owned()
        })
        .collect();
    match verdict.as_str() {
        "pass" if figures.is_empty() => "pass".into(),
        "pass" => figures.join(", "),
        other => other.to_owned(),
    }
}

fn pattern_table(report: &Value, name: &str) -> Result<String, String> {
    let pattern = report
        .get("patterns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .ok_or_else(|| format!("the report has no pattern {name:?}"))?;
    let mut out = String::from(
        "| check | threads | async current_thread | async multi_thread |\n|---|---|---|---|\n",
    );
    for check in pattern
        .get("checks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            text(check, "scenario"),
            cell(check.get("threads")),
            cell(check.get("async_current_thread")),
            cell(check.get("async_multi_thread")),
        );
    }
    Ok(out)
}

fn experiment_tables(report: &Value, id: &str) -> Result<String, String> {
    let experiment = report
        .get("experiments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| e.get("id").and_then(Value::as_str) == Some(id))
        .ok_or_else(|| format!("the report has no experiment {id:?}"))?;
    let mut out = String::new();
    for chart in experiment
        .get("charts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let series: Vec<&Value> = chart
            .get("series")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let mut ns: Vec<u64> = series
            .iter()
            .flat_map(|s| {
                s.get("points")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .filter_map(|p| p.get("n").and_then(Value::as_u64))
            .collect();
        ns.sort_unstable();
        ns.dedup();
        let _ = writeln!(
            out,
            "\n{} ({}):\n",
            text(chart, "title"),
            text(chart, "y_label")
        );
        let _ = write!(out, "| {} |", text(chart, "x_label"));
        for s in &series {
            let _ = write!(out, " {} |", text(s, "label"));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(series.len()));
        out.push('\n');
        for n in ns {
            let _ = write!(out, "| {n} |");
            for s in &series {
                let value = s
                    .get("points")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|p| p.get("n").and_then(Value::as_u64) == Some(n))
                    .and_then(|p| p.get("value").and_then(Value::as_f64));
                let _ = write!(out, " {} |", value.map_or_else(|| "–".into(), number));
            }
            out.push('\n');
        }
    }
    for note in experiment
        .get("notes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let _ = writeln!(out, "\n- {note}");
    }
    Ok(out)
}

fn ecosystem_tables(report: &Value) -> String {
    let mut out = String::new();
    let workloads = report
        .get("ecosystem")
        .and_then(|e| e.get("workloads"))
        .and_then(Value::as_array);
    for workload in workloads.into_iter().flatten() {
        let columns: Vec<String> = workload
            .get("columns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| text(c, "name"))
            .collect();
        let _ = writeln!(
            out,
            "\n**{}** — {} (`{}`):\n",
            text(workload, "title"),
            text(workload, "source"),
            text(workload, "command")
        );
        let _ = writeln!(out, "| | {} |", columns.join(" | "));
        let _ = writeln!(out, "|---|{}", "---|".repeat(columns.len()));
        for row in workload
            .get("rows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let values: Vec<String> = row
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| v.as_f64().map_or_else(|| "–".into(), number))
                .collect();
            let _ = writeln!(out, "| {} | {} |", text(row, "name"), values.join(" | "));
        }
    }
    if out.is_empty() {
        out.push_str("\nNot measured in this run.\n");
    }
    out
}

fn headline(report: &Value) -> String {
    let mut out = String::new();
    for experiment in report
        .get("experiments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let first = experiment
            .get("notes")
            .and_then(Value::as_array)
            .and_then(|n| n.first())
            .and_then(Value::as_str);
        if let Some(note) = first {
            let _ = writeln!(out, "- **{}**: {note}", text(experiment, "title"));
        }
    }
    out
}

/// One line per peer workload: the first column (the one its chart shows) for every row, and
/// each peer's ratio to bothways' first row, as the table's own ratio column has it.
fn peers_lines(report: &Value) -> String {
    let mut out = String::new();
    let workloads = report
        .get("ecosystem")
        .and_then(|e| e.get("workloads"))
        .and_then(Value::as_array);
    for workload in workloads.into_iter().flatten() {
        let first_column = workload
            .get("columns")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
            .map_or_else(|| "?".to_owned(), |c| text(c, "name"));
        let rows: Vec<(String, f64, bool)> = workload
            .get("rows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|row| {
                let value = row.get("values")?.as_array()?.first()?.as_f64()?;
                let ours = row.get("bothways").and_then(Value::as_bool) == Some(true);
                Some((text(row, "name"), value, ours))
            })
            .collect();
        let Some(base) = rows.iter().find(|r| r.2).map(|r| r.1) else {
            continue;
        };
        let cells: Vec<String> = rows
            .iter()
            .map(|(name, value, ours)| {
                if *ours {
                    format!("{name} **{}**", grouped(&number(*value)))
                } else {
                    let ratio = number(value / base);
                    format!("{name} {} ({ratio}×)", grouped(&number(*value)))
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "- {} ({first_column}): {}",
            text(workload, "title"),
            cells.join(" · ")
        );
    }
    if out.is_empty() {
        out.push_str("Not measured in this run.\n");
    }
    out
}

/// `4337418` as `4,337,418`: a line of prose reads better with its thousands apart.
fn grouped(n: &str) -> String {
    let (int, rest) = n.split_at(n.find('.').unwrap_or(n.len()));
    let (sign, digits) = int.split_at(usize::from(int.starts_with('-')));
    let mut out = String::from(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pages hold what the sources and the published run say: a snippet that differs
    /// from its source's lines between anchors, or a table that differs from the report,
    /// fails here. `cargo run --release -- --docs` writes them.
    #[test]
    fn every_snippet_and_table_in_the_docs_is_current() {
        let stale: Vec<String> = match generate(&root()) {
            Ok(pages) => pages
                .into_iter()
                .filter(|(_, old, new)| old != new)
                .map(|(path, _, _)| path.display().to_string())
                .collect(),
            Err(e) => panic!("the docs cannot be generated: {e}"),
        };
        assert!(
            stale.is_empty(),
            "stale, rewrite them with `cargo run --release -- --docs`: {stale:?}"
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped("4337418"), "4,337,418");
        assert_eq!(grouped("-1234.5"), "-1,234.5");
        assert_eq!(grouped("999"), "999");
        assert_eq!(grouped("0.722"), "0.722");
    }

    #[test]
    fn a_snippet_is_the_lines_between_its_anchors() {
        let dir = std::env::temp_dir().join(format!("bothways-docs-{}", std::process::id()));
        let _ = fs::create_dir_all(&dir);
        let source = "fn a() {}\n    // ANCHOR: b\n    fn b() {\n        // ANCHOR: inner\n        1\n        // ANCHOR_END: inner\n    }\n    // ANCHOR_END: b\n";
        let _ = fs::write(dir.join("s.rs"), source);
        let page = "x\n<!-- snippet: s.rs#b -->\nold\n<!-- /snippet -->\ny\n";
        let filled = fill(page, &dir, &Value::Null);
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(
            filled.as_deref(),
            Ok(
                "x\n<!-- snippet: s.rs#b -->\n```rust\nfn b() {\n    1\n}\n```\n<!-- /snippet -->\ny\n"
            )
        );
    }
}
