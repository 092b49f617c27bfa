//! Async-only machinery of the worker: on a flood that never empties its input, it still
//! yields to the other tasks of its runtime — `async_channel` knows nothing of tokio's budget,
//! so the worker spends it itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bothways_pause_async::Worker;

/// More items than one turn of tokio's budget lets the worker apply, by far.
const FLOOD: usize = 100_000;

#[test]
fn a_flooded_worker_lets_a_pauser_on_its_runtime_in() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        // The whole flood is in the input before the worker starts: it never finds it empty,
        // so it never waits, and only the budget makes it yield.
        let (tx, rx) = async_channel::bounded(FLOOD);
        for n in 0..FLOOD {
            tx.try_send(n).unwrap();
        }
        let done = Arc::new(AtomicUsize::new(0));
        let worker = {
            let done = Arc::clone(&done);
            Worker::spawn(rx, move |_| {
                done.fetch_add(1, Ordering::SeqCst);
                std::future::ready(())
            })
            .unwrap()
        };
        // One thread: the worker runs now, and this task runs again only once it yields.
        tokio::task::yield_now().await;
        let guard = worker.pause().await.unwrap();
        let at_pause = done.load(Ordering::SeqCst);
        assert!(
            at_pause > 0 && at_pause < FLOOD,
            "expected the worker to yield partway through the flood of {FLOOD}, \
             but the pauser got in after {at_pause} items"
        );
        drop(guard);
        drop(tx);
        worker.join().await.unwrap();
        assert_eq!(done.load(Ordering::SeqCst), FLOOD);
    });
}
