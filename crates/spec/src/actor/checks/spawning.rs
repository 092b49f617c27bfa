//! The actor checks on spawning: an invalid configuration, and ten thousand actors without
//! leaking threads.

use std::time::{Duration, Instant};

use crate::actor::fixtures::{log, spawn, wait_until};
use crate::actor::{
    ActorSpec, Config, Error, Exit, Msg, ProbeRef, Restart, SETTLE, THREAD_SLACK, Tally,
};
use crate::check::{CheckResult, Failure, Figure, ensure};
use crate::resources::thread_count;

/// How many actors the spawn-and-stop check starts.
pub const MANY: usize = 10_000;
/// The stack each of the [`MANY`] actors gets where the style has stacks (threads).
pub const SMALL_STACK: usize = 64 * 1024;

/// A configuration that cannot work — a mailbox of 0, one too large to allocate (`usize::MAX`),
/// a zero restart window — is refused by `spawn` with the typed `InvalidConfig`, never a panic,
/// and no state is built; a valid one right after spawns as usual.
pub fn invalid_config_is_a_typed_error_not_a_panic<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let zero_window = Config {
        restart: Restart::OnPanic {
            max_restarts: 3,
            within: Duration::ZERO,
        },
        ..Config::new(8)
    };
    let cases = [
        ("a mailbox capacity of 0", Config::new(0)),
        ("a mailbox capacity of usize::MAX", Config::new(usize::MAX)),
        ("a zero restart window", zero_window),
    ];
    for (what, config) in cases {
        // A panic here is caught by the harness and reported as one.
        let got = imp.spawn(config, &tally);
        ensure(
            matches!(got, Err(Error::InvalidConfig)),
            &format!("Err(InvalidConfig) for {what}"),
            || match &got {
                Ok(_) => "a running actor".to_owned(),
                Err(e) => format!("Err({e:?})"),
            },
        )?;
    }
    let built = Tally::get(&tally.built);
    ensure(built == 0, "no state built for an invalid config", || {
        format!("built {built} times")
    })?;
    let probe = spawn(imp, Config::new(8), &tally)?;
    let log = log(&probe)?;
    ensure(log.is_empty(), "a valid config to spawn as usual", || {
        format!("{log:?}")
    })?;
    probe.stop();
    Ok(Vec::new())
}

/// 10,000 actors (64 KiB stacks where there are stacks) spawn, each handles one message, and all
/// stop: each supervisor is told `Stopped`, and the process's thread count comes back to where
/// it was.
pub fn many_actors_spawn_and_stop_without_leaking_threads<T: ActorSpec>(imp: &T) -> CheckResult {
    let before =
        thread_count().map_err(|e| Failure::new("the thread count", format!("I/O error {e}")))?;
    let tally = Tally::new();
    let config = Config {
        stack_size: Some(SMALL_STACK),
        ..Config::new(4)
    };
    let start = Instant::now();
    let mut probes = Vec::with_capacity(MANY);
    for _ in 0..MANY {
        probes.push(spawn(imp, config, &tally)?);
    }
    let spawned = start.elapsed();
    for (i, probe) in probes.iter().enumerate() {
        let told = probe.tell(Msg::Record {
            sender: 0,
            seq: i as u64,
        });
        ensure(told.is_ok(), "every tell Ok", || format!("{told:?}"))?;
    }
    for probe in &probes {
        probe.stop();
    }
    let mut stopped = 0;
    for probe in &probes {
        if probe.exit(Duration::from_secs(20)) == Some(Exit::Stopped) {
            stopped += 1;
        }
    }
    drop(probes);
    ensure(stopped == MANY, "10000 actors told Stopped", || {
        format!("{stopped}")
    })?;
    let records = Tally::get(&tally.records);
    ensure(records == MANY as u64, "10000 records handled", || {
        format!("{records}")
    })?;
    // A thread that has said it stopped may take a moment to leave /proc/self/task.
    let mut after = before;
    let settled = wait_until(SETTLE, || {
        after = thread_count().unwrap_or(usize::MAX);
        after <= before
    });
    ensure(
        settled || after <= before + THREAD_SLACK,
        &format!("at most {before} threads afterwards, as before (+{THREAD_SLACK} harness)"),
        || format!("{after}"),
    )?;
    Ok(vec![Figure::micros(
        "spawn each",
        spawned / u32::try_from(MANY).unwrap_or(u32::MAX),
    )])
}
