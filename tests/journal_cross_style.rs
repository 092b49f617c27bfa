//! One file format, two styles: a journal directory written by the async crate replays through
//! the threads crate event for event, and the other way round — across many segments, and
//! after a torn tail; and one TCP protocol: each style's client follows the other style's
//! server.

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

/// Small segments, so that the journals here span several.
const SEGMENT: u64 = 16 << 10;

fn async_options() -> aj::Options {
    aj::Options {
        segment_size: SEGMENT,
        ..aj::Options::default()
    }
}

fn threads_options() -> tj::Options {
    tj::Options {
        segment_size: SEGMENT,
        ..tj::Options::default()
    }
}

/// Every file of a journal directory, by name, with its bytes.
fn files(dir: &std::path::Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    fn fail<T>(e: std::io::Error) -> T {
        panic!("the journal's directory: {e}")
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(fail)
        .map(|entry| {
            let path = entry.unwrap_or_else(fail).path();
            let bytes = std::fs::read(&path).unwrap_or_else(fail);
            (path.file_name().unwrap_or_default().to_owned(), bytes)
        })
        .collect();
    files.sort();
    files
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
        let journal = aj::Journal::open(&path, async_options()).await.unwrap();
        for seq in 1..=N {
            assert_eq!(journal.append(&event(seq)).await.unwrap(), seq);
        }
        journal.close().await.unwrap();
    });
    let journal = tj::Journal::open(&path, threads_options()).unwrap();
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
        let journal = tj::Journal::open(&path, threads_options()).unwrap();
        for seq in 1..=N {
            assert_eq!(journal.append(&event(seq)).unwrap(), seq);
        }
        journal.close().unwrap();
    }
    assert!(files(&path).len() > 4, "the journal spans several segments");
    // A torn tail written by neither, on the last segment: both must cut it the same way.
    let last = files(&path)
        .into_iter()
        .rfind(|(name, _)| name.to_string_lossy().ends_with(".seg"))
        .unwrap();
    let mut bytes = last.1;
    bytes.extend_from_slice(&[0, 0, 0, 9, 0, 0]);
    std::fs::write(path.join(&last.0), &bytes).unwrap();
    runtime().block_on(async {
        let journal = aj::Journal::open(&path, async_options()).await.unwrap();
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
        let journal = aj::Journal::open(&a, async_options()).await.unwrap();
        for seq in 1..=N {
            journal.append(&event(seq)).await.unwrap();
        }
        journal.close().await.unwrap();
    });
    let journal = tj::Journal::open(&t, threads_options()).unwrap();
    for seq in 1..=N {
        journal.append(&event(seq)).unwrap();
    }
    journal.close().unwrap();
    // The same files, named the same, byte for byte: segments, indexes.
    assert_eq!(files(&a), files(&t));
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
