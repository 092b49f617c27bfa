//! The C10K experiment at ~20 clients: the echo server (a child process started from this crate's
//! binary) sends every byte back, in both styles, and a run past its deadline ends, never hangs.

use std::path::Path;
use std::time::{Duration, Instant};

use bothways_bench::{Style, c10k};

/// The crate's own binary: it calls child_main, so it can play the server.
const EXE: &str = env!("CARGO_BIN_EXE_bothways-bench");

#[test]
fn both_servers_echo_every_byte() {
    for style in [Style::Threads, Style::Async] {
        let s = c10k::measure(Path::new(EXE), style, &c10k::Load::new(20, 10)).unwrap();
        // Each echo is compared byte for byte by its client; a mismatch is an Err, not a count.
        assert_eq!(s.failure, None, "{style}");
        assert_eq!(
            s.echoes_done, 200,
            "{style}: every echo of every client came back"
        );
        if style == Style::Threads {
            // Each connection's thread touches at least one page (4 KiB) of its own stack, so the
            // threads server's resident memory must grow by at least that much per connection.
            assert!(
                s.rss_kib_per_conn() >= 4.0,
                "threads server grew {} KiB per connection: {s:?}",
                s.rss_kib_per_conn()
            );
        }
        assert!(
            s.echoes_per_sec > 0.0 && s.echoes_per_sec.is_finite(),
            "{style}: {s:?}"
        );
        assert!(0.0 < s.p50_us && s.p50_us <= s.p99_us, "{style}: {s:?}");
    }
}

#[test]
fn experiment_has_four_charts_with_both_servers() {
    let e = c10k::run_with(Path::new(EXE), &[10, 20], 3, 2, &mut |_| {}).unwrap();
    assert_eq!(e.charts.len(), 4);
    for c in &e.charts {
        assert_eq!(c.series.len(), 2, "{}", c.title);
        assert!(c.series.iter().any(|s| s.style == Style::Threads));
        assert!(c.series.iter().any(|s| s.style == Style::Async));
        for s in &c.series {
            let ns: Vec<u64> = s.points.iter().map(|p| p.n).collect();
            assert_eq!(ns, [10, 20], "{}/{}", c.title, s.label);
            assert!(c.y_label.contains("median of 2 runs"), "{}", c.y_label);
            assert!(
                s.points.iter().all(|p| p.note.is_none()),
                "{}/{}: {:?}",
                c.title,
                s.label,
                s.points
            );
        }
    }
}

#[test]
fn a_run_past_its_deadline_reports_instead_of_hanging() {
    let mut load = c10k::Load::new(200, 1_000_000);
    load.deadline = Duration::from_millis(300);
    let start = Instant::now();
    let s = c10k::measure(Path::new(EXE), Style::Threads, &load).unwrap();
    let failure = s.failure.unwrap();
    assert!(failure.contains("not done"), "{failure}");
    // Deadline, then at most the 5 s grace for the server to exit before it is killed.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn too_many_echoes_is_a_typed_error_not_an_overflow() {
    let s = c10k::measure(
        Path::new(EXE),
        Style::Async,
        &c10k::Load::new(4, usize::MAX),
    );
    let err = s.unwrap_err();
    assert!(err.to_string().contains("clients × echoes"), "{err}");
}
