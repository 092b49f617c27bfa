//! How an actor is spawned (mailbox capacity, restart policy, supervisor), and how it ended.

use std::time::Duration;

use async_channel::Sender;

use crate::{Error, Metrics};

/// The largest mailbox [`Config::capacity`] accepts: a bounded mailbox is allocated up front.
pub const MAX_CAPACITY: usize = 1 << 20;

/// When an actor whose handler panicked is rebuilt from its factory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartPolicy {
    /// Never: a panic stops the actor for good.
    #[default]
    Never,
    /// After a panic, build fresh state from the factory and go on with the same mailbox — at
    /// most `max_restarts` times within any window of `within`; the next panic stops it.
    OnPanic {
        /// Restarts allowed inside the window.
        max_restarts: u32,
        /// The window.
        within: Duration,
    },
}

/// How to spawn an actor.
///
/// ```
/// use std::time::Duration;
/// use bothways_actor_async::{Config, RestartPolicy, supervisor};
///
/// let (tell_me, exits) = supervisor::unbounded();
/// let config = Config::default()
///     .with_capacity(8)
///     .with_restart(RestartPolicy::OnPanic { max_restarts: 3, within: Duration::from_secs(10) })
///     .with_supervisor(tell_me)
///     .with_handler_time(true);
/// assert_eq!(config.capacity, 8);
/// # drop(exits);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// How many messages the mailbox holds before `tell` waits and `try_tell` is `Full`.
    pub capacity: usize,
    /// What happens after a panic in the handler.
    pub restart: RestartPolicy,
    /// Told once, with an [`ActorExit`], when the actor ends for good. Should be unbounded (or
    /// roomy): a full supervisor channel loses the report rather than block the actor.
    pub supervisor: Option<Sender<ActorExit>>,
    /// Whether the actor times its handler for [`Metrics::handler_time`]. Off by default: the
    /// two clock reads around each message cost more than passing it.
    pub handler_time: bool,
    // Async: no stack size: a task's state lives in its future, sized by the compiler.
}

impl Default for Config {
    fn default() -> Self {
        Config {
            capacity: 64,
            restart: RestartPolicy::Never,
            supervisor: None,
            handler_time: false,
        }
    }
}

impl Config {
    /// The mailbox capacity: how many messages it holds before `tell` waits and `try_tell` is
    /// `Full`.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// What happens after a panic in the handler.
    pub fn with_restart(mut self, restart: RestartPolicy) -> Self {
        self.restart = restart;
        self
    }

    /// The supervisor to tell, once, how the actor ended.
    pub fn with_supervisor(mut self, supervisor: Sender<ActorExit>) -> Self {
        self.supervisor = Some(supervisor);
        self
    }

    /// Whether to time the handler for [`Metrics::handler_time`].
    pub fn with_handler_time(mut self, on: bool) -> Self {
        self.handler_time = on;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.capacity == 0 {
            return Err(Error::InvalidConfig {
                reason: "a mailbox capacity of 0",
            });
        }
        if self.capacity > MAX_CAPACITY {
            return Err(Error::InvalidConfig {
                reason: "a mailbox capacity above MAX_CAPACITY",
            });
        }
        if let RestartPolicy::OnPanic { within, .. } = self.restart
            && within.is_zero()
        {
            return Err(Error::InvalidConfig {
                reason: "a zero restart window",
            });
        }
        Ok(())
    }
}

/// Why an actor ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitReason {
    /// It was stopped, or every [`ActorRef`](crate::ActorRef) was dropped: the mailbox was
    /// drained and the stop hook ran.
    Stopped,
    /// It was killed: pending messages were dropped (their askers answered `Stopped`), and the
    /// stop hook ran.
    Killed,
    /// Its handler panicked past what the restart policy allows; the stop hook did not run on
    /// the state the panic left behind.
    GaveUp {
        /// Restarts it had within the window.
        restarts: u32,
        /// The last panic's message.
        message: String,
    },
}

/// What a supervisor is told when an actor ends for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorExit {
    /// The actor.
    pub id: u64,
    /// Why it ended.
    pub reason: ExitReason,
    /// Its metrics at the end.
    pub metrics: Metrics,
}
