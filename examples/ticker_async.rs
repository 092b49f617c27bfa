//! The ticker pattern in async Rust: a TCP event source, and the loop printing each batch it
//! hands on. Run with `cargo run --example ticker_async`.

use std::time::{Duration, Instant};

use bothways_ticker_async::{Config, run_tcp};
use bothways_wire::frame::encode;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The source: 20 events, one every 30 ms, then a close.
    let source = tokio::spawn(async move {
        let mut peer = TcpStream::connect(addr).await?;
        for i in 0..20 {
            let mut frame = Vec::new();
            encode(format!("event {i}").as_bytes(), &mut frame)?;
            peer.write_all(&frame).await?;
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
    let (stream, _) = listener.accept().await?;

    let (sink, batches) = async_channel::bounded(16);
    let config = Config {
        period: Duration::from_millis(100),
        max_batch: 8,
        ..Config::default()
    };
    let stop = CancellationToken::new();
    let ticker = tokio::spawn(run_tcp(stream, sink, config, stop.clone()));

    let start = Instant::now();
    while let Ok(batch) = batches.recv().await {
        let events: Vec<_> = batch.iter().map(|e| String::from_utf8_lossy(e)).collect();
        println!("{:>5} ms  {events:?}", start.elapsed().as_millis());
    }
    source.await?.map_err(|e| e.to_string())?;
    println!("done: {:?}", ticker.await??);
    Ok(())
}
