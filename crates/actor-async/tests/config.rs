//! Spawning or asking with what cannot work: no runtime to run on, or a configuration `spawn`
//! refuses — each a typed error, never a panic.

use std::pin::pin;
use std::task::{self, Poll, Waker};
use std::time::Duration;

use bothways_actor_async::{Actor, Config, Context, Error, MAX_CAPACITY, RestartPolicy, spawn};

struct Echo;

impl Actor for Echo {
    type Msg = u32;
    type Reply = u32;
    async fn handle(&mut self, n: u32, _: &Context<Self>) -> u32 {
        n
    }
}

/// Outside a tokio runtime there is nowhere to run the actor's task: `NoRuntime`, where
/// `tokio::spawn` would panic; inside one, the same call spawns.
#[test]
fn spawn_outside_a_runtime_is_no_runtime() {
    let outside = std::panic::catch_unwind(|| spawn(|| Echo, Config::default()).map(drop));
    assert!(
        matches!(outside, Ok(Err(Error::NoRuntime))),
        "expected Ok(Err(NoRuntime)), saw {outside:?}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let echo = runtime.block_on(async {
        let echo = spawn(|| Echo, Config::default()).unwrap();
        echo.ask(7, Duration::from_secs(5)).await
    });
    assert_eq!(echo, Ok(7));
}

/// Polls `future` once, with no runtime around and a waker that does nothing.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let mut cx = task::Context::from_waker(Waker::noop());
    pin!(future).poll(&mut cx)
}

/// An `ask` polled outside a tokio runtime (here by hand) has no timer for its limit: `NoRuntime`, where `tokio::time::timeout` would panic. A `tell` needs no timer and
/// goes through.
#[test]
fn ask_outside_a_runtime_is_no_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let echo = runtime
        .block_on(async { spawn(|| Echo, Config::default()) })
        .unwrap();
    let asked = std::panic::catch_unwind(|| poll_once(echo.ask(1, Duration::from_secs(1))));
    assert!(
        matches!(asked, Ok(Poll::Ready(Err(Error::NoRuntime)))),
        "expected Ok(Ready(Err(NoRuntime))), saw {asked:?}"
    );
    assert_eq!(poll_once(echo.tell(2)), Poll::Ready(Ok(())));
    assert_eq!(runtime.block_on(echo.ask(3, Duration::from_secs(5))), Ok(3));
}

/// Each refused configuration says what is wrong with it, checked before the runtime is looked
/// for.
#[test]
fn invalid_config_says_what_is_wrong() {
    let cases = [
        (Config::default().with_capacity(0), "capacity"),
        (
            Config::default().with_capacity(MAX_CAPACITY + 1),
            "capacity",
        ),
        (
            Config::default().with_restart(RestartPolicy::OnPanic {
                max_restarts: 1,
                within: Duration::ZERO,
            }),
            "restart window",
        ),
    ];
    for (config, what) in cases {
        let got = spawn(|| Echo, config).map(drop);
        assert!(
            matches!(&got, Err(Error::InvalidConfig { reason }) if reason.contains(what)),
            "expected InvalidConfig naming the {what}, saw {got:?}"
        );
    }
}
