//! What an operator reads: an actor's `Display` and `Debug` name it, its metrics' name each
//! figure with the counts that were sent and handled; handler time only when asked for.

use std::time::Duration;

use bothways_actor_async::{Actor, Config, Context, spawn};

struct Echo;

impl Actor for Echo {
    type Msg = u32;
    type Reply = u32;
    async fn handle(&mut self, n: u32, _: &Context<Self>) -> u32 {
        n
    }
}

#[tokio::test]
async fn display_names_the_actor_and_metrics_summarise_the_figures() {
    let echo = spawn(|| Echo, Config::default().with_handler_time(true)).unwrap();
    echo.tell(1).await.unwrap();
    echo.tell(2).await.unwrap();
    assert_eq!(echo.ask(3, Duration::from_secs(5)).await, Ok(3));
    assert_eq!(echo.to_string(), format!("actor {} (Echo)", echo.id()));
    assert_eq!(
        format!("{echo:?}"),
        format!("ActorRef {{ id: {}, actor: \"Echo\" }}", echo.id())
    );
    let metrics = echo.metrics();
    let shown = metrics.to_string();
    assert!(
        shown.starts_with(
            "received 3, handled 3, panicked 0, dropped 0, queued 0, restarts 0, handler time "
        ),
        "{shown}"
    );
    let debug = format!("{metrics:?}");
    for field in [
        "queue_depth: 0",
        "received: 3",
        "handled: 3",
        "handler_time",
    ] {
        assert!(debug.contains(field), "{field} missing from {debug}");
    }
}

/// Untimed by default: the handler time stays zero however many messages are handled.
#[tokio::test]
async fn handler_time_is_zero_unless_asked_for() {
    let echo = spawn(|| Echo, Config::default()).unwrap();
    for n in 0..100 {
        echo.tell(n).await.unwrap();
    }
    assert_eq!(echo.ask(0, Duration::from_secs(5)).await, Ok(0));
    let metrics = echo.metrics();
    assert_eq!(
        (metrics.handled, metrics.handler_time),
        (101, Duration::ZERO),
        "expected 101 handled in no time; saw {metrics:?}"
    );
}
