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

mod docs;
mod progress;
mod report;
mod table;

use progress::Progress;
use table::{Cell, Row};

const USAGE: &str = "\
usage: bothways [--help] [--full] [--out DIR] [NAME...]
       bothways --docs | --publish

Runs every pattern's conformance checks in both styles — async on a current_thread and a
multi_thread tokio runtime, threads on std threads — then the experiments (spawn cost, memory
per idle task and thread, switch cost, C10K, the two async pitfalls), and prints one table:
pattern, scenario, then a verdict and the measured figures for each style.

  --full     the experiments at full size (1k to 50k tasks and threads, up to 10k
             connections) and the journal's power cuts as in `cargo test` (1,000 per
             mode, 100 without it): minutes, not seconds
  --out DIR  where report.html and report.json go (default: target/bothways)
  NAME       run only these patterns and experiments
  --docs     write the snippets and measured tables of README.md and docs/ from the sources
             and docs/results/report.json (a test fails while they are stale), and exit
  --publish  copy the last run's report.json (from --out) to docs/results/, then --docs

Exits 1 if any check or experiment failed, 2 on bad arguments.";

/// Power cuts per durability mode in a quick run (see `main`).
const QUICK_POWER_CUTS: u64 = 100;

/// Every pattern the runner knows, in the order its rows appear: its checks, and the
/// constructors of its two implementations that they run on.
const PATTERNS: &[Pattern] = &[
    Pattern {
        name: "timeout",
        checks: timeout::CHECK_NAMES,
        process_wide: timeout::PROCESS_WIDE,
        impls: &Impls {
            threads: bothways_timeout_threads::conformance::Conformance::new,
            asyncs: bothways_timeout_async::conformance::Conformance::new,
            threads_checks: timeout::checks,
            async_checks: timeout::checks,
        },
    },
    Pattern {
        name: "ticker",
        checks: ticker::CHECK_NAMES,
        process_wide: ticker::PROCESS_WIDE,
        impls: &Impls {
            threads: bothways_ticker_threads::conformance::Conformance::new,
            asyncs: bothways_ticker_async::conformance::Conformance::new,
            threads_checks: ticker::checks,
            async_checks: ticker::checks,
        },
    },
    Pattern {
        name: "pause",
        checks: pause::CHECK_NAMES,
        process_wide: pause::PROCESS_WIDE,
        impls: &Impls {
            threads: bothways_pause_threads::conformance::Conformance::new,
            asyncs: bothways_pause_async::conformance::Conformance::new,
            threads_checks: pause::checks,
            async_checks: pause::checks,
        },
    },
    Pattern {
        name: "journal",
        checks: journal::CHECK_NAMES,
        process_wide: journal::PROCESS_WIDE,
        impls: &Impls {
            threads: bothways_journal_threads::conformance::Conformance::new,
            asyncs: bothways_journal_async::conformance::Conformance::new,
            threads_checks: journal::checks,
            async_checks: journal::checks,
        },
    },
    Pattern {
        name: "actor",
        checks: actor::CHECK_NAMES,
        process_wide: actor::PROCESS_WIDE,
        impls: &Impls {
            threads: bothways_actor_threads::conformance::Conformance::new,
            asyncs: bothways_actor_async::conformance::Conformance::new,
            threads_checks: actor::checks,
            async_checks: actor::checks,
        },
    },
];

/// A pattern as the runner knows it.
struct Pattern {
    name: &'static str,
    /// Its checks' names, in the order they run and their rows appear.
    checks: &'static [&'static str],
    /// The checks that count the whole process's threads, files or CPU, so run alone.
    process_wide: &'static [&'static str],
    /// Its two implementations and the checks each runs.
    impls: &'static dyn Implementations,
}

/// A pattern's two implementations: how to build each, and its checks for each type. The
/// checks are one generic function of the suite, named twice to be instantiated for each type.
struct Impls<Th, As, Et, Ea> {
    /// The threads implementation.
    threads: fn() -> Result<Th, Et>,
    /// The async implementation, on a runtime of the given flavour.
    asyncs: fn(Flavour) -> Result<As, Ea>,
    threads_checks: fn() -> Vec<Check<Th>>,
    async_checks: fn() -> Vec<Check<As>>,
}

/// What the runner needs of a pattern's [`Impls`], whatever their types, so the patterns fit
/// in one table.
trait Implementations {
    /// Builds the three implementations, runs the checks on each side by side, and lays the
    /// results out as rows.
    fn rows(&self, pattern: &Pattern, progress: &Progress) -> Vec<Row>;
}

