//! The two async pitfalls: a blocking handler delays its neighbour and spawn_blocking does not; a
//! std mutex held across .await deadlocks a current_thread runtime and tokio's mutex does not.

use std::time::Duration;

use bothways_bench::pitfalls::{
    Flavour, Handling, MutexKind, contend, neighbour_lateness, run_mutex,
};

const BLOCK: Duration = Duration::from_millis(200);
const STALL: Duration = Duration::from_millis(100);

#[test]
fn blocking_inline_stalls_the_neighbour_and_spawn_blocking_does_not() {
    let inline = neighbour_lateness(Flavour::CurrentThread, Handling::Inline, 1, BLOCK).unwrap();
    assert!(
        inline >= STALL,
        "neighbour only {inline:?} late while its worker slept {BLOCK:?}"
    );
    // Relative to the inline run measured here, not a fixed bound: load delays both alike.
    let pooled =
        neighbour_lateness(Flavour::CurrentThread, Handling::SpawnBlocking, 1, BLOCK).unwrap();
    assert!(
        pooled < inline / 2,
        "neighbour {pooled:?} late with spawn_blocking, {inline:?} inline"
    );
}

#[test]
fn std_mutex_across_await_deadlocks_current_thread() {
    let c = contend(MutexKind::Std, 2, Duration::from_secs(1)).unwrap();
    assert_eq!(
        (c.elapsed, c.rounds_done, c.rounds),
        (None, 0, 200),
        "rounds completed although the std guard was held across .await"
    );
}

#[test]
fn tokio_mutex_across_await_completes() {
    let c = contend(MutexKind::Tokio, 2, Duration::from_secs(10)).unwrap();
    assert!(
        c.elapsed.is_some(),
        "tokio mutex rounds did not finish in 10 s: {c:?}"
    );
    assert_eq!(c.rounds_done, 200, "{c:?}");
}

#[test]
fn mutex_experiment_reports_the_deadlock_as_a_missing_value() {
    let e = run_mutex(bothways_bench::Scale::Quick, &mut |_| {}).unwrap();
    let [std, tokio] = &e.charts[0].series[..] else {
        panic!("two series expected")
    };
    assert_eq!(std.points[0].value, None);
    assert!(
        std.points[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("0 of 200 rounds done after 1 s"))
    );
    assert!(tokio.points[0].value.is_some_and(|v| v > 0.0));
}
