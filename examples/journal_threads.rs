//! The journal with OS threads: a server appends events and serves subscribers over TCP; a
//! client connects, asks for events from sequence 3, and gets the past ones, then live ones.
//!
//! Run with `cargo run --example journal_threads`.

use std::error::Error;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;

use bothways_journal_threads::{Durability, Journal, Options, tcp};

fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let options = Options {
        durability: Durability::Append, // fsynced before append returns, with group commit
        ..Options::default()
    };
    let journal = Arc::new(Journal::open(dir.path().join("events"), options)?);
    for i in 1..=5 {
        journal.append(format!("past event {i}").as_bytes())?;
    }

    // The server: one thread per client, each subscribing for it.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::spawn({
        let journal = Arc::clone(&journal);
        move || tcp::serve(journal, listener)
    });

    // The client: from sequence 3, so events 3..=5 come from the file, then live ones.
    let mut client = tcp::Client::connect(addr, 3)?;
    for i in 6..=8 {
        journal.append(format!("live event {i}").as_bytes())?;
    }
    for _ in 3..=8 {
        let event = client.recv()?;
        println!(
            "{:>3}  {}",
            event.seq,
            String::from_utf8_lossy(&event.payload)
        );
    }
    journal.close()?;
    Ok(())
}
