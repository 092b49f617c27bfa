//! The metrics summary an operator reads: `Display` and `Debug` of an actor and its metrics
//! name each figure with the counts that were sent and handled.

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
async fn display_and_debug_summarise_the_metrics() {
    let echo = spawn(|| Echo, Config::default()).unwrap();
    echo.tell(1).await.unwrap();
    echo.tell(2).await.unwrap();
    assert_eq!(echo.ask(3, Duration::from_secs(5)).await, Ok(3));
    let shown = echo.to_string();
    assert!(
        shown.starts_with(&format!("actor {}: received 3, handled 3, panicked 0, dropped 0, queued 0, restarts 0, handler time ", echo.id())),
        "{shown}"
    );
    let debug = format!("{echo:?}");
    for field in [
        "ActorRef",
        "id",
        "queue_depth: 0",
        "received: 3",
        "handled: 3",
        "handler_time",
    ] {
        assert!(debug.contains(field), "{field} missing from {debug}");
    }
}
