//! The journal pattern's contract: appends get contiguous sequence numbers, a subscriber gets
//! the file's events then the live ones with no gap and no duplicate (in process and over TCP),
//! acknowledged events survive a SIGKILL, a damaged file is a typed error naming its offset,
//! and a slow subscriber is cut off with `Lagged` instead of growing memory or stalling the
//! writer.

// The layout: this file holds the traits, the error, the constants an implementation needs and
// the suite's macros; the checks are in `checks/`, one file per theme, and what they share
// (scratch directories, a TCP client, simulated disks, the crash child) in `fixtures.rs`.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bothways_journal_format::{Fs, Storage};

use crate::check::Check;

mod checks;
mod fixtures;

pub use checks::durability::{
    ALONE, CRASH_ROUNDS, GENERATIONS, GROUP_APPENDERS, GROUP_EACH, POWER_CUTS, POWER_CUTS_VAR,
    SIM_FSYNC, acknowledged_appends_survive_sigkill, acknowledged_events_survive_power_cuts,
    every_durability_reads_back, failed_fsync_poisons_the_journal,
    full_disk_is_typed_error_and_reopen_continues, group_commit_shares_fsyncs, power_cuts,
    prune_is_atomic_under_sigkill, set_power_cuts, tick_flushes_without_a_call,
};
pub use checks::format::{
    damage_in_a_sealed_segment_is_a_typed_error, flipped_bit_is_typed_error_at_offset,
    impossible_header_is_typed_error, newer_version_is_typed_error, oversized_event_is_typed_error,
    reopen_cuts_torn_tail_and_continues, sequence_space_ends_with_typed_error,
    single_file_journal_is_migrated, truncated_header_is_typed_error, wrong_magic_is_typed_error,
    zero_tail_is_cut_and_close_trims,
};
pub use checks::replay::{
    BOUNDED_EVENTS, HANDOVER_EVENTS, PRODUCERS, READ_AHEAD, REPLAY_EVENTS, SUBSCRIBERS,
    handover_is_gapless_and_once, history_is_read_after_the_pause_in_bounded_chunks,
    large_replay_is_whole_and_in_order, resume_from_sequence,
    slow_subscriber_lags_with_bounded_memory, subscribe_past_end_waits,
};
pub use checks::segments::{
    late_subscriber_seeks_without_reading_the_past, open_reads_only_the_active_segment,
    prune_deletes_whole_segments_and_keeps_the_active, prune_keeps_only_later_events,
};
pub use checks::tcp::{
    BREACH_LIMIT, CHILD_FILES, HANG_UP_BURST, STALL_LIMIT, TCP_EVENTS, TCP_HISTORY, TCP_LAG_EVENTS,
    TCP_QUEUE, UNSERVED_AFTER, tcp_bytes_after_subscribe_disconnect, tcp_hung_up_client_is_let_go,
    tcp_server_survives_fd_exhaustion, tcp_shutdown_lets_clients_go,
    tcp_slow_subscriber_lags_and_resumes, tcp_stalled_clients_are_disconnected,
    tcp_subscriber_gets_history_then_live,
};
pub use fixtures::{SIM_DIR, Scratch, TCP_EVENT_LEN, crash_child};

/// How long a subscriber waits for an event the check knows is coming.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// How long a subscriber listens to show that nothing comes.
pub const QUIET: Duration = Duration::from_millis(50);
/// The environment variable that turns the stamped `journal_crash_child` test into the
/// crash check's child: the journal's path.
pub const CRASH_PATH_VAR: &str = "BOTHWAYS_JOURNAL_CRASH_PATH";
/// The environment variable naming which implementation the child must be
/// ([`JournalSpec::name`]), as one test binary may stamp the suite twice.
pub const CRASH_IMPL_VAR: &str = "BOTHWAYS_JOURNAL_CRASH_IMPL";
/// The environment variable the prune crash check adds to the child's command (value
/// `prune`): the child then prunes every [`PRUNE_EVERY`] appends as well. With the value
/// `serve`, the child serves the journal over TCP instead ([`tcp_server_survives_fd_exhaustion`]).
pub const CRASH_MODE_VAR: &str = "BOTHWAYS_JOURNAL_CRASH_MODE";
/// How many appends the pruning crash child makes between two prunes.
pub const PRUNE_EVERY: u64 = 5;
/// How many of its latest events the pruning crash child keeps at each prune.
pub const PRUNE_KEEP: u64 = 10;

/// When appended events reach the disk, in words both styles share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Never fsynced.
    None,
    /// Fsynced at each flush.
    Flush,
    /// Fsynced before `append` returns, with group commit.
    Append,
}

