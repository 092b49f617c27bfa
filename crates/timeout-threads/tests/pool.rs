//! The threads timeout's own machinery: the pool, the token, the listener mode `accept`
//! restores, and the shutdown timer `fetch_line` arms. The shared suite checks behaviour;
//! these check the parts only threads have.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bothways_timeout_threads::{CancelToken, Error, Pool, accept, fetch_line};

#[test]
fn a_pool_of_zero_workers_is_a_typed_error() {
    assert!(matches!(Pool::new(0), Err(Error::NoWorkers)));
}

#[test]
fn cancel_wakes_a_sleeping_operation_at_once() {
    let token = CancelToken::after(Duration::from_secs(60));
    let sleeper = {
        let token = token.clone();
        thread::spawn(move || {
            let start = Instant::now();
            let slept = token.sleep(Duration::from_secs(60));
            (slept.is_err(), start.elapsed())
        })
    };
    thread::sleep(Duration::from_millis(50));
    token.cancel();
    let (cancelled, took) = sleeper.join().unwrap();
    assert!(cancelled);
    assert!(
        took < Duration::from_secs(5),
        "sleep ignored cancel for {took:?}"
    );
}

#[test]
fn remaining_is_never_zero() {
    let token = CancelToken::after(Duration::ZERO);
    assert!(matches!(token.remaining(), Err(Error::Elapsed { .. })));
    assert_eq!(CancelToken::after(Duration::MAX).remaining().unwrap(), None);
    assert!(CancelToken::after(Duration::MAX).deadline().is_none());
}

#[test]
fn a_job_still_queued_at_its_deadline_never_starts() {
    let pool = Pool::new(1).unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = crossbeam_channel::bounded(1);
    // Occupy the only worker with an operation that ignores its token until released.
    let hog = {
        let release = release.clone();
        move |_: &CancelToken| {
            let _ = started_tx.send(());
            while !release.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(1));
            }
        }
    };
    let blocked = thread::scope(|s| {
        let first = s.spawn(|| pool.run(Duration::from_millis(20), hog));
        // Queue the second job only once the hog holds the worker.
        started_rx.recv().unwrap();
        let started = Arc::new(AtomicUsize::new(0));
        let queued = {
            let started = started.clone();
            pool.run(Duration::from_millis(20), move |_| {
                started.fetch_add(1, Ordering::SeqCst)
            })
        };
        release.store(true, Ordering::SeqCst);
        let first = first.join().unwrap();
        // Let the worker reach the queued job, which it must drop unrun.
        let after = pool.run(Duration::from_secs(2), |_| ());
        (first, queued, after, started.load(Ordering::SeqCst))
    });
    let (first, queued, after, started) = blocked;
    assert!(matches!(first, Err(Error::Elapsed { .. })));
    assert!(matches!(queued, Err(Error::Elapsed { .. })));
    assert!(after.is_ok());
    assert_eq!(started, 0, "a job whose caller was told Elapsed ran anyway");
}

#[test]
fn accept_leaves_the_listener_non_blocking_for_concurrent_callers() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    assert!(matches!(
        accept(&listener, Duration::from_millis(10)),
        Err(Error::Elapsed { .. })
    ));
    // Restoring blocking mode would strand a concurrent caller in a blocking accept.
    let plain = listener.accept();
    assert_eq!(
        plain.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::WouldBlock)
    );
    let addr = listener.local_addr().unwrap();
    let client = TcpStream::connect(addr).unwrap();
    let (stream, peer) = accept(&listener, Duration::from_secs(2)).unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    // The accepted stream itself is blocking, as std's callers expect: a read waits out its
    // timeout instead of failing at once.
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let start = Instant::now();
    let read = std::io::Read::read(&mut &stream, &mut [0u8; 1]);
    assert_eq!(
        read.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::WouldBlock)
    );
    assert!(
        start.elapsed() >= Duration::from_millis(40),
        "the read did not wait"
    );
}

#[test]
fn a_finished_fetch_lets_go_of_its_connection_at_once() {
    // The shutdown timer shares the stream until its deadline unless the fetch disarms it on
    // the way out; then the peer would see the close only a minute later.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"hi\n").unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        // Returns at the client's close, or after 10 s.
        let _ = stream.read_to_end(&mut Vec::new());
        Instant::now()
    });
    let line = fetch_line(addr, Duration::from_secs(60), 64).unwrap();
    let returned = Instant::now();
    assert_eq!(line, b"hi");
    let closed = server.join().unwrap();
    let after = closed.saturating_duration_since(returned);
    assert!(
        after < Duration::from_secs(5),
        "expected the connection closed when the fetch returned; saw it closed {after:?} after"
    );
}
