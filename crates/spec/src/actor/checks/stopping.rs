//! The actor checks on how an actor ends: stop drains, the last reference dropped, kill, and
//! waiting for the end.

use std::thread;
use std::time::{Duration, Instant};

use crate::actor::fixtures::{ms, spawn, wait_until};
use crate::actor::{
    ActorSpec, Config, Error, Exit, Msg, ProbeRef, Reply, SETTLE, THREAD_SLACK, Tally,
};
use crate::check::{CheckResult, Failure, Figure, ensure};
use crate::resources::thread_count;

/// `stop` with 20 records queued behind a slow message: all 20 are handled, then the stop hook
/// runs once (seeing all 20), the supervisor is told `Stopped`, and later messages are refused
/// with `Stopped`.
pub fn stop_drains_the_mailbox_then_runs_the_stop_hook<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(32), &tally)?;
    let sent = probe
        .tell(Msg::Sleep(Duration::from_millis(50)))
        .and_then(|()| (0..20).try_for_each(|seq| probe.tell(Msg::Record { sender: 0, seq })));
    ensure(sent.is_ok(), "every tell Ok", || format!("{sent:?}"))?;
    probe.stop();
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::Stopped),
        "the supervisor told Stopped",
        || format!("{exit:?}"),
    )?;
    let records = Tally::get(&tally.records);
    ensure(records == 20, "all 20 queued records handled", || {
        format!("{records}")
    })?;
    let hooks = Tally::get(&tally.stop_hooks);
    let seen = Tally::get(&tally.log_at_stop);
    ensure(
        hooks == 1 && seen == 20,
        "the stop hook run once, after the 20 records",
        || format!("{hooks} runs, the last seeing {seen} records"),
    )?;
    let tell = probe.tell(Msg::Log).map_err(Error::from);
    let ask = probe.ask(Msg::Log, Duration::from_secs(1));
    ensure(
        tell == Err(Error::Stopped) && ask == Err(Error::Stopped),
        "Err(Stopped) for a tell and an ask after the stop",
        || format!("{tell:?} and {ask:?}"),
    )?;
    Ok(Vec::new())
}

/// Dropping every reference stops the actor as `stop` does: with a slow message and 5 records
/// still queued, a clone keeps it running, and once the last reference is gone it drains the
/// mailbox, runs its stop hook once (seeing all 5 records), lets go of its state, and its thread
/// (where it has one) ends: the process's thread count comes back to where it was.
pub fn dropping_every_ref_stops_the_actor<T: ActorSpec>(imp: &T) -> CheckResult {
    let before =
        thread_count().map_err(|e| Failure::new("the thread count", format!("I/O error {e}")))?;
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(32), &tally)?;
    let clone = probe.clone();
    drop(probe);
    let sent = clone
        .tell(Msg::Sleep(Duration::from_millis(50)))
        .and_then(|()| (0..5).try_for_each(|seq| clone.tell(Msg::Record { sender: 0, seq })));
    ensure(
        sent.is_ok(),
        "every tell through a clone Ok after the original was dropped",
        || format!("{sent:?}"),
    )?;
    let start = Instant::now();
    drop(clone);
    let hooked = wait_until(Duration::from_secs(5), || {
        Tally::get(&tally.stop_hooks) >= 1
    });
    let took = start.elapsed();
    let hooks = Tally::get(&tally.stop_hooks);
    let seen = Tally::get(&tally.log_at_stop);
    ensure(
        hooked && hooks == 1 && seen == 5,
        "the stop hook run once, after the 5 queued records, once every reference was dropped",
        || format!("{hooks} runs within 5 s, the last seeing {seen} records"),
    )?;
    let released = wait_until(Duration::from_secs(5), || {
        Tally::get(&tally.dropped) == Tally::get(&tally.built)
    });
    ensure(
        released,
        "the actor's state dropped: its task or thread ended",
        || {
            format!(
                "{} states built, {} dropped",
                Tally::get(&tally.built),
                Tally::get(&tally.dropped)
            )
        },
    )?;
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
    Ok(vec![Figure::millis("stop hook after the last drop", took)])
}

/// `kill` with 20 records and an ask queued behind a slow message: none of them is handled,
/// the asker is answered `Stopped` long before its 5 s limit, and the supervisor is told
/// `Killed`.
pub fn kill_drops_pending_and_answers_askers_stopped<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(32), &tally)?;
    probe
        .tell(Msg::Sleep(Duration::from_millis(200)))
        .map_err(|e| Failure::new("Ok from the first tell", format!("{e:?}")))?;
    let (asked, took) = thread::scope(|s| {
        let asker = s.spawn(|| {
            let start = Instant::now();
            let got = probe.ask(Msg::Log, Duration::from_secs(5));
            (got, start.elapsed())
        });
        // Let the ask reach the mailbox before the records and the kill.
        wait_until(Duration::from_secs(1), || probe.metrics().received >= 2);
        for seq in 0..20 {
            let _ = probe.tell(Msg::Record { sender: 0, seq });
        }
        probe.kill();
        asker.join().unwrap_or((
            Err(Error::Other("the asker panicked".into())),
            Duration::ZERO,
        ))
    });
    ensure(
        asked == Err(Error::Stopped),
        "Err(Stopped) for the waiting asker",
        || format!("{asked:?} after {}", ms(took)),
    )?;
    ensure(
        took < Duration::from_secs(2),
        "the asker answered within 2 s",
        || format!("it after {}", ms(took)),
    )?;
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::Killed),
        "the supervisor told Killed",
        || format!("{exit:?}"),
    )?;
    let records = Tally::get(&tally.records);
    ensure(
        records == 0,
        "none of the 20 pending records handled",
        || format!("{records} handled"),
    )?;
    let after = probe.tell(Msg::Log).map_err(Error::from);
    ensure(
        after == Err(Error::Stopped),
        "Err(Stopped) for a tell after the kill",
        || format!("{after:?}"),
    )?;
    Ok(vec![Figure::millis("asker answered after", took)])
}

