//! One file format, two styles: a journal written by the async crate replays through the
//! threads crate event for event, and the other way round — including after a torn tail; and
//! one TCP protocol: each style's client follows the other style's server.

#![cfg(all(feature = "async", feature = "threads"))]

use std::sync::Arc;
use std::time::Duration;

use bothways_journal_async as aj;
use bothways_journal_threads as tj;

const N: u64 = 2_000;

fn event(seq: u64) -> Vec<u8> {
    // Varied lengths, so a framing slip would show.
    format!("event {seq} {}", "x".repeat((seq % 97) as usize)).into_bytes()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("a runtime: {e}"))
}

#[test]
fn async_written_file_replays_through_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events");
    runtime().block_on(async {
        let journal = aj::Journal::open(&path, aj::Options::default())
            .await
            .unwrap();
        for seq in 1..=N {
            assert_eq!(journal.append(&event(seq)).await.unwrap(), seq);
        }
        journal.close().await.unwrap();
    });
    let journal = tj::Journal::open(&path, tj::Options::default()).unwrap();
    let mut sub = journal.subscribe(1).unwrap();
    for seq in 1..=N {
        let got = sub.recv().unwrap();
        assert_eq!((got.seq, got.payload), (seq, event(seq)));
    }
    assert_eq!(sub.recv_timeout(Duration::from_millis(20)).unwrap(), None);
    // And the threads journal continues the async one's sequence.
    assert_eq!(journal.append(b"next").unwrap(), N + 1);
    journal.close().unwrap();
}

#[test]
fn threads_written_file_replays_through_async() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events");
    {
        let journal = tj::Journal::open(&path, tj::Options::default()).unwrap();
        for seq in 1..=N {
            assert_eq!(journal.append(&event(seq)).unwrap(), seq);
        }
        journal.close().unwrap();
    }
    // A torn tail written by neither: both must cut it the same way.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0, 0, 0, 9, 0, 0]);
    std::fs::write(&path, &bytes).unwrap();
    runtime().block_on(async {
        let journal = aj::Journal::open(&path, aj::Options::default())
            .await
            .unwrap();
        assert_eq!(journal.recovered().map(|t| t.len), Some(6));
        let mut sub = journal.subscribe(1).await.unwrap();
        for seq in 1..=N {
            let got = sub.recv().await.unwrap();
            assert_eq!((got.seq, got.payload), (seq, event(seq)));
        }
        assert_eq!(journal.append(b"next").await.unwrap(), N + 1);
        journal.close().await.unwrap();
    });
}

#[test]
fn both_styles_write_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = (dir.path().join("async"), dir.path().join("threads"));
    runtime().block_on(async {
        let journal = aj::Journal::open(&a, aj::Options::default()).await.unwrap();
        for seq in 1..=100 {
            journal.append(&event(seq)).await.unwrap();
        }
        journal.close().await.unwrap();
    });
    let journal = tj::Journal::open(&t, tj::Options::default()).unwrap();
    for seq in 1..=100 {
        journal.append(&event(seq)).unwrap();
    }
    journal.close().unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&t).unwrap());
}

#[test]
fn async_client_follows_threads_server() {
    let dir = tempfile::tempdir().unwrap();
    let journal =
        Arc::new(tj::Journal::open(dir.path().join("events"), tj::Options::default()).unwrap());
    for seq in 1..=10 {
        journal.append(&event(seq)).unwrap();
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Arc::clone(&journal);
    std::thread::spawn(move || tj::tcp::serve(server, listener));
    let runtime = runtime();
    let mut client = runtime.block_on(aj::tcp::Client::connect(addr, 5)).unwrap();
    for seq in 5..=10 {
        let got = runtime.block_on(client.recv()).unwrap();
        assert_eq!((got.seq, got.payload), (seq, event(seq)));
    }
    // Live, after the history.
    assert_eq!(journal.append(&event(11)).unwrap(), 11);
    let got = runtime.block_on(client.recv()).unwrap();
    assert_eq!((got.seq, got.payload), (11, event(11)));
    journal.close().unwrap();
    assert!(matches!(
        runtime.block_on(client.recv()),
        Err(aj::Error::Closed)
    ));
}

#[test]
fn threads_client_follows_async_server() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let journal = runtime.block_on(async {
        let journal = Arc::new(
            aj::Journal::open(dir.path().join("events"), aj::Options::default())
                .await
                .unwrap(),
        );
        for seq in 1..=10 {
            journal.append(&event(seq)).await.unwrap();
        }
        journal
    });
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(aj::tcp::serve(Arc::clone(&journal), listener));
    let mut client = tj::tcp::Client::connect(addr, 5).unwrap();
    for seq in 5..=10 {
        let got = client.recv().unwrap();
        assert_eq!((got.seq, got.payload), (seq, event(seq)));
    }
    assert_eq!(runtime.block_on(journal.append(&event(11))).unwrap(), 11);
    let got = client.recv().unwrap();
    assert_eq!((got.seq, got.payload), (11, event(11)));
    runtime.block_on(journal.close()).unwrap();
    assert!(matches!(client.recv(), Err(tj::Error::Closed)));
}
