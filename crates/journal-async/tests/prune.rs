//! Pruning: only later events stay, atomically, and sequences continue.

use bothways_journal_async::{Error, Journal, Options};

#[tokio::test]
async fn prune_rewrites_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events");
    let journal = Journal::open(&path, Options::default()).await.unwrap();
    for _ in 0..50 {
        journal.append(b"e").await.unwrap();
    }
    journal.prune(30).await.unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let header = bothways_journal_format::Header::decode(&bytes).unwrap();
    assert_eq!(header.base_seq, 31);
    assert!(matches!(
        journal.subscribe(10).await,
        Err(Error::Pruned {
            from: 10,
            first: 31
        })
    ));
    assert!(!dir.path().join("events.prune").exists());
}
