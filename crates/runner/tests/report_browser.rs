//! The runner's report in a real browser: headless Chromium loads the page the runner wrote,
//! takes a screenshot, and the page's own self-check must find every pattern's two source
//! panels side by side and every chart drawn. `.ci/run` installs Chromium (Debian's
//! `chromium`); set `CHROMIUM` to use another binary.
//!
//! Opt-in, as libtest knows it: `#[ignore]`, so `cargo test --workspace` passes on a machine
//! with only the Rust toolchain, and `.ci/run` runs it explicitly with
//! `cargo test --test report_browser -- --ignored`, where a missing browser fails it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Chromium gets this long per page; loading a local file takes well under a second.
const BROWSER_DEADLINE: Duration = Duration::from_secs(90);

/// The patterns the report must show, checks run or not.
const PATTERNS: [&str; 5] = ["timeout", "ticker", "pause", "journal", "actor"];

fn chromium() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Ok(PathBuf::from(path));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| {
            "headless Chromium is needed for this test: `apt-get install chromium` \
             (.ci/run installs it), or set CHROMIUM to a Chromium binary"
                .to_owned()
        })
}

/// Runs Chromium headless on `page` with `extra` arguments, under a deadline, and returns
/// what it printed on stdout.
fn browse(page: &Path, profile: &Path, extra: &[&str]) -> Result<String, String> {
    let mut child = Command::new(chromium()?)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start chromium: {e}"))?;
    // Drain stdout while Chromium runs: a page dump is larger than a pipe's buffer.
    let mut stdout = child.stdout.take().ok_or("chromium has no stdout")?;
    let reader = thread::spawn(move || {
        let mut dump = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut dump).map(|_| dump)
    });
    let start = Instant::now();
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if start.elapsed() > BROWSER_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "chromium did not finish within {BROWSER_DEADLINE:?}"
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("chromium failed: {status}"));
    }
    let dump = reader
        .join()
        .map_err(|_| "the stdout reader panicked")?
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&dump).into_owned())
}

/// An attribute the self-check set on the dumped `<body>`; empty if the script did not run.
fn attribute<'a>(dom: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let Some(at) = dom.find(&key) else {
        return "";
    };
    let rest = &dom[at + key.len()..];
    &rest[..rest.find('"').unwrap_or(rest.len())]
}

/// Writes a report with one pattern's checks (the quickest) and every quick experiment.
fn write_report(dir: &Path) -> Result<serde_json::Value, String> {
    let mut names = vec!["pause"];
    names.extend(bothways_bench::EXPERIMENTS.iter().map(|(id, _)| *id));
    let status = Command::new(env!("CARGO_BIN_EXE_bothways"))
        .arg("--out")
        .arg(dir)
        .args(&names)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run bothways: {e}"))?;
    // A check that fails on a loaded machine still gives a report (exit 1); what this test
    // needs is the page. Bad arguments (2) or a crash are failures.
    if !matches!(status.code(), Some(0 | 1)) {
        return Err(format!("the runner failed: {status}"));
    }
    let json = std::fs::read_to_string(dir.join("report.json"))
        .map_err(|e| format!("no report.json: {e}"))?;
    serde_json::from_str(&json).map_err(|e| format!("report.json is not JSON: {e}"))
}

/// One runner run serves both halves: the report as written must pass the self-check, and
/// a copy broken on purpose must fail it — so the check is seen to be able to fail.
#[test]
#[ignore = "needs headless Chromium: cargo test --test report_browser -- --ignored"]
fn every_pattern_shows_both_panels_and_every_chart_renders() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = write_report(dir.path()).unwrap();
    let page = dir.path().join("report.html");

    // What the page must show, counted from the JSON rather than from the page itself.
    let patterns = report["patterns"].as_array().expect("patterns");
    let names: Vec<&str> = patterns.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, PATTERNS);
    let pattern_charts: u64 = patterns.iter().filter_map(|p| p["charts"].as_u64()).sum();
    let experiments = report["experiments"].as_array().expect("experiments");
    assert_eq!(experiments.len(), bothways_bench::EXPERIMENTS.len());
    let experiment_charts: usize = experiments
        .iter()
        .map(|e| e["charts"].as_array().map_or(0, Vec::len))
        .sum();
    // One bar chart per workload against the ecosystem (the switch experiment's, and any
    // criterion `*_peers` group already measured on this machine).
    let ecosystem_charts = report["ecosystem"]["workloads"]
        .as_array()
        .expect("ecosystem workloads")
        .iter()
        .filter(|w| w["chart"].as_bool() == Some(true))
        .count();
    assert!(
        ecosystem_charts >= 3,
        "the switch experiment's channel and medium tables"
    );
    let charts =
        usize::try_from(pattern_charts).expect("count") + experiment_charts + ecosystem_charts;
    assert!(pattern_charts > 0, "the pause checks measured figures");
    assert!(
        experiment_charts >= experiments.len(),
        "every experiment has a chart"
    );

    let shot = dir.path().join("report.png");
    let dom = browse(
        &page,
        &dir.path().join("profile"),
        &["--dump-dom", "--window-size=1400,2000"],
    )
    .unwrap();
    assert_eq!(
        attribute(&dom, "data-selfcheck"),
        format!("ok patterns=5 panels=10 charts={charts}/{charts}"),
        "problems: {}",
        attribute(&dom, "data-problems")
    );

    browse(
        &page,
        &dir.path().join("profile"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,2000",
        ],
    )
    .unwrap();
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is a PNG"
    );
    // A blank page compresses to a few kilobytes; a page of tables, code and charts does not.
    assert!(
        png.len() > 40_000,
        "screenshot of {} bytes: a blank page?",
        png.len()
    );
    if let Some(keep) = std::env::var_os("BOTHWAYS_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).expect("keep the screenshot");
    }

    let html = std::fs::read_to_string(&page).expect("report.html");
    // Break the page twice: one pattern loses its threads panel, one chart is not drawn.
    let broken = html
        .replacen("class=\"panel threads\"", "class=\"panel-gone\"", 1)
        .replacen(
            "<svg class=\"chart\" ",
            "<svg class=\"chart\" style=\"display:none\" ",
            1,
        );
    assert_ne!(broken, html);
    let broken_page = dir.path().join("broken.html");
    std::fs::write(&broken_page, broken).expect("write the broken page");
    let dom = browse(&broken_page, &dir.path().join("profile"), &["--dump-dom"]).unwrap();
    let verdict = attribute(&dom, "data-selfcheck");
    assert!(
        verdict.starts_with("FAIL patterns=5 panels=8 "),
        "{verdict}"
    );
    let problems = attribute(&dom, "data-problems");
    assert!(
        problems.contains("timeout: a panel is missing"),
        "{problems}"
    );
    assert!(problems.contains("did not render"), "{problems}");
}
