//! The pause pattern with threads: a journal writer on its own thread, asked to stop between
//! two events while a new reader copies the history. Run with
//! `cargo run --example pause_threads`.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use bothways_pause_threads::crossbeam_channel::bounded;
use bothways_pause_threads::{Error, Worker};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let journal = Arc::new(Mutex::new(Vec::<String>::new()));
    let (events, input) = bounded::<String>(64);
    let writer = {
        let journal = Arc::clone(&journal);
        Worker::spawn(input, move |event: String| {
            if event == "slow" {
                thread::sleep(Duration::from_millis(200)); // a long write
            }
            journal
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(event);
        })?
    };

    // A producer flooding the writer with events.
    let producer = thread::spawn(move || {
        for n in 0..200_000 {
            if events.send(format!("event {n}")).is_err() {
                break;
            }
        }
        events
    });
    thread::sleep(Duration::from_millis(20));

    // A new reader joins: pause the writer, copy the history, resume.
    let asked = Instant::now();
    let guard = writer.pause()?;
    let history = journal.lock().unwrap_or_else(PoisonError::into_inner).len();
    println!(
        "paused after {:?}; copying {history} events",
        asked.elapsed()
    );
    thread::sleep(Duration::from_millis(50)); // the copy takes a while
    let after = journal.lock().unwrap_or_else(PoisonError::into_inner).len();
    println!("journal length before and after the copy: {history} = {after}");
    drop(guard);

    let events = producer.join().map_err(|_| "the producer panicked")?;
    // A long write in progress cannot be waited out in 20 ms: a typed error, and the writer
    // goes on.
    events.send("slow".to_owned())?;
    thread::sleep(Duration::from_millis(20));
    match writer.pause_within(Duration::from_millis(20)) {
        Err(Error::PauseTimeout { waited }) => println!("gave up pausing after {waited:?}"),
        other => println!("unexpected: {other:?}"),
    }
    drop(events);
    writer.join()?;
    let total = journal.lock().unwrap_or_else(PoisonError::into_inner).len();
    println!("writer drained and stopped: {total} events in the journal");
    Ok(())
}
