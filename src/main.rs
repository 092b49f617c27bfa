//! The `bothways` runner: every pattern's conformance checks in both styles on this machine,
//! printed as one table of verdicts and measured figures.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use bothways_spec::check::{self, run_check};
use bothways_spec::resources::Resources;
use bothways_spec::{Check, CheckResult, Figure, Flavour, timeout};

mod table;

use table::{Cell, Row};

const USAGE: &str = "\
usage: bothways [--help]

Runs every pattern's conformance checks in both styles — async on a current_thread and a
multi_thread tokio runtime, threads on std threads — and prints one table: pattern, scenario,
then a verdict and the measured figures for each style. Exits 1 if any check failed.";

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("bothways: unknown argument {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    // The checks provoke panics on purpose (a panicking operation must become a typed error);
    // the default hook would print each one over the table. `run_check` still reports any
    // panic that escapes as a failed check.
    std::panic::set_hook(Box::new(|_| {}));

    let start = Instant::now();
    let rows = timeout_rows();
    let failed = rows.iter().any(Row::failed);
    println!("{}", table::render(&rows));
    println!(
        "{} on {} cores, in {:.1} s. async cells: current_thread / multi_thread.",
        machine(),
        thread::available_parallelism().map_or(0, usize::from),
        start.elapsed().as_secs_f64()
    );
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// One implementation's results: the threads it started, then each check in order.
struct Run {
    threads_used: Result<i64, String>,
    results: Vec<(&'static str, CheckResult)>,
}

fn timeout_rows() -> Vec<Row> {
    eprintln!(
        "timeout: {} checks × async (2 runtimes) and threads …",
        timeout::CHECK_NAMES.len()
    );
    let built = |what| move |e: &dyn std::fmt::Display| format!("cannot build {what}: {e}");
    let threads = measured_build(|| {
        bothways_timeout_threads::conformance::Conformance::new()
            .map_err(|e| built("the threads pool")(&e))
    });
    let current = measured_build(|| {
        bothways_timeout_async::conformance::Conformance::new(Flavour::CurrentThread)
            .map_err(|e| built("a current_thread runtime")(&e))
    });
    let multi = measured_build(|| {
        bothways_timeout_async::conformance::Conformance::new(Flavour::MultiThread)
            .map_err(|e| built("a multi_thread runtime")(&e))
    });

    // The three run side by side, as libtest runs the stamped tests: each check holds the
    // process lock, exclusively when it counts the whole process's threads and files.
    let (threads, current, multi) = thread::scope(|s| {
        let threads = s.spawn(|| run_pattern(threads, timeout::checks, timeout::PROCESS_WIDE));
        let current = s.spawn(|| run_pattern(current, timeout::checks, timeout::PROCESS_WIDE));
        let multi = s.spawn(|| run_pattern(multi, timeout::checks, timeout::PROCESS_WIDE));
        (join(threads), join(current), join(multi))
    });

    let mut rows = vec![Row {
        pattern: "timeout",
        scenario: "threads used".into(),
        async_cell: Cell::pair(
            figure_cell(&current.threads_used),
            figure_cell(&multi.threads_used),
        ),
        threads_cell: figure_cell(&threads.threads_used),
    }];
    for (i, name) in timeout::CHECK_NAMES.iter().enumerate() {
        rows.push(Row {
            pattern: "timeout",
            scenario: name.replace('_', " "),
            async_cell: Cell::pair(result_cell(&current, i), result_cell(&multi, i)),
            threads_cell: result_cell(&threads, i),
        });
    }
    rows
}

/// Builds an implementation and counts the threads it started, the pool's or runtime's own.
fn measured_build<T>(build: impl FnOnce() -> Result<T, String>) -> Result<(T, i64), String> {
    let _alone = check::guard(true);
    let before = Resources::now().map_err(|e| format!("cannot read /proc/self: {e}"))?;
    let imp = build()?;
    // Threads a runtime starts may take a moment to appear; a short settle is enough.
    thread::sleep(Duration::from_millis(20));
    let after = Resources::now().map_err(|e| format!("cannot read /proc/self: {e}"))?;
    let started = i64::try_from(after.threads).unwrap_or(i64::MAX)
        - i64::try_from(before.threads).unwrap_or(i64::MAX);
    Ok((imp, started))
}

fn run_pattern<T>(
    built: Result<(T, i64), String>,
    checks: fn() -> Vec<Check<T>>,
    process_wide: &[&str],
) -> Run {
    let (imp, started) = match built {
        Ok(pair) => pair,
        Err(e) => {
            let results = checks()
                .iter()
                .map(|c| (c.name, Err(failure_to_build(&e))))
                .collect();
            return Run {
                threads_used: Err(e),
                results,
            };
        }
    };
    let results = checks()
        .into_iter()
        .map(|c| {
            let _process = check::guard(process_wide.contains(&c.name));
            (c.name, run_check(c.run, &imp))
        })
        .collect();
    Run {
        threads_used: Ok(started),
        results,
    }
}

fn failure_to_build(e: &str) -> bothways_spec::Failure {
    bothways_spec::Failure::new("an implementation to check", e)
}

fn join(h: thread::ScopedJoinHandle<'_, Run>) -> Run {
    h.join().unwrap_or_else(|p| Run {
        threads_used: Err("the runner thread panicked".into()),
        results: vec![(
            "runner",
            Err(bothways_spec::Failure::new(
                "no panic",
                check::panic_text(&*p),
            )),
        )],
    })
}

fn figure_cell(used: &Result<i64, String>) -> Cell {
    match used {
        Ok(n) => Cell::pass(vec![Figure::count("", *n, "threads")]),
        Err(e) => Cell::fail(e.clone()),
    }
}

fn result_cell(run: &Run, i: usize) -> Cell {
    match run.results.get(i) {
        Some((_, Ok(figures))) => Cell::pass(figures.clone()),
        Some((_, Err(failure))) => Cell::fail(failure.to_string()),
        None => Cell::fail("not run".into()),
    }
}

/// The CPU model, from /proc/cpuinfo, to name the machine the figures came from.
fn machine() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
