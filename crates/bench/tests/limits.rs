//! A point that hits a kernel limit is an empty point with the limit in its note, and the other
//! points of the experiment are still measured: here a pipe ring and a socketpair ring larger than
//! "Max open files".
//!
//! Its own test binary: it lowers this process's descriptor limit (with util-linux's `prlimit`,
//! as the crate has no `unsafe` for setrlimit), which would disturb any test running beside it.
//! The limit stays lowered for the rest of this binary's life: keep this file to one test.

use std::time::Duration;

use bothways_bench::switch;

#[test]
fn a_pipe_ring_past_the_descriptor_limit_fails_fast_and_alone() {
    let pid = std::process::id().to_string();
    let set = std::process::Command::new("prlimit")
        .args(["--pid", &pid, "--nofile=128:128"])
        .status();
    assert!(
        set.is_ok_and(|s| s.success()),
        "prlimit (util-linux) could not lower this process's descriptor limit"
    );
    // 100 members need 200 pipe or socket descriptors > 128; 8 members need 16.
    let e = switch::run_with(&[8, 100], Duration::from_millis(5), 1, &mut |_| {}).unwrap();
    let [pipe, socketpair, channel] = &e.charts[..] else {
        panic!("three charts expected")
    };
    for s in pipe.series.iter().chain(&socketpair.series) {
        let [small, big] = &s.points[..] else {
            panic!("{}: two points expected", s.label)
        };
        assert!(
            small.value.is_some_and(|v| v > 0.0),
            "{}: {small:?}",
            s.label
        );
        assert_eq!(big.value, None, "{}: {big:?}", s.label);
        let why = big.note.as_deref().unwrap_or_default();
        assert!(
            why.contains("Max open files") && why.contains("128") && why.contains("needs 200"),
            "{}: {why}",
            s.label
        );
    }
    // Channels need no descriptors: the same ring of 100 is measured.
    for s in &channel.series {
        assert!(
            s.points.iter().all(|p| p.value.is_some()),
            "{}: {:?}",
            s.label,
            s.points
        );
    }
    // And so is every channel crate, at the largest N up to 128.
    for table in &e.peers[1..] {
        for row in &table.rows {
            assert!(row.values[0].is_some(), "{}: {:?}", row.name, row.values);
        }
    }
}
