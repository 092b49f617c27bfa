//! No thread is spawned per call: in a test binary of its own, since it counts the whole
//! process's threads and libtest runs a file's tests side by side.

use std::time::Duration;

use bothways_timeout_threads::Pool;

#[test]
fn no_thread_is_spawned_per_call() {
    let pool = Pool::new(2).unwrap();
    let threads = || std::fs::read_dir("/proc/self/task").unwrap().count();
    let before = threads();
    for i in 0..2_000u32 {
        assert_eq!(pool.run(Duration::from_secs(1), move |_| i).unwrap(), i);
    }
    assert_eq!(threads(), before);
}
