//! Pruning: only later events stay, whole segments below the cut are deleted, a low-water
//! mark keeps the rest of the cut, and sequences continue.

use bothways_journal_async::{Error, Journal, MIN_SEGMENT, Options};

#[tokio::test]
async fn prune_deletes_whole_segments_and_keeps_the_rest_of_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events");
    let options = Options {
        segment_size: MIN_SEGMENT,
        ..Options::default()
    };
    let segments = |path: &std::path::Path| {
        std::fs::read_dir(path)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "seg")
            })
            .count()
    };
    let journal = Journal::open(&path, options).await.unwrap();
    for _ in 0..200 {
        journal.append(&[b'e'; 100]).await.unwrap();
    }
    journal.flush().await.unwrap();
    let before = segments(&path);
    assert!(
        before > 3,
        "200 events of 120 bytes in segments of 4 KiB: {before} segments"
    );
    journal.prune(150).await.unwrap();
    assert!(segments(&path) < before, "no segment was deleted");
    assert!(path.join("first").exists(), "no low-water mark");
    assert!(matches!(
        journal.subscribe(10).await,
        Err(Error::Pruned {
            from: 10,
            first: 151
        })
    ));
    let mut sub = journal.subscribe(151).await.unwrap();
    assert_eq!(sub.recv().await.unwrap().seq, 151);
    journal.close().await.unwrap();
    drop(journal);
    let journal = Journal::open(&path, options).await.unwrap();
    assert_eq!(journal.append(b"next").await.unwrap(), 201);
    assert!(matches!(
        journal.subscribe(150).await,
        Err(Error::Pruned { first: 151, .. })
    ));
}
