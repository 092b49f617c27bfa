//! The facade re-exports each pattern crate under its pattern-and-style name, unchanged.

#![cfg(all(feature = "async", feature = "threads"))]

use std::time::Duration;

/// Compiles only when both arguments have the same type: the re-export is the crate itself.
fn same_type<T>(_: &T, _: &T) {}

#[test]
fn timeout_threads_is_the_threads_crate() {
    let pool = bothways::timeout_threads::Pool::new(1).unwrap();
    let direct: Option<bothways_timeout_threads::Pool> = None;
    same_type(&Some(pool), &direct);
    let elapsed = bothways::timeout_threads::Error::Elapsed {
        limit: Duration::ZERO,
    };
    assert!(matches!(
        elapsed,
        bothways_timeout_threads::Error::Elapsed { .. }
    ));
}

#[test]
fn timeout_async_is_the_async_crate() {
    let elapsed = bothways::timeout_async::Error::Elapsed {
        limit: Duration::ZERO,
    };
    assert!(matches!(
        elapsed,
        bothways_timeout_async::Error::Elapsed { .. }
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let got = rt.block_on(bothways::timeout_async::run(
        Duration::from_secs(1),
        async { 7 },
    ));
    assert_eq!(got.unwrap(), 7);
}

#[test]
fn ticker_re_exports_are_the_crates() {
    let threads = bothways::ticker_threads::Config::default();
    let direct: bothways_ticker_threads::Config = threads;
    same_type(&threads, &direct);
    let asynch = bothways::ticker_async::Config::default();
    let direct: bothways_ticker_async::Config = asynch;
    same_type(&asynch, &direct);
}

#[test]
fn pause_re_exports_are_the_crates() {
    let threads = bothways::pause_threads::Error::Stopped;
    assert!(matches!(threads, bothways_pause_threads::Error::Stopped));
    let asynch = bothways::pause_async::Error::Stopped;
    assert!(matches!(asynch, bothways_pause_async::Error::Stopped));
}

#[test]
fn actor_re_exports_are_the_crates() {
    let threads = bothways::actor_threads::RestartPolicy::Never;
    assert!(matches!(
        threads,
        bothways_actor_threads::RestartPolicy::Never
    ));
    let asynch = bothways::actor_async::RestartPolicy::Never;
    assert!(matches!(asynch, bothways_actor_async::RestartPolicy::Never));
}

#[test]
fn journal_re_exports_are_the_crates() {
    let threads = bothways::journal_threads::Durability::Append;
    assert!(matches!(
        threads,
        bothways_journal_threads::Durability::Append
    ));
    let asynch = bothways::journal_async::Durability::Append;
    assert!(matches!(asynch, bothways_journal_async::Durability::Append));
}