/// The segment size of the suite's journals unless a check says otherwise: small, so that every
/// check crosses segments and rolls over, and checks its recovery and replay there.
pub const SEGMENT: u64 = 64 << 10;

/// How a check opens a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// When appended events reach the disk.
    pub durability: Durability,
    /// How many live events a subscriber may have waiting before it lags.
    pub subscriber_queue: usize,
    /// How large a segment grows before the next starts.
    pub segment_size: u64,
}

/// What a journal call can end in, in words both styles share. Each implementation's adapter
/// maps its own crate's error enum onto this one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The file is damaged or not a journal; `offset` is where.
    #[error("invalid journal at offset {offset}: {message}")]
    Format {
        /// The byte offset named by the error.
        offset: u64,
        /// The error's text.
        message: String,
    },
    /// The subscriber fell behind and was disconnected after `last_seq`.
    #[error("lagged after {last_seq}")]
    Lagged {
        /// The last sequence number received.
        last_seq: u64,
    },
    /// Events before `first` were pruned.
    #[error("pruned before {first}, asked from {from}")]
    Pruned {
        /// Asked from.
        from: u64,
        /// First kept.
        first: u64,
    },
    /// Every sequence number is taken: nothing more can be appended.
    #[error("sequence numbers exhausted")]
    SequenceExhausted,
    /// A write or an fsync failed (now or earlier): the journal is poisoned.
    #[error("failed: {0}")]
    Failed(String),
    /// The journal is closed.
    #[error("closed")]
    Closed,
    /// Anything else the implementation reports.
    #[error("{0}")]
    Other(String),
}

/// What both styles of the journal must do, stated as blocking calls: open a journal file.
pub trait JournalSpec {
    /// An open journal, as the checks drive it.
    type Journal: SpecJournal;

    /// Opens (creating or recovering) the journal at `path` on the real filesystem, with
    /// segments of [`SEGMENT`] bytes.
    fn open(
        &self,
        path: &Path,
        durability: Durability,
        subscriber_queue: usize,
    ) -> Result<Self::Journal, Error> {
        self.open_on(Fs::shared(), path, durability, subscriber_queue)
    }

    /// Opens (creating or recovering) the journal at `path` on `storage`, with segments of
    /// [`SEGMENT`] bytes: every file operation goes through the storage (the power-cut checks
    /// give it a simulated disk).
    fn open_on(
        &self,
        storage: Arc<dyn Storage>,
        path: &Path,
        durability: Durability,
        subscriber_queue: usize,
    ) -> Result<Self::Journal, Error> {
        let settings = Settings {
            durability,
            subscriber_queue,
            segment_size: SEGMENT,
        };
        self.open_with(storage, path, settings)
    }

    /// Opens (creating or recovering) the journal directory at `path` on `storage`, as
    /// `settings` say.
    fn open_with(
        &self,
        storage: Arc<dyn Storage>,
        path: &Path,
        settings: Settings,
    ) -> Result<Self::Journal, Error>;

    /// A name for the implementation, unique within a test binary (`"threads"`,
    /// `"async current_thread"`): the crash child checks it is the one asked for.
    fn name(&self) -> String;

    /// The command that runs this implementation's crash child: the current test binary,
    /// filtered to its `journal_crash_child` test, with [`CRASH_PATH_VAR`] set to `path` and
    /// [`CRASH_IMPL_VAR`] to [`JournalSpec::name`]. `None` where the process cannot re-execute
    /// itself as a test (the `bothways` runner): the checks that need a child are then skipped,
    /// saying so.
    fn crash_child(&self, path: &Path) -> Option<Command>;
}

/// An open journal, stated as blocking calls. Shared between a check's threads.
pub trait SpecJournal: Send + Sync + 'static {
    /// A subscription.
    type Subscription: SpecSubscription;
    /// Appends one event, returning its sequence number.
    fn append(&self, event: &[u8]) -> Result<u64, Error>;
    /// Flushes what was appended.
    fn flush(&self) -> Result<(), Error>;
    /// Subscribes from sequence number `from`.
    fn subscribe(&self, from: u64) -> Result<Self::Subscription, Error>;
    /// Keeps only the events after `after`.
    fn prune(&self, after: u64) -> Result<(), Error>;
    /// Flushes and closes the journal.
    fn close(&self) -> Result<(), Error>;
    /// Serves subscribers over TCP on `listener` (bound by the check, on loopback) with the
    /// implementation's own server, in the background; returns once it is serving. The
    /// server may outlive the journal's close: each client it still has then sees the
    /// connection end. A client that stalls for `stall_limit` (sends nothing while its
    /// subscribe frame is due, or takes nothing while a frame waits for it) is disconnected.
    /// A client that hangs up — ends its side of the connection — is let go without waiting
    /// for the next event, however quiet the journal.
    fn serve_tcp(&self, listener: TcpListener, stall_limit: Duration) -> Result<(), Error>;
    /// Shuts down every server [`SpecJournal::serve_tcp`] started for this journal, with the
    /// implementation's own way to stop a server, and returns once each has returned: it
    /// accepts no one more, and each client it had sees its connection end. The journal stays
    /// open.
    fn stop_tcp(&self) -> Result<(), Error>;
}

