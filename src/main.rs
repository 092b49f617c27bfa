//! The `bothways` runner: every pattern's conformance checks in both styles on this machine,
//! printed as one table of verdicts and measured figures.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use bothways_spec::check::{self, run_check};
use bothways_spec::resources::Resources;
use bothways_spec::{
    Check, CheckResult, Failure, Figure, Flavour, actor, journal, pause, ticker, timeout,
};

mod table;

use table::{Cell, Row};

const USAGE: &str = "\
usage: bothways [--help] [PATTERN...]

Runs every pattern's conformance checks in both styles — async on a current_thread and a
multi_thread tokio runtime, threads on std threads — and prints one table: pattern, scenario,
then a verdict and the measured figures for each style. Name patterns to run only those.
Exits 1 if any check failed, 2 on bad arguments.";

/// Runs one pattern and returns its rows.
type Rows = fn() -> Vec<Row>;

/// Every pattern the runner knows, in the order its rows appear.
const PATTERNS: &[(&str, Rows)] = &[
    ("timeout", timeout_rows),
    ("ticker", ticker_rows),
    ("pause", pause_rows),
    ("journal", journal_rows),
    ("actor", actor_rows),
];

fn main() -> ExitCode {
    let mut chosen = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            name => match PATTERNS.iter().find(|(known, _)| *known == name) {
                Some(pattern) => chosen.push(pattern),
                None => {
                    let known: Vec<&str> = PATTERNS.iter().map(|(n, _)| *n).collect();
                    eprintln!(
                        "bothways: unknown pattern {name:?} (known: {})\n\n{USAGE}",
                        known.join(", ")
                    );
                    return ExitCode::from(2);
                }
            },
        }
    }
    if chosen.is_empty() {
        chosen = PATTERNS.iter().collect();
    }
    // The checks provoke panics on purpose (a panicking operation must become a typed error);
    // the default hook would print each one over the table. `run_check` still reports any
    // panic that escapes as a failed check.
    // Only while the checks run: a panic of the runner's own should still say where it was.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let rows: Vec<Row> = chosen.iter().flat_map(|(_, rows)| rows()).collect();
    std::panic::set_hook(default_hook);
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

fn timeout_rows() -> Vec<Row> {
    use bothways_timeout_async::conformance::Conformance as Async;
    use bothways_timeout_threads::conformance::Conformance as Threads;
    pattern_rows(
        Pattern {
            name: "timeout",
            names: timeout::CHECK_NAMES,
            process_wide: timeout::PROCESS_WIDE,
        },
        Style {
            checks: timeout::checks,
            build: |()| Threads::new(),
        },
        Style {
            checks: timeout::checks,
            build: Async::new,
        },
    )
}

fn ticker_rows() -> Vec<Row> {
    use bothways_ticker_async::conformance::Conformance as Async;
    use bothways_ticker_threads::conformance::Conformance as Threads;
    pattern_rows(
        Pattern {
            name: "ticker",
            names: ticker::CHECK_NAMES,
            process_wide: ticker::PROCESS_WIDE,
        },
        Style {
            checks: ticker::checks,
            build: |()| Threads::new(),
        },
        Style {
            checks: ticker::checks,
            build: Async::new,
        },
    )
}

fn pause_rows() -> Vec<Row> {
    use bothways_pause_async::conformance::Conformance as Async;
    use bothways_pause_threads::conformance::Conformance as Threads;
    pattern_rows(
        Pattern {
            name: "pause",
            names: pause::CHECK_NAMES,
            process_wide: pause::PROCESS_WIDE,
        },
        Style {
            checks: pause::checks,
            build: |()| Threads::new(),
        },
        Style {
            checks: pause::checks,
            build: Async::new,
        },
    )
}

fn journal_rows() -> Vec<Row> {
    use bothways_journal_async::conformance::Conformance as Async;
    use bothways_journal_threads::conformance::Conformance as Threads;
    pattern_rows(
        Pattern {
            name: "journal",
            names: journal::CHECK_NAMES,
            process_wide: journal::PROCESS_WIDE,
        },
        Style {
            checks: journal::checks,
            build: |()| Threads::new(),
        },
        Style {
            checks: journal::checks,
            build: Async::new,
        },
    )
}

