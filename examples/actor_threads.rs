//! A three-stage actor pipeline with OS threads — parse → square → sum — printing each stage's
//! mailbox metrics while it runs and at the end.
//!
//! Run with `cargo run --example actor_threads`.

use std::time::Duration;

use bothways_actor_threads::{Actor, ActorRef, Config, Context, Error, spawn};

/// Stage A: parses a line into a number and hands it on.
struct Parse {
    next: ActorRef<Square>,
}

impl Actor for Parse {
    type Msg = String;
    type Reply = ();

    fn handle(&mut self, line: String, _: &Context<Self>) {
        if let Ok(n) = line.trim().parse::<u64>() {
            // Threads: a full mailbox downstream blocks this thread — backpressure up the chain.
            let _ = self.next.tell(n);
        }
    }
}

/// Stage B: squares a number and hands it on.
struct Square {
    next: ActorRef<Sum>,
}

impl Actor for Square {
    type Msg = u64;
    type Reply = ();

    fn handle(&mut self, n: u64, _: &Context<Self>) {
        let _ = self.next.tell(n * n);
    }
}

/// Stage C: keeps a running total, and answers with it.
#[derive(Default)]
struct Sum {
    total: u64,
}

impl Actor for Sum {
    type Msg = u64;
    type Reply = u64;

    fn handle(&mut self, n: u64, _: &Context<Self>) -> u64 {
        self.total += n;
        self.total
    }

    fn stopped(&mut self) {
        println!("C stopped with a total of {}", self.total);
    }
}

fn main() -> Result<(), Error> {
    // Timed handlers, so that the metrics show where the time goes.
    let config = Config::default().with_capacity(64).with_handler_time(true);
    let c = spawn(Sum::default, config.clone())?;
    let b = {
        let c = c.clone();
        spawn(move || Square { next: c.clone() }, config.clone())?
    };
    let a = {
        let b = b.clone();
        spawn(move || Parse { next: b.clone() }, config)?
    };

    for i in 1..=100_000u64 {
        a.tell(i.to_string())?;
        if i == 50_000 {
            println!("half way:");
            println!("  A, {a}: {}", a.metrics());
            println!("  B, {b}: {}", b.metrics());
            println!("  C, {c}: {}", c.metrics());
        }
    }
    // Stop front to back: each stage drains its mailbox into the next before the next stops.
    stop_and_wait(&a)?;
    stop_and_wait(&b)?;
    stop_and_wait(&c)?;
    println!("at the end:");
    println!("  A, {a}: {}", a.metrics());
    println!("  B, {b}: {}", b.metrics());
    println!("  C, {c}: {}", c.metrics());
    Ok(())
}

/// Stops a stage and waits until it has ended, its mailbox drained.
fn stop_and_wait<A: Actor>(stage: &ActorRef<A>) -> Result<(), Error> {
    stage.stop();
    let exit = stage.wait(Duration::from_secs(10))?;
    println!("{stage} ended: {:?}", exit.reason);
    Ok(())
}
