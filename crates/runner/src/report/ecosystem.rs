//! The report's "against the ecosystem" section: every workload measured against the crates a
//! user would pick instead, one table and one chart each, from two sources — this run's own
//! experiments (the channel ring, the socketpair ring) and criterion's saved estimates of the
//! `*_peers` benches (`target/criterion/<group>/…/new/estimates.json`).
//!
//! Criterion's side is read generically: a workload is a criterion group whose name ends in
//! `_peers` (or, when its functions carry a parameter, a group and function), a row is a
//! function, and bothways' own rows are those whose name starts with `bothways`. A bench that
//! left nothing under target/criterion yet is named with the command that fills it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bothways_bench::Column;
use serde::Serialize;
use serde_json::{Value, json};

use super::svg::{self, Bar, esc, number};

/// One row: bothways' own or a peer. A criterion function is known by its name alone, so the
/// row keeps the colour it is drawn in rather than a [`bothways_bench::Style`].
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) name: String,
    /// The CSS class of its bar: `threads` or `async` for bothways' rows, `other` for peers.
    #[serde(rename = "style")]
    pub(crate) class: &'static str,
    pub(crate) bothways: bool,
    /// One per column; `None` where not measured.
    pub(crate) values: Vec<Option<f64>>,
}

/// One workload: a table and a chart of its first column.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    pub(crate) title: String,
    /// Where the figures come from and when they were measured.
    pub(crate) source: String,
    /// The command that measures them again.
    pub(crate) command: String,
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Vec<Row>,
}

/// A peer bench that has left no estimates yet.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Missing {
    pub(crate) bench: String,
    pub(crate) about: String,
    pub(crate) command: String,
}

/// The whole section.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ecosystem {
    pub(crate) workloads: Vec<Workload>,
    pub(crate) missing: Vec<Missing>,
    /// Where criterion's estimates were looked for.
    pub(crate) criterion_dir: String,
}

/// The command that runs one peer bench.
fn bench_command(bench: &str) -> String {
    format!("cargo bench -p bothways-bench --bench {bench}")
}

/// The bench file that fills `group`: bench `x_peers` fills the groups named `x…_peers`. The
/// group itself when no bench claims it.
fn bench_of<'a>(group: &'a str, benches: &[(&'a str, &str)]) -> &'a str {
    benches
        .iter()
        .map(|(bench, _)| *bench)
        .find(|bench| group.starts_with(bench.trim_end_matches("_peers")))
        .unwrap_or(group)
}

/// Converts an experiment's peer tables (from `bothways_bench`) into workloads, measured by
/// `command` at `date`.
pub(crate) fn from_run(
    experiment: &str,
    peers: Vec<bothways_bench::Peers>,
    command: &str,
    date: &str,
) -> Vec<Workload> {
    peers
        .into_iter()
        .map(|p| Workload {
            title: p.workload,
            source: format!("this run, experiment {experiment}, {date}"),
            command: command.to_owned(),
            columns: p.columns,
            rows: p
                .rows
                .into_iter()
                .map(|r| Row {
                    class: if r.bothways {
                        super::class(r.style)
                    } else {
                        "other"
                    },
                    name: r.name,
                    bothways: r.bothways,
                    values: r.values,
                })
                .collect(),
        })
        .collect()
}

/// One criterion function's saved result.
#[derive(Debug, Clone)]
struct Measured {
    /// The workload it belongs to: its group, and its function when it has a parameter.
    workload: String,
    name: String,
    median_ns: f64,
    /// Elements (or bytes) per iteration, when the group set a throughput.
    throughput: Option<(f64, &'static str)>,
    /// CPU per operation, µs, when the bench wrote a `cpu.json` beside its estimates.
    cpu_us: Option<f64>,
    modified: SystemTime,
}

/// Reads every `*_peers` group under `criterion_dir`, and names each of `benches` (the
/// `*_peers` bench files) that has left no group yet.
pub(crate) fn from_criterion(criterion_dir: &Path, benches: &[(&str, &str)]) -> Ecosystem {
    let mut found = Vec::new();
    let mut groups = Vec::new();
    if let Ok(entries) = std::fs::read_dir(criterion_dir) {
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_dir()
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().ends_with("_peers"))
            })
            .collect();
        dirs.sort();
        for dir in dirs {
            groups.push(
                dir.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            );
            collect(&dir, &mut found);
        }
    }
    // Workloads in the order their groups sort, rows in the order criterion names them.
    let mut names: Vec<String> = found.iter().map(|m| m.workload.clone()).collect();
    names.sort();
    names.dedup();
    let workloads = names
        .into_iter()
        .map(|name| {
            let rows: Vec<&Measured> = found.iter().filter(|m| m.workload == name).collect();
            workload(&name, &rows, benches)
        })
        .collect();
    let missing = benches
        .iter()
        .filter(|(bench, _)| !groups.iter().any(|g| bench_of(g, benches) == *bench))
        .map(|(bench, about)| Missing {
            bench: (*bench).to_owned(),
            about: (*about).to_owned(),
            command: bench_command(bench),
        })
        .collect();
    Ecosystem {
        workloads,
        missing,
        criterion_dir: criterion_dir.display().to_string(),
    }
}