fn actor_rows() -> Vec<Row> {
    use bothways_actor_async::conformance::Conformance as Async;
    use bothways_actor_threads::conformance::Conformance as Threads;
    pattern_rows(
        Pattern {
            name: "actor",
            names: actor::CHECK_NAMES,
            process_wide: actor::PROCESS_WIDE,
        },
        Style {
            checks: actor::checks,
            build: |()| Threads::new(),
        },
        Style {
            checks: actor::checks,
            build: Async::new,
        },
    )
}

/// A pattern's published facts: its name, its checks in order, the ones that run alone.
struct Pattern {
    name: &'static str,
    names: &'static [&'static str],
    process_wide: &'static [&'static str],
}

/// One style of a pattern: its checks, and how to build its implementation from `A`
/// (nothing for threads, a runtime flavour for async).
struct Style<T, A, E> {
    checks: fn() -> Vec<Check<T>>,
    build: fn(A) -> Result<T, E>,
}

/// Builds the three implementations of a pattern, runs its checks on each side by side, and
/// lays the results out as rows: first the threads each implementation started, then one row
/// per check.
fn pattern_rows<Th, As, Et, Ea>(
    pattern: Pattern,
    threads: Style<Th, (), Et>,
    asyncs: Style<As, Flavour, Ea>,
) -> Vec<Row>
where
    Th: Send,
    As: Send,
    Et: std::fmt::Display,
    Ea: std::fmt::Display,
{
    eprintln!(
        "{}: {} checks × threads and async (2 runtimes) …",
        pattern.name,
        pattern.names.len()
    );
    let built_threads =
        measured_build(|| (threads.build)(()).map_err(|e| format!("cannot build: {e}")));
    let built_current = measured_build(|| {
        (asyncs.build)(Flavour::CurrentThread).map_err(|e| format!("cannot build: {e}"))
    });
    let built_multi = measured_build(|| {
        (asyncs.build)(Flavour::MultiThread).map_err(|e| format!("cannot build: {e}"))
    });

    // The three run side by side, as libtest runs the stamped tests: each check holds the
    // process lock, exclusively when it counts the whole process's threads, files or CPU.
    let wide = pattern.process_wide;
    let (th, current, multi) = thread::scope(|s| {
        let th = s.spawn(|| run_all(built_threads, threads.checks, wide));
        let current = s.spawn(|| run_all(built_current, asyncs.checks, wide));
        let multi = s.spawn(|| run_all(built_multi, asyncs.checks, wide));
        (join(th), join(current), join(multi))
    });

    let mut rows = vec![Row {
        pattern: pattern.name,
        scenario: "threads used".into(),
        async_cell: Cell::pair(
            threads_cell(&current.threads_used),
            threads_cell(&multi.threads_used),
        ),
        threads_cell: threads_cell(&th.threads_used),
    }];
    for (i, name) in pattern.names.iter().enumerate() {
        rows.push(Row {
            pattern: pattern.name,
            scenario: name.replace('_', " "),
            async_cell: Cell::pair(result_cell(&current, i), result_cell(&multi, i)),
            threads_cell: result_cell(&th, i),
        });
    }
    rows
}

/// One implementation's results: the threads it started, then each check in order.
struct Run {
    threads_used: Result<i64, String>,
    results: Vec<CheckResult>,
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

fn run_all<T>(
    built: Result<(T, i64), String>,
    checks: fn() -> Vec<Check<T>>,
    process_wide: &[&str],
) -> Run {
    let (imp, started) = match built {
        Ok(pair) => pair,
        Err(e) => {
            let results = checks()
                .iter()
                .map(|_| Err(Failure::new("an implementation to check", e.as_str())))
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
            run_check(c.run, &imp)
        })
        .collect();
    Run {
        threads_used: Ok(started),
        results,
    }
}

fn join(h: thread::ScopedJoinHandle<'_, Run>) -> Run {
    h.join().unwrap_or_else(|p| Run {
        threads_used: Err(format!(
            "the runner thread panicked: {}",
            check::panic_text(&*p)
        )),
        results: Vec::new(),
    })
}

fn threads_cell(used: &Result<i64, String>) -> Cell {
    match used {
        Ok(n) => Cell::pass(vec![Figure::count("", *n, "threads")]),
        Err(e) => Cell::fail(e.clone()),
    }
}

fn result_cell(run: &Run, i: usize) -> Cell {
    match run.results.get(i) {
        Some(Ok(figures)) => Cell::pass(figures.clone()),
        Some(Err(failure)) => Cell::fail(failure.to_string()),
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
