//! The `bothways` runner: every pattern's conformance checks in both styles on this machine,
//! printed as one table of verdicts and measured figures.

use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use bothways_bench::{EXPERIMENTS, Scale};
use bothways_spec::check::{self, run_check};
use bothways_spec::resources::Resources;
use bothways_spec::{
    Check, CheckResult, Failure, Figure, Flavour, actor, journal, pause, ticker, timeout,
};

mod progress;
mod report;
mod table;

use progress::Progress;
use table::{Cell, Row};

const USAGE: &str = "\
usage: bothways [--help] [--full] [--out DIR] [NAME...]

Runs every pattern's conformance checks in both styles — async on a current_thread and a
multi_thread tokio runtime, threads on std threads — then the experiments (spawn cost, memory
per idle task and thread, switch cost, C10K, the two async pitfalls), and prints one table:
pattern, scenario, then a verdict and the measured figures for each style.

  --full     the experiments at full size (1k to 50k tasks and threads, up to 10k
             connections): minutes, not seconds
  --out DIR  where report.html and report.json go (default: target/bothways)
  NAME       run only these patterns and experiments

Exits 1 if any check or experiment failed, 2 on bad arguments.";

/// Runs one pattern and returns its rows.
type Rows = fn(&Progress) -> Vec<Row>;

/// Every pattern the runner knows, in the order its rows appear, with its number of checks.
const PATTERNS: &[(&str, Rows, usize)] = &[
    ("timeout", timeout_rows, timeout::CHECK_NAMES.len()),
    ("ticker", ticker_rows, ticker::CHECK_NAMES.len()),
    ("pause", pause_rows, pause::CHECK_NAMES.len()),
    ("journal", journal_rows, journal::CHECK_NAMES.len()),
    ("actor", actor_rows, actor::CHECK_NAMES.len()),
];

/// What the command line asked for.
struct Args {
    full: bool,
    out: PathBuf,
    patterns: Vec<&'static (&'static str, Rows, usize)>,
    experiments: Vec<&'static (&'static str, bothways_bench::Runner)>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        full: false,
        out: default_out(),
        patterns: Vec::new(),
        experiments: Vec::new(),
    };
    let mut argv = std::env::args_os().skip(1);
    while let Some(arg) = argv.next() {
        let Some(arg) = arg.to_str() else {
            return Err(format!("not UTF-8: {arg:?}"));
        };
        match arg {
            "-h" | "--help" => return Ok(None),
            "--full" => args.full = true,
            "--out" => match argv.next() {
                Some(dir) => args.out = PathBuf::from(dir),
                None => return Err("--out needs a directory".into()),
            },
            name => {
                if let Some(p) = PATTERNS.iter().find(|(known, ..)| *known == name) {
                    args.patterns.push(p);
                } else if let Some(e) = EXPERIMENTS.iter().find(|(known, _)| *known == name) {
                    args.experiments.push(e);
                } else {
                    let known: Vec<&str> = PATTERNS
                        .iter()
                        .map(|(n, ..)| *n)
                        .chain(EXPERIMENTS.iter().map(|(n, _)| *n))
                        .collect();
                    return Err(format!(
                        "unknown name {name:?} (known: {})",
                        known.join(", ")
                    ));
                }
            }
        }
    }
    if args.patterns.is_empty() && args.experiments.is_empty() {
        args.patterns = PATTERNS.iter().collect();
        args.experiments = EXPERIMENTS.iter().collect();
    }
    Ok(Some(args))
}

/// `target/bothways` beside the binary's profile directory (`target/release/bothways`), so
/// `cargo run --release` writes under the workspace's target directory wherever it is.
fn default_out() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("bothways")))
        .unwrap_or_else(|| PathBuf::from("target/bothways"))
}