/// Every `new/benchmark.json` + `new/estimates.json` under `dir`, however deep.
fn collect(dir: &Path, into: &mut Vec<Measured>) {
    let new = dir.join("new");
    if let Some(m) = read_function(&new, dir) {
        into.push(m);
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.ends_with("new") && !p.ends_with("base"))
        .filter(|p| !p.ends_with("report") && !p.ends_with("change"))
        .collect();
    subdirs.sort();
    for sub in subdirs {
        collect(&sub, into);
    }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn read_function(new: &Path, function_dir: &Path) -> Option<Measured> {
    let bench = read_json(&new.join("benchmark.json"))?;
    let estimates_path = new.join("estimates.json");
    let estimates = read_json(&estimates_path)?;
    let median_ns = estimates["median"]["point_estimate"].as_f64()?;
    let group = bench["group_id"].as_str()?;
    let function = bench["function_id"].as_str();
    let parameter = bench["value_str"].as_str();
    let (workload, name) = match (function, parameter) {
        (Some(f), Some(p)) => (format!("{group}/{f}"), p.to_owned()),
        (Some(f), None) => (group.to_owned(), f.to_owned()),
        (None, Some(p)) => (group.to_owned(), p.to_owned()),
        (None, None) => return None,
    };
    let t = &bench["throughput"];
    let throughput = match t["Elements"].as_f64() {
        Some(n) => Some((n, "operations")),
        None => t["Bytes"]
            .as_f64()
            .or(t["BytesDecimal"].as_f64())
            .map(|n| (n, "bytes")),
    };
    let cpu_us =
        read_json(&function_dir.join("cpu.json")).and_then(|c| c["cpu_us_per_op"].as_f64());
    let modified = std::fs::metadata(&estimates_path)
        .and_then(|m| m.modified())
        .unwrap_or(UNIX_EPOCH);
    Some(Measured {
        workload,
        name,
        median_ns,
        throughput,
        cpu_us,
        modified,
    })
}

/// A workload's table: throughput per second (charted) when the group set one, else time per
/// iteration; the median time; CPU per operation when recorded; and each row against each of
/// bothways' rows.
fn workload(name: &str, rows: &[&Measured], benches: &[(&str, &str)]) -> Workload {
    let per_second = rows.iter().all(|r| r.throughput.is_some());
    let unit = rows
        .first()
        .and_then(|r| r.throughput)
        .map_or("operations", |t| t.1);
    let mut columns = Vec::new();
    if per_second {
        columns.push(Column::figure(&format!("{unit} per second")));
    }
    columns.push(Column::figure("µs per iteration (median)"));
    let cpu = rows.iter().any(|r| r.cpu_us.is_some());
    if cpu {
        columns.push(Column::figure("µs of CPU per operation"));
    }
    let primary = |m: &Measured| match (per_second, m.throughput) {
        (true, Some((n, _))) => n * 1e9 / m.median_ns,
        _ => m.median_ns / 1e3,
    };
    let ours: Vec<&&Measured> = rows.iter().filter(|r| is_bothways(&r.name)).collect();
    for o in &ours {
        columns.push(Column::ratio(&format!(
            "{} ÷ {}",
            if per_second { "throughput" } else { "time" },
            o.name
        )));
    }
    let table_rows = rows
        .iter()
        .map(|m| {
            let mut values = Vec::new();
            if per_second {
                values.push(Some(primary(m)));
            }
            values.push(Some(m.median_ns / 1e3));
            if cpu {
                values.push(m.cpu_us);
            }
            for o in &ours {
                values.push(Some(primary(m) / primary(o)));
            }
            Row {
                class: row_class(&m.name),
                bothways: is_bothways(&m.name),
                name: m.name.clone(),
                values,
            }
        })
        .collect();
    let oldest = rows.iter().map(|r| r.modified).min().unwrap_or(UNIX_EPOCH);
    let newest = rows.iter().map(|r| r.modified).max().unwrap_or(UNIX_EPOCH);
    let when = if utc(oldest) == utc(newest) {
        utc(newest)
    } else {
        format!("{} to {}", utc(oldest), utc(newest))
    };
    let group = name.split('/').next().unwrap_or(name);
    Workload {
        title: name.to_owned(),
        source: format!(
            "criterion's estimates for {group} (median of its samples), measured {when}"
        ),
        command: bench_command(bench_of(group, benches)),
        columns,
        rows: table_rows,
    }
}

fn is_bothways(name: &str) -> bool {
    name.starts_with("bothways")
}

/// bothways' rows take their style's colour, from their name; peers are `other`.
fn row_class(name: &str) -> &'static str {
    if !is_bothways(name) {
        "other"
    } else if name.contains("async") {
        "async"
    } else if name.contains("thread") {
        "threads"
    } else {
        "other"
    }
}

