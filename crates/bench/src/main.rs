//! `bothways-bench`: runs the experiments standalone and prints their figures as text; also the
//! measured child (memory, echo server) that the experiments re-execute.
//!
//! Usage: `bothways-bench [--full] [experiment id …]` (default: every experiment, quick scale).

use std::process::ExitCode;
use std::time::Instant;

use bothways_bench::{EXPERIMENTS, Scale};

fn main() -> ExitCode {
    // First, before anything else: this process may be a child the experiments started.
    if let Some(code) = bothways_bench::child_main() {
        return code;
    }
    let mut scale = Scale::Quick;
    let mut only = Vec::new();
    // args_os, not args: a non-UTF-8 argument is a usage error (exit 2), never a panic.
    for arg in std::env::args_os().skip(1) {
        let Some(arg) = arg.to_str().map(str::to_owned) else {
            eprintln!(
                "{}",
                bothways_bench::Error::NotUtf8 {
                    arg: arg.to_string_lossy().into_owned()
                }
            );
            return ExitCode::from(2);
        };
        match arg.as_str() {
            "--full" => scale = Scale::Full,
            "--quick" => scale = Scale::Quick,
            id if EXPERIMENTS.iter().any(|(e, _)| *e == id) => only.push(id.to_owned()),
            other => {
                let ids: Vec<&str> = EXPERIMENTS.iter().map(|(id, _)| *id).collect();
                eprintln!(
                    "unknown argument {other:?}; usage: bothways-bench [--full] [{}]",
                    ids.join("|")
                );
                return ExitCode::from(2);
            }
        }
    }
    let all = Instant::now();
    let mut failed = false;
    for (id, run) in EXPERIMENTS {
        if !only.is_empty() && !only.iter().any(|o| o == id) {
            continue;
        }
        let t = Instant::now();
        match run(scale, &mut |msg| eprintln!("  … {msg}")) {
            Ok(e) => {
                println!(
                    "## {} ({id}, {:.1} s)\nclaim: {}",
                    e.title,
                    t.elapsed().as_secs_f64(),
                    e.claim
                );
                for c in &e.charts {
                    println!("### {} — y: {}, x: {}", c.title, c.y_label, c.x_label);
                    for s in &c.series {
                        let pts: Vec<String> = s
                            .points
                            .iter()
                            .map(|p| match (p.value, &p.note) {
                                (Some(v), None) => format!("N={}: {v:.3}", p.n),
                                (Some(v), Some(n)) => format!("N={}: {v:.3} ({n})", p.n),
                                (None, Some(n)) => format!("N={}: — ({n})", p.n),
                                (None, None) => format!("N={}: —", p.n),
                            })
                            .collect();
                        println!("  {:<45} {}", s.label, pts.join("  "));
                    }
                }
                for n in &e.notes {
                    println!("  * {n}");
                }
                println!();
            }
            Err(e) => {
                failed = true;
                eprintln!("{id}: FAILED: {e}");
            }
        }
    }
    println!("total: {:.1} s", all.elapsed().as_secs_f64());
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
