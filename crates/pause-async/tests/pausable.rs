//! Async-only machinery: the `Pausable` wrapper around any future or stream, a pause that is
//! cancelled withdrawing its request, and a worker asked for outside a runtime. Time runs on
//! tokio's paused clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bothways_pause_async::{Error, Pausable, Worker};
use futures::StreamExt;

fn counting(ticks: &Arc<AtomicU32>) -> impl Future<Output = ()> + use<> {
    let ticks = Arc::clone(ticks);
    async move {
        loop {
            ticks.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_paused_future_is_not_polled_and_resumes() {
    let ticks = Arc::new(AtomicU32::new(0));
    let pausable = Pausable::new(counting(&ticks));
    let handle = pausable.handle();
    let task = tokio::spawn(pausable);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let guard = handle.pause().await.unwrap();
    let frozen = ticks.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(ticks.load(Ordering::SeqCst), frozen);
    drop(guard);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(ticks.load(Ordering::SeqCst) > frozen);
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_pause_before_the_first_poll_is_granted_at_once() {
    let ticks = Arc::new(AtomicU32::new(0));
    let pausable = Pausable::new(counting(&ticks));
    let guard = pausable.handle().pause().await.unwrap();
    let task = tokio::spawn(pausable);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(ticks.load(Ordering::SeqCst), 0);
    drop(guard);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(ticks.load(Ordering::SeqCst) > 0);
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn two_guards_on_a_pausable_both_hold_it() {
    let ticks = Arc::new(AtomicU32::new(0));
    let pausable = Pausable::new(counting(&ticks));
    let handle = pausable.handle();
    let task = tokio::spawn(pausable);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let first = handle.pause().await.unwrap();
    let second = handle.pause().await.unwrap();
    let frozen = ticks.load(Ordering::SeqCst);
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(ticks.load(Ordering::SeqCst), frozen);
    drop(second);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(ticks.load(Ordering::SeqCst) > frozen);
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_paused_stream_yields_nothing_and_then_everything() {
    let mut numbers = Pausable::new(futures::stream::iter(0..5));
    let guard = numbers.handle().pause().await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(1), numbers.next()).await;
    assert!(next.is_err(), "a paused stream yielded {next:?}");
    drop(guard);
    let all: Vec<_> = numbers.collect().await;
    assert_eq!(all, [0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn a_finished_or_dropped_pausable_is_stopped() {
    let done = Pausable::new(async { 7 });
    let handle = done.handle();
    assert_eq!(done.await, 7);
    assert!(matches!(handle.pause().await, Err(Error::Stopped)));

    let dropped = Pausable::new(std::future::pending::<()>());
    let handle = dropped.handle();
    drop(dropped);
    assert!(matches!(handle.pause().await, Err(Error::Stopped)));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_pause_withdraws_its_request() {
    let (tx, rx) = async_channel::bounded::<u32>(8);
    let done = Arc::new(AtomicU32::new(0));
    let worker = {
        let done = Arc::clone(&done);
        Worker::spawn(rx, move |_| {
            let done = Arc::clone(&done);
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                done.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap()
    };
    tx.send(0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    // Dropped before the item ends: the worker must not stay parked for a caller who left.
    let gave_up = tokio::time::timeout(Duration::from_millis(50), worker.pause()).await;
    assert!(gave_up.is_err());
    tx.send(1).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(done.load(Ordering::SeqCst), 2);
    drop(tx);
    worker.join().await.unwrap();
}

#[test]
fn a_worker_outside_a_runtime_is_a_typed_error() {
    let (_tx, rx) = async_channel::bounded::<u32>(1);
    let spawned = Worker::spawn(rx, |_| async {});
    assert!(matches!(spawned, Err(Error::NoRuntime)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_multi_thread_a_pause_waits_for_the_poll_in_progress() {
    // One poll that takes 100 ms, on another worker thread: "stop polling it" cannot stop a
    // poll already running, so the pause must wait for the acknowledgement at its end.
    let ended = Arc::new(AtomicU32::new(0));
    let started = Arc::new(AtomicU32::new(0));
    let slow_poll = {
        let (started, ended) = (Arc::clone(&started), Arc::clone(&ended));
        std::future::poll_fn(move |_| {
            started.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(100));
            ended.fetch_add(1, Ordering::SeqCst);
            std::task::Poll::<()>::Pending
        })
    };
    let pausable = Pausable::new(slow_poll);
    let handle = pausable.handle();
    let task = tokio::spawn(pausable);
    while started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let guard = handle.pause().await.unwrap();
    assert_eq!(ended.load(Ordering::SeqCst), 1, "pause returned mid-poll");
    drop(guard);
    task.abort();
}
