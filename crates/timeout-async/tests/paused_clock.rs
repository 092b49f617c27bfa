//! The async timeout's time logic on tokio's paused clock: exact, and free of the machine's noise.

use std::future::pending;
use std::time::Duration;

use bothways_timeout_async::{Error, run};
use tokio::time::{Instant, sleep};

#[tokio::test(start_paused = true)]
async fn elapsed_comes_exactly_at_the_limit() {
    let start = Instant::now();
    let got = run(Duration::from_secs(3), pending::<()>()).await;
    assert!(
        matches!(got, Err(Error::Elapsed { limit }) if limit == Duration::from_secs(3)),
        "{got:?}"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn an_operation_just_inside_the_limit_wins() {
    let got = run(Duration::from_secs(3), async {
        sleep(Duration::from_millis(2_999)).await;
        "done"
    })
    .await;
    assert_eq!(got.ok(), Some("done"));
}

#[tokio::test(start_paused = true)]
async fn an_operation_due_at_the_limit_itself_wins_because_it_is_polled_first() {
    // Both timers fire on the same tick; tokio's Timeout polls the operation before its delay.
    let got = run(Duration::from_secs(3), sleep(Duration::from_secs(3))).await;
    assert!(got.is_ok(), "{got:?}");
}

#[tokio::test(start_paused = true)]
async fn a_ready_future_beats_a_zero_limit() {
    assert_eq!(run(Duration::ZERO, async { 5 }).await.ok(), Some(5));
    let pending = run(Duration::ZERO, pending::<()>()).await;
    assert!(matches!(pending, Err(Error::Elapsed { .. })), "{pending:?}");
}

#[tokio::test(start_paused = true)]
async fn duration_max_is_no_limit() {
    let got = run(Duration::MAX, async {
        sleep(Duration::from_secs(365 * 24 * 3600)).await;
        1
    })
    .await;
    assert_eq!(got.ok(), Some(1));
}

#[tokio::test(start_paused = true)]
async fn the_operation_is_dropped_at_the_deadline() {
    // A guard inside the operation tells when the operation's state is destroyed.
    struct Dropped(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let guard = Dropped(flag.clone());
    let got = run(Duration::from_secs(1), async move {
        let _guard = guard;
        pending::<()>().await;
    })
    .await;
    assert!(matches!(got, Err(Error::Elapsed { .. })));
    assert!(
        flag.load(std::sync::atomic::Ordering::SeqCst),
        "the operation outlived its deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_caught_and_the_task_goes_on() {
    let got = run(Duration::from_secs(1), async { panic!("inside") }).await;
    assert!(
        matches!(&got, Err(Error::Panicked { message }) if message == "inside"),
        "{got:?}"
    );
    assert_eq!(run(Duration::from_secs(1), async { 2 }).await.ok(), Some(2));
}