/// A time as "2026-12-07 01:23 UTC".
pub(crate) fn utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3_600,
        rest % 3_600 / 60
    )
}

/// A column's unit, short enough to follow each bar's value: "pipes, ns per hop" → "ns per hop",
/// "operations per second" → "/s".
fn bar_unit(column: &str) -> &str {
    match column.rsplit(", ").next().unwrap_or(column) {
        "operations per second" => "/s",
        "bytes per second" => "B/s",
        "µs per iteration (median)" => "µs",
        other => other,
    }
}

/// A cell as the table shows it: ratios as "1.23×", figures to three significant digits.
fn cell(c: &Column, v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if c.is_ratio => format!("{v:.2}×"),
        Some(v) => number(v),
    }
}

impl Ecosystem {
    /// Whether there is anything to show.
    pub(crate) fn is_empty(&self) -> bool {
        self.workloads.is_empty() && self.missing.is_empty()
    }

    /// The section as data.
    pub(crate) fn json(&self, machine: &str, cores: usize) -> Value {
        json!({
            "machine": machine,
            "cores": cores,
            "criterion_dir": self.criterion_dir,
            "workloads": self.workloads.iter().map(|w| json!({
                "title": w.title,
                "source": w.source,
                "command": w.command,
                "chart": true,
                "columns": w.columns,
                "rows": w.rows,
            })).collect::<Vec<_>>(),
            "missing": self.missing,
        })
    }

    /// The section as HTML: a table and a bar chart per workload, then the benches not run yet.
    pub(crate) fn html(&self, h: &mut String, machine: &str, cores: usize) {
        let _ = write!(
            h,
            "<section class=\"ecosystem\" id=\"ecosystem\"><h2>Against the ecosystem</h2>\
             <p>Each workload done by bothways (both styles) and by the crates a user would pick \
             instead, in the same run of the same program, on this machine: {} · {cores} cores. \
             Ratios divide a row's first figure by a bothways row's. Bars: \
             <span class=\"swatch threads\"></span>bothways threads \
             <span class=\"swatch async\"></span>bothways async \
             <span class=\"swatch other\"></span>peer.</p>",
            esc(machine)
        );
        for w in &self.workloads {
            let _ = write!(
                h,
                "<div class=\"workload\"><h3>{}</h3><p><small>{} · machine: {} · again: \
                 <code>{}</code></small></p><div class=\"charts\"><figure><table class=\"points\">\
                 <thead><tr><th>implementation</th>",
                esc(&w.title),
                esc(&w.source),
                esc(machine),
                esc(&w.command),
            );
            for c in &w.columns {
                let _ = write!(h, "<th>{}</th>", esc(&c.name));
            }
            h.push_str("</tr></thead><tbody>");
            for r in &w.rows {
                let _ = write!(
                    h,
                    "<tr><td class=\"{}\">{}{}</td>",
                    r.class,
                    esc(&r.name),
                    if r.bothways {
                        ""
                    } else {
                        " <small>(peer)</small>"
                    }
                );
                for (c, v) in w.columns.iter().zip(&r.values) {
                    let _ = write!(h, "<td>{}</td>", esc(&cell(c, *v)));
                }
                h.push_str("</tr>");
            }
            h.push_str("</tbody></table></figure><figure>");
            let unit = w.columns.first().map_or("", |c| bar_unit(&c.name));
            let bars: Vec<Bar> = w
                .rows
                .iter()
                .map(|r| Bar {
                    label: r.name.clone(),
                    value: r.values.first().copied().flatten(),
                    class: r.class,
                })
                .collect();
            h.push_str(&svg::bars(&w.title, unit, &bars));
            h.push_str("</figure></div></div>");
        }
        if !self.missing.is_empty() {
            let _ = write!(
                h,
                "<h3>Not measured yet</h3><p>No estimates under <code>{}</code> for these \
                 benches; each command fills its table:</p><ul>",
                esc(&self.criterion_dir)
            );
            for m in &self.missing {
                let _ = write!(
                    h,
                    "<li><code>{}</code> — {}</li>",
                    esc(&m.command),
                    esc(&m.about)
                );
            }
            h.push_str("</ul>");
        }
        h.push_str("</section>\n");
    }

