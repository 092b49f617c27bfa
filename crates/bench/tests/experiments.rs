//! Behaviour of the in-process and memory experiments at tiny N: every point measured, sane, one
//! per N, both styles present. Not speed: no figure is compared with a target.

use std::path::Path;
use std::time::Duration;

use bothways_bench::{Experiment, Style, memory, spawn, switch};

/// The crate's own binary: it calls child_main, so the memory children can be started from it.
const EXE: &str = env!("CARGO_BIN_EXE_bothways-bench");

/// Every chart has both styles and one measured, positive, finite point per N, in order.
fn assert_sane(e: &Experiment, ns: &[u64]) {
    assert!(!e.charts.is_empty(), "{}: no chart", e.id);
    assert!(!e.notes.is_empty(), "{}: no finding", e.id);
    for c in &e.charts {
        for style in [Style::Async, Style::Threads] {
            assert!(
                c.series.iter().any(|s| s.style == style),
                "{}/{}: no {style} series",
                e.id,
                c.title
            );
        }
        for s in &c.series {
            let got: Vec<u64> = s.points.iter().map(|p| p.n).collect();
            assert_eq!(got, ns, "{}/{}/{}: points", e.id, c.title, s.label);
            for p in &s.points {
                let v = p.value;
                assert!(
                    v.is_some_and(|v| v.is_finite() && v > 0.0),
                    "{}/{}/{} at N={}: value {v:?} ({:?})",
                    e.id,
                    c.title,
                    s.label,
                    p.n,
                    p.note
                );
            }
        }
    }
}

#[test]
fn spawn_measures_every_variant_at_every_n() {
    let mut messages = 0;
    let e = spawn::run_with(&[1, 10], Duration::from_millis(5), &mut |_| messages += 1).unwrap();
    assert_eq!(e.id, "spawn");
    assert_sane(&e, &[1, 10]);
    assert_eq!(e.charts[0].series.len(), 3);
    assert_eq!(messages, 6, "one progress message per point");
}

#[test]
fn memory_counts_resident_growth_of_tasks_and_threads() {
    let e = memory::run_with(Path::new(EXE), &[1_000, 2_000], &mut |_| {}).unwrap();
    assert_eq!(e.id, "memory");
    assert_sane(&e, &[1_000, 2_000]);
    // Address space: every thread reserves at least its 64 KiB stack, whether touched or not.
    let vm = &e.charts[1];
    for s in vm.series.iter().filter(|s| s.style == Style::Threads) {
        for p in &s.points {
            let v = p.value.unwrap();
            assert!(
                v >= 64.0,
                "{} at {}: {v} KiB of address space per thread",
                s.label,
                p.n
            );
        }
    }
    // The reserved-vs-resident finding is computed from both thread series at each N.
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("stacks differ by 1,984 KiB")),
        "{:#?}",
        e.notes
    );
}

#[test]
fn memory_child_reports_every_unit_started() {
    let s = memory::measure(Path::new(EXE), memory::Unit::Thread(Some(64 * 1024)), 50).unwrap();
    assert_eq!((s.requested, s.spawned, s.stopped), (50, 50, None));
    let s = memory::measure(Path::new(EXE), memory::Unit::Task, 50).unwrap();
    assert_eq!((s.requested, s.spawned, s.stopped), (50, 50, None));
}

#[test]
fn unknown_child_role_fails_cleanly() {
    let out = std::process::Command::new(EXE)
        .args(["__bothways-bench-child", "no-such-role"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown child role"));
}

#[test]
fn switch_rings_pass_the_token_in_every_medium() {
    let e = switch::run_with(&[2, 8], Duration::from_millis(10), 3, &mut |_| {}).unwrap();
    assert_eq!(e.id, "switch");
    assert_sane(&e, &[2, 8]);
    assert_eq!(e.charts.len(), 3, "pipe, socketpair and channel");
    // Against the ecosystem: pipes against socketpairs, and a table per style of channel, at
    // the largest N up to 128.
    let workloads: Vec<&str> = e.peers.iter().map(|p| p.workload.as_str()).collect();
    assert_eq!(workloads.len(), 3, "{workloads:?}");
    assert!(
        workloads
            .iter()
            .all(|w| w.starts_with("Token ring of 8 ") || w.starts_with("Token ring of 8:")),
        "{workloads:?}"
    );
    let crates: Vec<&str> = e.peers[1..]
        .iter()
        .flat_map(|p| p.rows.iter().map(|r| r.name.as_str()))
        .collect();
    assert_eq!(
        crates,
        [
            "crossbeam-channel",
            "std mpsc",
            "flume",
            "async-channel",
            "tokio mpsc",
            "flume"
        ]
    );
    for table in &e.peers {
        assert!(table.rows.iter().any(|r| r.bothways), "{}", table.workload);
        for row in &table.rows {
            assert_eq!(row.values.len(), table.columns.len(), "{}", row.name);
            // The first column is measured on every row; a ratio may have nothing to divide.
            assert!(
                row.values[0].is_some_and(|v| v > 0.0),
                "{}: {:?}",
                row.name,
                row.values
            );
        }
    }
}

#[test]
fn memory_child_reports_a_failed_thread_spawn_instead_of_panicking() {
    // A stack larger than the address space: the very first spawn fails, as the 32,000th does when
    // the kernel's limits are reached.
    let s = memory::measure(
        Path::new(EXE),
        memory::Unit::Thread(Some(usize::MAX / 4)),
        10,
    )
    .unwrap();
    assert_eq!((s.requested, s.spawned), (10, 0));
    let why = s.stopped.unwrap();
    assert!(why.contains("spawn failed at 0 of 10"), "{why}");
}

#[test]
fn one_failed_memory_point_leaves_the_others_measured() {
    // N above the maximum fails (a typed error naming the limit) while N = 1,000 is measured.
    let too_many = memory::MAX_UNITS + 1;
    let e = memory::run_with(Path::new(EXE), &[1_000, too_many], &mut |_| {}).unwrap();
    for c in &e.charts {
        for s in &c.series {
            let [ok, failed] = &s.points[..] else {
                panic!(
                    "{}/{}: two points expected: {:?}",
                    c.title, s.label, s.points
                )
            };
            assert!(ok.value.is_some_and(|v| v > 0.0), "{}: {ok:?}", s.label);
            assert_eq!((failed.n, failed.value), (too_many, None), "{}", s.label);
            let why = failed.note.as_deref().unwrap_or_default();
            assert!(why.contains("maximum of 1000000"), "{}: {why}", s.label);
        }
    }
    assert!(
        e.notes.iter().any(|n| n.contains("not measured")),
        "{:#?}",
        e.notes
    );
}

#[test]
fn memory_child_refuses_a_count_above_its_maximum() {
    // Straight to the child, bypassing the parent's check: it must not allocate from the argument.
    let out = std::process::Command::new(EXE)
        .args([
            "__bothways-bench-child",
            "memory",
            "thread",
            "18446744073709551615",
            "0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("above the maximum"), "{err}");
}

#[cfg(unix)]
#[test]
fn non_utf8_arguments_exit_2_instead_of_panicking() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"--f\xffull");
    for args in [
        vec![bad],
        vec![std::ffi::OsStr::new("__bothways-bench-child"), bad],
    ] {
        let out = std::process::Command::new(EXE)
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("not valid UTF-8"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
