//! The journal in async Rust: a server appends events and serves subscribers over TCP; a
//! client connects, asks for events from sequence 3, and gets the past ones, then live ones.
//!
//! Run with `cargo run --example journal_async`.

use std::error::Error;
use std::sync::Arc;

use bothways_journal_async::{Durability, Journal, Options, tcp};
use tokio::net::TcpListener;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let options = Options {
        durability: Durability::Append, // fsynced before append returns, with group commit
        ..Options::default()
    };
    let journal = Arc::new(Journal::open(dir.path().join("events"), options).await?);
    for i in 1..=5 {
        journal.append(format!("past event {i}").as_bytes()).await?;
    }

    // The server: one task per client, each subscribing for it.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(tcp::serve(Arc::clone(&journal), listener));

    // The client: from sequence 3, so events 3..=5 come from the file, then live ones.
    let mut client = tcp::Client::connect(addr, 3).await?;
    for i in 6..=8 {
        journal.append(format!("live event {i}").as_bytes()).await?;
    }
    for _ in 3..=8 {
        let event = client.recv().await?;
        println!(
            "{:>3}  {}",
            event.seq,
            String::from_utf8_lossy(&event.payload)
        );
    }
    journal.close().await?;
    Ok(())
}
