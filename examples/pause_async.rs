//! The pause pattern in async: a journal writer task whose select loop stops polling its input
//! while a new reader copies the history. Run with `cargo run --example pause_async`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bothways_pause_async::async_channel::bounded;
use bothways_pause_async::{Error, Worker};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let journal = Arc::new(Mutex::new(Vec::<String>::new()));
    let (events, input) = bounded::<String>(64);
    let writer = {
        let journal = Arc::clone(&journal);
        Worker::spawn(input, move |event: String| {
            let journal = Arc::clone(&journal);
            async move {
                if event == "slow" {
                    tokio::time::sleep(Duration::from_millis(200)).await; // a long write
                }
                journal
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(event);
            }
        })?
    };

    // A producer flooding the writer with events.
    let producer = tokio::spawn(async move {
        for n in 0..200_000 {
            if events.send(format!("event {n}")).await.is_err() {
                break;
            }
        }
        events
    });
    tokio::time::sleep(Duration::from_millis(20)).await;

    // A new reader joins: pause the writer, copy the history, resume.
    let asked = Instant::now();
    let guard = writer.pause().await?;
    let history = journal.lock().unwrap_or_else(PoisonError::into_inner).len();
    println!(
        "paused after {:?}; copying {history} events",
        asked.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(50)).await; // the copy takes a while
    let after = journal.lock().unwrap_or_else(PoisonError::into_inner).len();
    println!("journal length before and after the copy: {history} = {after}");
    drop(guard);

    let events = producer.await?;
    // A long write in progress cannot be waited out in 20 ms: a typed error, and the writer
    // goes on.
    events.send("slow".to_owned()).await?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    match writer.pause_within(Duration::from_millis(20)).await {
        Err(Error::PauseTimeout { waited }) => println!("gave up pausing after {waited:?}"),
        other => println!("unexpected: {other:?}"),
    }
    drop(events);
    writer.join().await?;
    let total = journal.lock().unwrap_or_else(PoisonError::into_inner).len();
    println!("writer drained and stopped: {total} events in the journal");
    Ok(())
}