/// A subscription, stated as a blocking call.
pub trait SpecSubscription: Send + 'static {
    /// The next event as `(seq, payload)`, or `Ok(None)` if none came within `limit`.
    fn recv_within(&mut self, limit: Duration) -> Result<Option<(u64, Vec<u8>)>, Error>;
}

macro_rules! checks {
    (; $($name:ident),+ $(,)?) => {
        /// The names of the checks, in the order the suite runs them.
        pub const CHECK_NAMES: &[&str] = &[$(stringify!($name)),+];

        /// Every check, in order, for the runner.
        pub fn checks<T: JournalSpec>() -> Vec<Check<T>> {
            vec![$(Check { name: stringify!($name), run: $name::<T> }),+]
        }
    };
}

/// The checks that must run alone in their process: none since the group-commit check counts
/// the fsyncs of a simulated disk instead of comparing rates on the real one.
pub const PROCESS_WIDE: &[&str] = &[];

crate::__journal_checks!([checks]);

/// Stamps out the journal suite: one `#[test]` per check, plus the `journal_crash_child` test
/// the crash check re-executes (it does nothing unless [`CRASH_PATH_VAR`] is set).
///
/// `threads: make` calls `make()`; `async: make` calls `make(flavour)` once per runtime
/// flavour, in modules `current_thread` and `multi_thread`. `make` returns `Result<Impl, E>`.
#[macro_export]
macro_rules! journal_suite {
    (threads: $make:expr) => {
        $crate::__journal_tests!($make);
    };
    (async: $make:expr) => {
        mod current_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__journal_tests!(|| ($make)($crate::Flavour::CurrentThread));
        }
        mod multi_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__journal_tests!(|| ($make)($crate::Flavour::MultiThread));
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __journal_tests {
    ($make:expr) => {
        $crate::__journal_checks!([$crate::__stamp] journal, $make);

        #[test]
        fn journal_crash_child() {
            if ::std::env::var_os($crate::journal::CRASH_PATH_VAR).is_none() {
                return;
            }
            let imp = match ($make)() {
                Ok(imp) => imp,
                Err(error) => panic!("cannot build the implementation under test: {error:?}"),
            };
            $crate::journal::crash_child(&imp);
        }
    };
}

/// The one list of the journal checks, in the order the suite runs them.
#[doc(hidden)]
#[macro_export]
macro_rules! __journal_checks {
    ([$($callback:tt)*] $($args:tt)*) => {
        $($callback)*! { $($args)* ;
            handover_is_gapless_and_once,
            resume_from_sequence,
            subscribe_past_end_waits,
            every_durability_reads_back,
            reopen_cuts_torn_tail_and_continues,
            acknowledged_appends_survive_sigkill,
            flipped_bit_is_typed_error_at_offset,
            truncated_header_is_typed_error,
            wrong_magic_is_typed_error,
            newer_version_is_typed_error,
            slow_subscriber_lags_with_bounded_memory,
            prune_keeps_only_later_events,
            tcp_subscriber_gets_history_then_live,
            tcp_slow_subscriber_lags_and_resumes,
            tick_flushes_without_a_call,
            oversized_event_is_typed_error,
            tcp_stalled_clients_are_disconnected,
            prune_is_atomic_under_sigkill,
            group_commit_shares_fsyncs,
            large_replay_is_whole_and_in_order,
            zero_tail_is_cut_and_close_trims,
            tcp_hung_up_client_is_let_go,
            impossible_header_is_typed_error,
            sequence_space_ends_with_typed_error,
            tcp_bytes_after_subscribe_disconnect,
            acknowledged_events_survive_power_cuts,
            failed_fsync_poisons_the_journal,
            full_disk_is_typed_error_and_reopen_continues,
            tcp_server_survives_fd_exhaustion,
            tcp_shutdown_lets_clients_go,
            history_is_read_after_the_pause_in_bounded_chunks,
            late_subscriber_seeks_without_reading_the_past,
            prune_deletes_whole_segments_and_keeps_the_active,
            open_reads_only_the_active_segment,
            single_file_journal_is_migrated,
            damage_in_a_sealed_segment_is_a_typed_error,
        }
    };
}
