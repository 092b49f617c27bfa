//! The timeout pattern with threads: a deadline over connect-then-read, and a cooperative
//! operation cancelled on a pool worker. Run with `cargo run --example timeout_threads`.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use bothways::timeout_threads::{Error, Pool, fetch_line};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A server that sends its message one byte every 20 ms: 2 s for the whole line.
    let slow = serve(b"a slow line that takes two seconds to arrive, one byte at a time....\n")?;

    // Every read gets a byte within 20 ms, so only one deadline over the whole fetch stops it.
    let start = Instant::now();
    match fetch_line(slow, Duration::from_millis(300), 1024) {
        Err(Error::Elapsed { limit }) => {
            println!(
                "fetch: gave up after {:?} (limit {limit:?})",
                start.elapsed()
            );
        }
        other => println!("fetch: unexpected {other:?}"),
    }

    // Any closure, on a reusable worker: it must look at its token to stop.
    let pool = Pool::new(2)?;
    let start = Instant::now();
    let counted = pool.run(Duration::from_millis(100), |token| {
        let mut steps = 0u32;
        while token.sleep(Duration::from_millis(10)).is_ok() {
            steps += 1;
        }
        steps
    });
    println!("pool: {counted:?} after {:?}", start.elapsed());
    Ok(())
}

/// Serves `message` to every client, one byte every 20 ms, on a background thread.
fn serve(message: &'static [u8]) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        for mut client in listener.incoming().flatten() {
            thread::spawn(move || {
                for byte in message.chunks(1) {
                    if client.write_all(byte).is_err() {
                        return; // the client gave up
                    }
                    thread::sleep(Duration::from_millis(20));
                }
            });
        }
    });
    Ok(addr)
}
