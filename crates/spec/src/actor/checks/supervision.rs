//! The actor checks on supervision: a panic isolated and restarted, the restart limit and its
//! window.

use std::thread;
use std::time::Duration;

use crate::actor::fixtures::{log, spawn, wait_until};
use crate::actor::{ActorSpec, Config, Error, Exit, Msg, ProbeRef, Reply, Restart, Tally};
use crate::check::{CheckResult, ensure};

/// A panic in the handler reaches its asker as `Panicked`, not the caller's thread; with a
/// restart policy the actor goes on with fresh state from the factory (an empty log) and keeps
/// its mailbox (a record told after the panicking message is still handled).
pub fn panic_is_isolated_and_restart_builds_fresh_state<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let config = Config {
        restart: Restart::OnPanic {
            max_restarts: 3,
            within: Duration::from_secs(10),
        },
        ..Config::new(8)
    };
    let probe = spawn(imp, config, &tally)?;
    let sent = (0..5).try_for_each(|seq| probe.tell(Msg::Record { sender: 0, seq }));
    ensure(sent.is_ok(), "every tell Ok", || format!("{sent:?}"))?;
    let (asked, queued) = thread::scope(|s| {
        let asker = s.spawn(|| probe.ask(Msg::Panic("boom"), Duration::from_secs(5)));
        wait_until(Duration::from_secs(1), || probe.metrics().received >= 6);
        let queued = probe.tell(Msg::Record { sender: 1, seq: 0 });
        let asked = asker.join().unwrap_or(Err(Error::Other(
            "the panic reached the asker's thread".into(),
        )));
        (asked, queued)
    });
    ensure(
        matches!(&asked, Err(Error::Panicked { message }) if message.contains("boom")),
        "Err(Panicked { message: \"boom\" })",
        || format!("{asked:?}"),
    )?;
    ensure(queued.is_ok(), "Ok from a tell during the panic", || {
        format!("{queued:?}")
    })?;
    let log = log(&probe)?;
    ensure(
        log == [(1, 0)],
        "a fresh log holding only the record told after the panic",
        || format!("{log:?}"),
    )?;
    let built = Tally::get(&tally.built);
    ensure(built == 2, "state built twice (start, restart)", || {
        format!("built {built} times")
    })?;
    probe.stop();
    Ok(Vec::new())
}

/// Past its restart limit (2 within 10 s) the actor stops for good: the third panic ends it,
/// the supervisor is told `GaveUp { restarts: 2 }`, later messages get `Stopped`. With
/// `Restart::Never` the first panic does the same, with 0 restarts.
pub fn restart_limit_stops_for_good_and_is_reported<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let config = Config {
        restart: Restart::OnPanic {
            max_restarts: 2,
            within: Duration::from_secs(10),
        },
        ..Config::new(8)
    };
    let probe = spawn(imp, config, &tally)?;
    for i in 0..3 {
        let asked = probe.ask(Msg::Panic("boom"), Duration::from_secs(5));
        ensure(
            matches!(asked, Err(Error::Panicked { .. })),
            &format!("Err(Panicked) from panic {}", i + 1),
            || format!("{asked:?}"),
        )?;
    }
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::GaveUp { restarts: 2 }),
        "the supervisor told GaveUp { restarts: 2 }",
        || format!("{exit:?}"),
    )?;
    let after = probe.ask(Msg::Log, Duration::from_secs(1));
    ensure(
        after == Err(Error::Stopped),
        "Err(Stopped) after giving up",
        || format!("{after:?}"),
    )?;
    let built = Tally::get(&tally.built);
    ensure(
        built == 3,
        "state built 3 times (start, 2 restarts)",
        || format!("built {built} times"),
    )?;

    let never = Tally::new();
    let probe = spawn(imp, Config::new(8), &never)?;
    let asked = probe.ask(Msg::Panic("boom"), Duration::from_secs(5));
    ensure(
        matches!(asked, Err(Error::Panicked { .. })),
        "Err(Panicked) under Restart::Never",
        || format!("{asked:?}"),
    )?;
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::GaveUp { restarts: 0 }),
        "the supervisor told GaveUp { restarts: 0 } under Restart::Never",
        || format!("{exit:?}"),
    )?;
    Ok(Vec::new())
}

/// The restart limit counts panics within a sliding window, not for ever: with one restart
/// allowed per second, a panic 1.5 s after the first is restarted again; a third panic right
/// after it is past the limit, and the supervisor is told `GaveUp { restarts: 1 }` — the one
/// restart still inside the window.
pub fn restarts_count_only_within_the_window<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let within = Duration::from_secs(1);
    let config = Config {
        restart: Restart::OnPanic {
            max_restarts: 1,
            within,
        },
        ..Config::new(8)
    };
    let probe = spawn(imp, config, &tally)?;
    let panic = |which: &str| {
        let asked = probe.ask(Msg::Panic("boom"), Duration::from_secs(5));
        ensure(
            matches!(asked, Err(Error::Panicked { .. })),
            &format!("Err(Panicked) from the {which} panic"),
            || format!("{asked:?}"),
        )
    };
    panic("first")?;
    // Sleeping is a lower bound: the first restart is surely outside the window after this.
    thread::sleep(within + within / 2);
    panic("second")?;
    let log = probe.ask(Msg::Log, Duration::from_secs(5));
    ensure(
        log == Ok(Reply::Log(Vec::new())),
        "Ok(Log([])) after the second panic: restarted, the first restart out of the window",
        || format!("{log:?}"),
    )?;
    panic("third")?;
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::GaveUp { restarts: 1 }),
        "the supervisor told GaveUp { restarts: 1 } after the third panic",
        || format!("{exit:?}"),
    )?;
    let built = Tally::get(&tally.built);
    ensure(
        built == 3,
        "state built 3 times (start, 2 restarts)",
        || format!("built {built} times"),
    )?;
    Ok(Vec::new())
}