/// `kill` cannot interrupt a handler that is running: killed while it handles a 300 ms ask, the
/// actor finishes that message and its asker gets the real reply; the ask queued behind it is
/// answered `Stopped`; `kill` itself returns at once; the stop hook runs once and the
/// supervisor is told `Killed`.
pub fn kill_lets_the_running_handler_finish<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(8), &tally)?;
    let busy = Duration::from_millis(300);
    let (running, queued, kill_took) = thread::scope(|s| {
        let first = s.spawn(|| probe.ask(Msg::Sleep(busy), Duration::from_secs(5)));
        // The slow message is in hand once it has left the mailbox.
        wait_until(Duration::from_secs(2), || {
            let m = probe.metrics();
            m.received >= 1 && m.queue_depth == 0
        });
        let second = s.spawn(|| probe.ask(Msg::Log, Duration::from_secs(5)));
        wait_until(Duration::from_secs(1), || probe.metrics().received >= 2);
        let start = Instant::now();
        probe.kill();
        let kill_took = start.elapsed();
        let lost = || Err(Error::Other("the asker panicked".into()));
        (
            first.join().unwrap_or_else(|_| lost()),
            second.join().unwrap_or_else(|_| lost()),
            kill_took,
        )
    });
    ensure(
        running == Ok(Reply::Done),
        "Ok(Done) for the ask whose handler was running when the kill came",
        || format!("{running:?}"),
    )?;
    ensure(
        queued == Err(Error::Stopped),
        "Err(Stopped) for the ask queued behind it",
        || format!("{queued:?}"),
    )?;
    ensure(
        kill_took < Duration::from_millis(100),
        "kill to return at once, not wait for the handler",
        || format!("it took {}", ms(kill_took)),
    )?;
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::Killed),
        "the supervisor told Killed",
        || format!("{exit:?}"),
    )?;
    let hooks = Tally::get(&tally.stop_hooks);
    ensure(hooks == 1, "the stop hook run once after the kill", || {
        format!("{hooks} runs")
    })?;
    Ok(vec![Figure::millis("kill returned after", kill_took)])
}

/// `wait` through the reference returns how the actor ended, once it has: on a running actor it
/// is `Timeout` after its limit; after a stop with a slow message queued it returns `Stopped`,
/// only once the stop hook has run; again at once, from a clone; `Killed` after a kill;
/// `GaveUp` after a panic under `Restart::Never`.
pub fn wait_returns_once_the_actor_has_ended_and_how<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(8), &tally)?;
    let limit = Duration::from_millis(100);
    let start = Instant::now();
    let early = probe.wait(limit);
    let took = start.elapsed();
    ensure(
        early == Err(Error::Timeout),
        "Err(Timeout) from a wait on a running actor",
        || format!("{early:?} after {}", ms(took)),
    )?;
    ensure(took >= limit, "the wait to last its 100 ms limit", || {
        format!("it returned after {}", ms(took))
    })?;
    probe
        .tell(Msg::Sleep(Duration::from_millis(200)))
        .map_err(|e| Failure::new("Ok from the tell", format!("{e:?}")))?;
    probe.stop();
    let start = Instant::now();
    let ended = probe.wait(Duration::from_secs(5));
    let took = start.elapsed();
    let hooks = Tally::get(&tally.stop_hooks);
    ensure(
        ended == Ok(Exit::Stopped) && hooks == 1,
        "Ok(Stopped) once the stop hook had run",
        || {
            format!(
                "{ended:?} after {}, the stop hook run {hooks} times",
                ms(took)
            )
        },
    )?;
    let start = Instant::now();
    let again = probe.clone().wait(Duration::from_secs(5));
    let again_took = start.elapsed();
    ensure(
        again == Ok(Exit::Stopped) && again_took < Duration::from_millis(500),
        "Ok(Stopped) at once from a clone, afterwards",
        || format!("{again:?} after {}", ms(again_took)),
    )?;

    let killed = spawn(imp, Config::new(8), &tally)?;
    killed
        .tell(Msg::Sleep(Duration::from_millis(50)))
        .map_err(|e| Failure::new("Ok from the tell", format!("{e:?}")))?;
    killed.kill();
    let exit = killed.wait(Duration::from_secs(5));
    ensure(exit == Ok(Exit::Killed), "Ok(Killed) after a kill", || {
        format!("{exit:?}")
    })?;

    let gave_up = spawn(imp, Config::new(8), &tally)?;
    let _ = gave_up.ask(Msg::Panic("boom"), Duration::from_secs(5));
    let exit = gave_up.wait(Duration::from_secs(5));
    ensure(
        exit == Ok(Exit::GaveUp { restarts: 0 }),
        "Ok(GaveUp { restarts: 0 }) after a panic under Restart::Never",
        || format!("{exit:?}"),
    )?;
    Ok(vec![Figure::millis("stopped after", took)])
}