impl<Th, As, Et, Ea> Implementations for Impls<Th, As, Et, Ea>
where
    Th: Send,
    As: Send,
    Et: std::fmt::Display,
    Ea: std::fmt::Display,
{
    fn rows(&self, pattern: &Pattern, progress: &Progress) -> Vec<Row> {
        pattern_rows(pattern, self, progress)
    }
}

/// What the command line asked for.
struct Args {
    full: bool,
    /// `--docs` or `--publish`: write the docs instead of running anything.
    docs: Option<bool>,
    out: PathBuf,
    patterns: Vec<&'static Pattern>,
    experiments: Vec<&'static (&'static str, bothways_bench::Runner)>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        full: false,
        docs: None,
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
            "--docs" => args.docs = Some(false),
            "--publish" => args.docs = Some(true),
            "--out" => match argv.next() {
                Some(dir) => args.out = PathBuf::from(dir),
                None => return Err("--out needs a directory".into()),
            },
            name => {
                if let Some(p) = PATTERNS.iter().find(|p| p.name == name) {
                    args.patterns.push(p);
                } else if let Some(e) = EXPERIMENTS.iter().find(|(known, _)| *known == name) {
                    args.experiments.push(e);
                } else {
                    let known: Vec<&str> = PATTERNS
                        .iter()
                        .map(|p| p.name)
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

/// `--docs`: the generated parts of README.md and docs/ written anew; with `--publish`, from
/// the last run's report.json, copied in first.
fn write_docs(out: &std::path::Path, publish: bool) -> ExitCode {
    let root = docs::root();
    if publish {
        let from = out.join("report.json");
        let to = root.join(docs::REPORT);
        if let Err(e) = std::fs::copy(&from, &to) {
            eprintln!(
                "bothways: cannot copy {} to {}: {e}",
                from.display(),
                to.display()
            );
            return ExitCode::FAILURE;
        }
    }
    match docs::write(&root) {
        Ok(written) => {
            for path in &written {
                println!("wrote {}", path.display());
            }
            if written.is_empty() {
                println!("the docs were current");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bothways: {e}");
            ExitCode::FAILURE
        }
    }
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
    if let Some(publish) = args.docs {
        return write_docs(&args.out, publish);
    }
    if !args.full {
        // The power cuts would otherwise be most of a quick run (1,000 per mode and style,
        // ~20 s a style in release); `cargo test` and `--full` still make them all, and the
        // figure in the table says how many ran. BOTHWAYS_POWER_CUTS still wins.
        bothways_spec::journal::set_power_cuts(QUICK_POWER_CUTS);
    }
    let steps = args
        .patterns
        .iter()
        .map(|p| 3 * p.checks.len())
        .sum::<usize>()
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
        .flat_map(|p| p.impls.rows(p, &progress))
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
        patterns: PATTERNS.iter().map(|p| p.name).collect(),
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
        .flat_map(|e| {
            let e = &e.measured;
            report::ecosystem::from_run(e.id, e.peers.clone(), &command_line(), date)
        })
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
    id: &'static str,
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
        Ok(measured) => report::Experiment {
            measured,
            error: None,
        },
        Err(e) => report::Experiment {
            measured: bothways_bench::Experiment {
                id,
                title: id.to_owned(),
                claim: String::new(),
                charts: Vec::new(),
                notes: Vec::new(),
                peers: Vec::new(),
            },
            error: Some(e.to_string()),
        },
    }
}

/// Builds the three implementations of a pattern, runs its checks on each side by side, and
/// lays the results out as rows: first the threads each implementation started, then one row
/// per check.
fn pattern_rows<Th, As, Et, Ea>(
    pattern: &Pattern,
    impls: &Impls<Th, As, Et, Ea>,
    progress: &Progress,
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
        pattern.checks.len()
    ));
    let built_threads =
        measured_build(|| (impls.threads)().map_err(|e| format!("cannot build: {e}")));
    let built_current = measured_build(|| {
        (impls.asyncs)(Flavour::CurrentThread).map_err(|e| format!("cannot build: {e}"))
    });
    let built_multi = measured_build(|| {
        (impls.asyncs)(Flavour::MultiThread).map_err(|e| format!("cannot build: {e}"))
    });

    // The three run side by side, as libtest runs the stamped tests: each check holds the
    // process lock, exclusively when it counts the whole process's threads, files or CPU.
    let wide = pattern.process_wide;
    let (threads_checks, async_checks) = (impls.threads_checks, impls.async_checks);
    let (th, current, multi) = thread::scope(|s| {
        let name = pattern.name;
        let th = s.spawn(|| run_all(built_threads, threads_checks, wide, (progress, name)));
        let current = s.spawn(|| run_all(built_current, async_checks, wide, (progress, name)));
        let multi = s.spawn(|| run_all(built_multi, async_checks, wide, (progress, name)));
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
    for (i, name) in pattern.checks.iter().enumerate() {
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
