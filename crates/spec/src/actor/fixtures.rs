//! What the actor checks share: spawning a probe, asking it for its log, waiting for a
//! condition, a duration in milliseconds as text.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::actor::{ActorSpec, Config, Msg, ProbeRef, Reply, Tally};
use crate::check::Failure;

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

pub(crate) fn spawn<T: ActorSpec>(
    imp: &T,
    config: Config,
    tally: &Arc<Tally>,
) -> Result<T::Ref, Failure> {
    imp.spawn(config, tally)
        .map_err(|e| Failure::new("the probe to spawn", format!("{e:?}")))
}

pub(crate) fn log<R: ProbeRef>(probe: &R) -> Result<Vec<(u32, u64)>, Failure> {
    match probe.ask(Msg::Log, Duration::from_secs(5)) {
        Ok(Reply::Log(log)) => Ok(log),
        other => Err(Failure::new(
            "Ok(Log(..)) from an ask for the log",
            format!("{other:?}"),
        )),
    }
}

/// Polls `done` every millisecond for up to `within`.
pub(crate) fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}
