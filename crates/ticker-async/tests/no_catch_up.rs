//! After a stall the async loop fires one late tick and then waits a full period: no burst of
//! catch-up ticks. On tokio's paused clock, so the times are exact.

use std::time::Duration;

use bothways_ticker_async::{Config, Summary, run};
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;

#[tokio::test(start_paused = true)]
async fn after_a_stall_the_next_tick_is_a_full_period_after_the_late_one() {
    let period = Duration::from_millis(100);
    let ms = Duration::from_millis;
    let (events, source) = async_channel::unbounded();
    // Room for one batch: a second one stalls the loop until the first is taken.
    let (sink, batches) = async_channel::bounded(1);
    let config = Config {
        period,
        ..Config::default()
    };
    let start = Instant::now();
    let looping = tokio::spawn(run(source, sink, config, CancellationToken::new()));
    events.send(1).await.unwrap();
    sleep_until(start + ms(150)).await;
    events.send(2).await.unwrap();
    // The tick at 100 ms hands [1] on; the one at 200 ms stalls with [2], the sink being full,
    // until the first batch is taken at 1050 ms — off the 100 ms grid.
    sleep_until(start + ms(1050)).await;
    assert_eq!(batches.recv().await.unwrap(), [1]);
    assert_eq!(batches.recv().await.unwrap(), [2]);
    sleep(ms(10)).await;
    events.send(3).await.unwrap();
    assert_eq!(batches.recv().await.unwrap(), [3]);
    // `Burst` would have fired the missed ticks at 1050 ms and the next on the grid, at
    // 1100 ms; `Delay` fires one late tick at 1050 ms and the next a full period later.
    assert_eq!(start.elapsed(), ms(1150));
    drop(events);
    assert_eq!(
        looping.await.unwrap().unwrap(),
        Summary {
            events: 3,
            batches: 3
        }
    );
}

#[tokio::test(start_paused = true)]
async fn the_first_tick_is_one_period_after_the_start() {
    let (events, source) = async_channel::unbounded();
    let (sink, batches) = async_channel::unbounded();
    let config = Config {
        period: Duration::from_secs(1),
        ..Config::default()
    };
    let start = Instant::now();
    let looping = tokio::spawn(run(source, sink, config, CancellationToken::new()));
    events.send("a").await.unwrap();
    assert_eq!(batches.recv().await.unwrap(), ["a"]);
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    drop(events);
    looping.await.unwrap().unwrap();
}

// Real time: a task that never waits would never let a paused clock advance.
#[tokio::test]
async fn a_source_that_is_always_ready_does_not_starve_the_tick() {
    // An endless, always-ready stream: only the tick can hand anything on before the cap.
    let source = futures::stream::repeat(0u8);
    let (sink, batches) = async_channel::unbounded();
    let config = Config {
        period: Duration::from_millis(10),
        max_batch: usize::MAX,
        ..Config::default()
    };
    let stop = CancellationToken::new();
    let looping = tokio::spawn(run(source, sink, config, stop.clone()));
    let first = batches.recv().await.unwrap();
    assert!(!first.is_empty());
    stop.cancel();
    looping.await.unwrap().unwrap();
}
