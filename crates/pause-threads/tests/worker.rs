//! Threads-only machinery: a handle used from other threads, a worker that panics reported on
//! `join`, and limits too large for the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

use bothways_pause_threads::{Error, Worker};

#[test]
fn a_cloned_handle_pauses_from_another_thread() {
    let (tx, rx) = crossbeam_channel::bounded::<u32>(8);
    let done = Arc::new(AtomicU32::new(0));
    let worker = {
        let done = Arc::clone(&done);
        Worker::spawn(rx, move |_| {
            done.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap()
    };
    let handle = worker.handle();
    let guard = thread::spawn(move || handle.pause())
        .join()
        .unwrap()
        .unwrap();
    tx.send(1).unwrap();
    thread::sleep(Duration::from_millis(50));
    assert_eq!(done.load(Ordering::SeqCst), 0);
    drop(guard);
    drop(tx);
    worker.join().unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_effect_is_reported_by_join() {
    let (tx, rx) = crossbeam_channel::bounded::<u32>(1);
    let worker = Worker::spawn(rx, |n| {
        if n == 3 {
            panic!("three");
        }
    })
    .unwrap();
    for n in 0..4 {
        tx.send(n).unwrap();
    }
    match worker.join() {
        Err(Error::Panicked { message }) => assert_eq!(message, "three"),
        other => panic!("expected Panicked, got {other:?}"),
    }
}

#[test]
fn a_limit_too_large_for_the_clock_means_no_limit() {
    let (tx, rx) = crossbeam_channel::bounded::<u32>(1);
    let worker = Worker::spawn(rx, |_| thread::sleep(Duration::from_millis(50))).unwrap();
    tx.send(0).unwrap();
    thread::sleep(Duration::from_millis(10));
    let guard = worker.pause_within(Duration::MAX).unwrap();
    drop(guard);
    drop(tx);
    worker.join().unwrap();
}

#[test]
fn an_idle_worker_acknowledges_at_once() {
    // Nothing in the input: the worker is blocked waiting for an item and must still hear the
    // pause, through the wake-up channel it selects on.
    let (_tx, rx) = crossbeam_channel::bounded::<u32>(1);
    let worker = Worker::spawn(rx, |_| {}).unwrap();
    thread::sleep(Duration::from_millis(20));
    let guard = worker.pause_within(Duration::from_secs(1)).unwrap();
    drop(guard);
}
