//! The ticker pattern with threads: a TCP event source, and the loop printing each batch it
//! hands on. Run with `cargo run --example ticker_threads`.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use bothways_ticker_threads::{Config, run_tcp};
use bothways_wire::frame::encode;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    // The source: 20 events, one every 30 ms, then a close.
    let source = thread::spawn(move || {
        let mut peer = TcpStream::connect(addr)?;
        for i in 0..20 {
            let mut frame = Vec::new();
            encode(format!("event {i}").as_bytes(), &mut frame)?;
            peer.write_all(&frame)?;
            thread::sleep(Duration::from_millis(30));
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
    let (stream, _) = listener.accept()?;

    let (sink, batches) = crossbeam_channel::bounded(16);
    let config = Config {
        period: Duration::from_millis(100),
        max_batch: 8,
        ..Config::default()
    };
    let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
    let ticker = thread::spawn(move || run_tcp(stream, sink, config, stopped));

    let start = Instant::now();
    for batch in batches {
        let events: Vec<_> = batch.iter().map(|e| String::from_utf8_lossy(e)).collect();
        println!("{:>5} ms  {events:?}", start.elapsed().as_millis());
    }
    if source.join().is_err() {
        return Err("the source thread panicked".into());
    }
    let summary = ticker.join().map_err(|_| "the loop panicked")??;
    println!("done: {summary:?}");
    drop(stop); // kept until here: dropping it earlier would have stopped the loop
    Ok(())
}
