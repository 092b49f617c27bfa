//! The timeout pattern in async: one timeout over connect-then-read, and any future cancelled
//! by being dropped. Run with `cargo run --example timeout_async`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bothways::timeout_async::{Error, fetch_line, run};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A server that sends its message one byte every 20 ms: 2 s for the whole line.
    let slow =
        serve(b"a slow line that takes two seconds to arrive, one byte at a time....\n").await?;

    // Every read gets a byte within 20 ms, so only one deadline over the whole fetch stops it.
    let start = Instant::now();
    match fetch_line(slow, Duration::from_millis(300), 1024).await {
        Err(Error::Elapsed { limit }) => {
            println!(
                "fetch: gave up after {:?} (limit {limit:?})",
                start.elapsed()
            );
        }
        other => println!("fetch: unexpected {other:?}"),
    }

    // Any future: at the deadline it is dropped, wherever it was waiting.
    let start = Instant::now();
    let mut steps = 0u32;
    let counted = run(Duration::from_millis(100), async {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            steps += 1;
        }
    })
    .await;
    println!(
        "run: {counted:?} after {:?}, {steps} steps done",
        start.elapsed()
    );
    Ok(())
}

/// Serves `message` to every client, one byte every 20 ms, on a background task.
async fn serve(message: &'static [u8]) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                for byte in message.chunks(1) {
                    if client.write_all(byte).await.is_err() {
                        return; // the client gave up
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }
    });
    Ok(addr)
}