fn main() -> ExitCode {
    // The memory and C10K experiments re-execute this binary as their measured child.
    if let Some(code) = bothways_bench::child_main() {
        return code;
    }
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("bothways: {why}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let steps = args.patterns.iter().map(|(_, _, n)| 3 * n).sum::<usize>()
        + EXPERIMENT_STEPS * args.experiments.len();
    let progress = Progress::new(steps);
    let drawer = progress.draw();

    // The checks provoke panics on purpose (a panicking operation must become a typed error);
    // the default hook would print each one over the table. `run_check` still reports any
    // panic that escapes as a failed check.
    // Only while the checks run: a panic of the runner's own should still say where it was.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let rows: Vec<Row> = args
        .patterns
        .iter()
        .flat_map(|(_, rows, _)| rows(&progress))
        .collect();
    std::panic::set_hook(default_hook);
    let scale = if args.full { Scale::Full } else { Scale::Quick };
    let experiments: Vec<report::Experiment> = args
        .experiments
        .iter()
        .map(|(id, run)| run_experiment(id, *run, scale, &progress))
        .collect();
    let seconds = start.elapsed().as_secs_f64();
    progress.finish(drawer);

    let failed = rows.iter().any(Row::failed) || experiments.iter().any(|e| e.error.is_some());
    println!("{}", table::render(&rows));
    if !experiments.is_empty() {
        println!("\n{}", table::render_experiments(&experiments));
    }
    let date = report::ecosystem::utc(std::time::SystemTime::now());
    let ecosystem = ecosystem(&experiments, &date);
    if !ecosystem.is_empty() {
        println!("\nAgainst the ecosystem:\n{}", ecosystem.text());
    }
    let cores = thread::available_parallelism().map_or(0, usize::from);
    println!(
        "{} on {cores} cores, in {seconds:.1} s. async cells: current_thread / multi_thread.",
        machine(),
    );
    let report = report::Report {
        machine: machine(),
        cores,
        full: args.full,
        seconds,
        date,
        release: !cfg!(debug_assertions),
        command: command_line(),
        patterns: PATTERNS.iter().map(|(name, ..)| *name).collect(),
        rows: &rows,
        experiments: &experiments,
        ecosystem: &ecosystem,
    };
    match report.write(&args.out) {
        Ok(()) => println!(
            "report: {} (and report.json)",
            args.out.join("report.html").display()
        ),
        Err(e) => {
            eprintln!(
                "bothways: cannot write the report to {}: {e}",
                args.out.display()
            );
            return ExitCode::FAILURE;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

include!(concat!(env!("OUT_DIR"), "/peer_benches.rs"));

/// The "against the ecosystem" section: the workloads this run's experiments measured against
/// other crates, then criterion's saved estimates of the `*_peers` benches.
fn ecosystem(experiments: &[report::Experiment], date: &str) -> report::ecosystem::Ecosystem {
    let mut section = report::ecosystem::from_criterion(&criterion_dir(), PEER_BENCHES);
    let mut workloads: Vec<_> = experiments
        .iter()
        .flat_map(|e| report::ecosystem::from_run(&e.id, e.peers.clone(), &command_line(), date))
        .collect();
    workloads.append(&mut section.workloads);
    section.workloads = workloads;
    section
}

/// Where criterion keeps its estimates: `$CARGO_TARGET_DIR/criterion`, or `criterion` beside
/// this binary's profile directory (`target/release/bothways` → `target/criterion`).
fn criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| PathBuf::from(t).join("criterion"))
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| Some(exe.parent()?.parent()?.join("criterion")))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The command that reproduces this run, as a reader would type it.
fn command_line() -> String {
    let mut words = vec!["cargo run"];
    if !cfg!(debug_assertions) {
        words.push("--release");
    }
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if !args.is_empty() {
        words.push("--");
    }
    words.extend(args.iter().map(String::as_str));
    words.join(" ")
}

/// Steps of the progress bar one experiment is worth: each message it sends moves the bar by
/// one, up to all but the last, which its end takes.
const EXPERIMENT_STEPS: usize = 12;

/// Runs one experiment and turns its result into the report's terms; an experiment that
/// cannot run is shown with its error, and fails the run.
fn run_experiment(
    id: &str,
    run: bothways_bench::Runner,
    scale: Scale,
    progress: &Progress,
) -> report::Experiment {
    progress.stage(&format!("experiment {id} …"));
    let mut moved = 0;
    // An experiment that panics is a failed experiment, not a lost report.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(scale, &mut |what: &str| {
            progress.set_label(&format!("experiment {what}"));
            if moved + 1 < EXPERIMENT_STEPS {
                moved += 1;
                progress.step();
            }
        })
    }))
    .unwrap_or_else(|p| {
        Err(bothways_bench::Error::Panicked {
            what: format!("experiment {id}: {}", check::panic_text(&*p)),
        })
    });
    for _ in moved..EXPERIMENT_STEPS {
        progress.step();
    }
    match result {
        Ok(e) => report::Experiment {
            id: e.id.to_owned(),
            title: e.title,
            claim: e.claim,
            notes: e.notes,
            error: None,
            peers: e.peers,
            charts: e
                .charts
                .into_iter()
                .map(|c| report::Chart {
                    title: c.title,
                    x_label: c.x_label,
                    y_label: c.y_label,
                    log_x: c.log_x,
                    series: c
                        .series
                        .into_iter()
                        .map(|s| report::Series {
                            class: match s.style {
                                bothways_bench::Style::Async => "async",
                                bothways_bench::Style::Threads => "threads",
                            },
                            label: s.label,
                            points: s
                                .points
                                .into_iter()
                                // N is a count well below 2^53: exact as f64.
                                .map(|p| report::Point {
                                    n: p.n as f64,
                                    value: p.value,
                                    note: p.note,
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        },
        Err(e) => report::Experiment {
            id: id.to_owned(),
            title: id.to_owned(),
            claim: String::new(),
            charts: Vec::new(),
            notes: Vec::new(),
            error: Some(e.to_string()),
            peers: Vec::new(),
        },
    }
}

fn timeout_rows(progress: &Progress) -> Vec<Row> {
    use bothways_timeout_async::conformance::Conformance as Async;
    use bothways_timeout_threads::conformance::Conformance as Threads;
    pattern_rows(
        progress,
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

fn ticker_rows(progress: &Progress) -> Vec<Row> {
    use bothways_ticker_async::conformance::Conformance as Async;
    use bothways_ticker_threads::conformance::Conformance as Threads;
    pattern_rows(
        progress,
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

fn pause_rows(progress: &Progress) -> Vec<Row> {
    use bothways_pause_async::conformance::Conformance as Async;
    use bothways_pause_threads::conformance::Conformance as Threads;
    pattern_rows(
        progress,
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

fn journal_rows(progress: &Progress) -> Vec<Row> {
    use bothways_journal_async::conformance::Conformance as Async;
    use bothways_journal_threads::conformance::Conformance as Threads;
    pattern_rows(
        progress,
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

fn actor_rows(progress: &Progress) -> Vec<Row> {
    use bothways_actor_async::conformance::Conformance as Async;
    use bothways_actor_threads::conformance::Conformance as Threads;
    pattern_rows(
        progress,
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
    progress: &Progress,
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
    progress.stage(&format!(
        "{}: {} checks × threads and async (2 runtimes) …",
        pattern.name,
        pattern.names.len()
    ));
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
        let name = pattern.name;
        let th = s.spawn(|| run_all(built_threads, threads.checks, wide, (progress, name)));
        let current = s.spawn(|| run_all(built_current, asyncs.checks, wide, (progress, name)));
        let multi = s.spawn(|| run_all(built_multi, asyncs.checks, wide, (progress, name)));
        (join(th), join(current), join(multi))
    });

    let mut rows = vec![Row {
        pattern: pattern.name,
        scenario: table::THREADS_USED.into(),
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
    (progress, pattern): (&Progress, &str),
) -> Run {
    let (imp, started) = match built {
        Ok(pair) => pair,
        Err(e) => {
            let results = checks()
                .iter()
                .map(|_| {
                    progress.step();
                    Err(Failure::new("an implementation to check", e.as_str()))
                })
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
            progress.set_label(&format!("{pattern} · {}", c.name.replace('_', " ")));
            let result = run_check(c.run, &imp);
            progress.step();
            result
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
