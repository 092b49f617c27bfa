//! Spawning with a configuration `spawn` refuses — a typed error, never a panic — and the
//! smallest stack it accepts holding up under a panicking handler.

use std::time::Duration;

use bothways_actor_threads::{
    Actor, Config, Context, Error, MAX_CAPACITY, MAX_STACK_SIZE, MIN_STACK_SIZE, RestartPolicy,
    spawn,
};

/// Echoes, or panics on 0.
struct Picky;

impl Actor for Picky {
    type Msg = u32;
    type Reply = u32;
    fn handle(&mut self, n: u32, _: &Context<Self>) -> u32 {
        assert!(n != 0, "zero is not allowed");
        n
    }
}

/// Each refused configuration says what is wrong with it.
#[test]
fn invalid_config_says_what_is_wrong() {
    let stack = |size| Config::default().with_stack_size(size);
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
        (stack(0), "stack size"),
        (stack(MIN_STACK_SIZE - 1), "stack size"),
        (stack(MAX_STACK_SIZE + 1), "stack size"),
        (stack(usize::MAX), "stack size"),
    ];
    for (config, what) in cases {
        let got = spawn(|| Picky, config).map(drop);
        assert!(
            matches!(&got, Err(Error::InvalidConfig { reason }) if reason.contains(what)),
            "expected InvalidConfig naming the {what}, saw {got:?}"
        );
    }
}

/// On the smallest stack accepted, a panicking handler is reported to its asker and the actor
/// restarts — a stack too small would instead overflow while the panic is reported, and abort
/// this whole test process.
#[test]
fn a_panic_on_the_smallest_stack_reaches_the_asker() {
    let config = Config::default()
        .with_stack_size(MIN_STACK_SIZE)
        .with_restart(RestartPolicy::OnPanic {
            max_restarts: 3,
            within: Duration::from_secs(10),
        });
    let picky = spawn(|| Picky, config).unwrap();
    let limit = Duration::from_secs(5);
    for _ in 0..3 {
        let got = picky.ask(0, limit);
        assert!(
            matches!(&got, Err(Error::Panicked { message, .. }) if message.contains("zero")),
            "expected Panicked, saw {got:?}"
        );
    }
    assert_eq!(picky.ask(5, limit), Ok(5));
    assert_eq!(picky.metrics().restarts, 3);
}
