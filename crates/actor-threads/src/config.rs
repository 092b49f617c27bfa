//! How an actor is spawned (mailbox capacity, restart policy, supervisor), and how it ended.

use std::time::Duration;

use crossbeam_channel::Sender;

use crate::{Error, Metrics};

/// The largest mailbox [`Config::capacity`] accepts: a bounded mailbox is allocated up front.
pub const MAX_CAPACITY: usize = 1 << 20;

/// Threads: the smallest [`Config::stack_size`] accepted. Below about 32 KiB a panicking
/// handler overflows the stack while the panic is reported, and a stack overflow aborts the
/// whole process — not a panic the actor could catch; 64 KiB leaves room to spare.
pub const MIN_STACK_SIZE: usize = 64 * 1024;

/// Threads: the largest [`Config::stack_size`] accepted, far above any actor's need (std's
/// default is 2 MiB): a larger one is a mistake in the figure, not a plan.
pub const MAX_STACK_SIZE: usize = 1 << 30;

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
/// use bothways_actor_threads::{Config, RestartPolicy, supervisor};
///
/// let (tell_me, exits) = supervisor::unbounded();
/// let config = Config::default()
///     .with_capacity(8)
///     .with_restart(RestartPolicy::OnPanic { max_restarts: 3, within: Duration::from_secs(10) })
///     .with_supervisor(tell_me)
///     .with_handler_time(true)
///     .with_stack_size(64 * 1024);
/// assert_eq!((config.capacity, config.stack_size), (8, Some(64 * 1024)));
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
    /// Threads: the actor thread's stack size, from [`MIN_STACK_SIZE`] to [`MAX_STACK_SIZE`];
    /// small stacks make many thousands of actors practical. `None` for std's default (2 MiB).
    pub stack_size: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            capacity: 64,
            restart: RestartPolicy::Never,
            supervisor: None,
            handler_time: false,
            stack_size: None,
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

    /// Threads: the actor thread's stack size, from [`MIN_STACK_SIZE`] to [`MAX_STACK_SIZE`].
    pub fn with_stack_size(mut self, size: usize) -> Self {
        self.stack_size = Some(size);
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
        // Threads: a stack too small aborts the process on the first panic in the handler.
        match self.stack_size {
            Some(size) if size < MIN_STACK_SIZE => Err(Error::InvalidConfig {
                reason: "a stack size below MIN_STACK_SIZE",
            }),
            Some(size) if size > MAX_STACK_SIZE => Err(Error::InvalidConfig {
                reason: "a stack size above MAX_STACK_SIZE",
            }),
            _ => Ok(()),
        }
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