    /// The section as plain text for the terminal.
    pub(crate) fn text(&self) -> String {
        let mut out = Vec::new();
        for w in &self.workloads {
            out.push(format!("{} — {}", w.title, w.source));
            let mut grid = vec![
                std::iter::once("".to_owned())
                    .chain(w.columns.iter().map(|c| c.name.clone()))
                    .collect::<Vec<_>>(),
            ];
            for r in &w.rows {
                grid.push(
                    std::iter::once(r.name.clone())
                        .chain(w.columns.iter().zip(&r.values).map(|(c, v)| cell(c, *v)))
                        .collect(),
                );
            }
            let mut widths = vec![0; grid[0].len()];
            for line in &grid {
                for (w, c) in widths.iter_mut().zip(line) {
                    *w = (*w).max(c.chars().count());
                }
            }
            for line in &grid {
                let padded: Vec<String> = line
                    .iter()
                    .zip(&widths)
                    .enumerate()
                    .map(|(i, (c, w))| {
                        if i == 0 {
                            format!("{c:<w$}")
                        } else {
                            format!("{c:>w$}")
                        }
                    })
                    .collect();
                out.push(format!("  {}", padded.join("  ")));
            }
        }
        for m in &self.missing {
            out.push(format!("{}: not measured yet — {}", m.bench, m.command));
        }
        out.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01 00:00 UTC");
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_709_251_200 + 3_661);
        assert_eq!(utc(t), "2024-03-01 01:01 UTC");
    }

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn function(dir: &Path, group: &str, function: &str, param: Option<&str>, ns: f64) {
        let rel = match param {
            Some(p) => format!("{group}/{function}/{p}"),
            None => format!("{group}/{function}"),
        };
        let value = param.map_or("null".to_owned(), |p| format!("{p:?}"));
        write(
            dir,
            &format!("{rel}/new/benchmark.json"),
            &format!(
                r#"{{"group_id":"{group}","function_id":"{function}","value_str":{value},"throughput":{{"Elements":16}}}}"#
            ),
        );
        write(
            dir,
            &format!("{rel}/new/estimates.json"),
            &format!(r#"{{"median":{{"point_estimate":{ns}}}}}"#),
        );
    }

    #[test]
    fn peer_groups_become_workloads_with_ratios_to_bothways_rows() {
        let dir = tempfile::tempdir().unwrap();
        function(
            dir.path(),
            "journal_peers",
            "bothways-threads",
            None,
            1_000.0,
        );
        function(dir.path(), "journal_peers", "okaywal", None, 2_000.0);
        write(
            dir.path(),
            "journal_peers/okaywal/cpu.json",
            r#"{"cpu_us_per_op": 39.1}"#,
        );
        // Not a peer group: left out.
        function(dir.path(), "journal", "threads", None, 5.0);
        // A group whose functions carry parameters: one workload per function.
        function(
            dir.path(),
            "actor_peers",
            "tell",
            Some("bothways-async"),
            10.0,
        );
        function(dir.path(), "actor_peers", "tell", Some("kameo"), 30.0);
        // A group named after its workload, filled by the bench `actor_peers`.
        function(dir.path(), "actor_ask_peers", "ask", Some("kameo"), 30.0);
        let e = from_criterion(
            dir.path(),
            &[
                ("journal_peers", "j"),
                ("ticker_peers", "t"),
                ("actor_peers", "a"),
            ],
        );
        let titles: Vec<&str> = e.workloads.iter().map(|w| w.title.as_str()).collect();
        assert_eq!(
            titles,
            ["actor_ask_peers/ask", "actor_peers/tell", "journal_peers"]
        );
        assert!(e.workloads[0].command.ends_with("--bench actor_peers"));
        let journal = &e.workloads[2];
        let names: Vec<&str> = journal.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "operations per second",
                "µs per iteration (median)",
                "µs of CPU per operation",
                "throughput ÷ bothways-threads"
            ]
        );
        let okaywal = &journal.rows[1];
        assert_eq!(
            (okaywal.name.as_str(), okaywal.bothways),
            ("okaywal", false)
        );
        // 16 operations in 2 µs: 8 million per second, half of bothways' 16 million.
        assert_eq!(
            okaywal.values,
            [Some(8e6), Some(2.0), Some(39.1), Some(0.5)]
        );
        assert_eq!(journal.rows[0].class, "threads");
        assert_eq!(e.workloads[1].rows[0].class, "async");
        assert!(journal.command.ends_with("--bench journal_peers"));
        let missing: Vec<&str> = e.missing.iter().map(|m| m.bench.as_str()).collect();
        assert_eq!(missing, ["ticker_peers"]);
        assert!(e.missing[0].command.ends_with("--bench ticker_peers"));
    }

    #[test]
    fn no_criterion_directory_names_every_bench() {
        let e = from_criterion(
            Path::new("/nonexistent/criterion"),
            &[("journal_peers", "j")],
        );
        assert!(e.workloads.is_empty());
        assert_eq!(e.missing.len(), 1);
        assert!(!e.is_empty());
    }
}
