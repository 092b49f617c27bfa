//! No thread is spawned per call: in a test binary of its own, since it counts the whole
//! process's threads and libtest runs a file's tests side by side.

use std::time::Duration;

use bothways_timeout_threads::Pool;

#[test]
fn no_thread_is_spawned_per_call() {
    let pool = Pool::new(2).unwrap();
    let threads = || {
        std::fs::read_dir("/proc/self/task")
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let before = threads();
    let mut peak = before;
    for _ in 0..2_000u32 {
        // Counted inside the operation too: a thread spawned and joined per call would show
        // there, though not after.
        let during = pool
            .run(Duration::from_secs(1), move |_| threads())
            .unwrap();
        peak = peak.max(during);
    }
    assert_eq!(threads(), before);
    assert_eq!(peak, before, "a call ran with more threads than the pool's");
}
