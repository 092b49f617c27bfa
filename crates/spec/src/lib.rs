//! The conformance suite: one trait per pattern, the checks both styles must pass, and the
//! fixtures they share.
//!
//! Each pattern has a module with a trait stated as *blocking* methods, so one check body can
//! drive both styles: a threads implementation implements it directly, an async implementation
//! through an adapter that owns a tokio runtime and blocks on it. Each check is a plain generic
//! function returning a [`CheckResult`]; the exported `*_suite!` macros stamp out one `#[test]`
//! per check for a given implementation, and the `bothways` runner calls the same functions to
//! fill its table.
//!
//! This crate never depends on an implementation: the implementations depend on it, behind a
//! `spec` feature, so that a user of one pattern crate does not pull the suite in.
//!
//! ```
//! use bothways_spec::{Flavour, timeout};
//!
//! // Every pattern publishes its checks by name, in the order the suite runs them.
//! assert!(timeout::CHECK_NAMES.contains(&"no_progress_after_deadline"));
//! assert_eq!(Flavour::ALL.len(), 2);
//! ```
#![warn(missing_docs)]

pub mod actor;
pub mod check;
pub mod journal;
pub mod pause;
pub mod recorder;
pub mod resources;
pub mod server;
pub mod ticker;
pub mod timeout;

pub use check::{Check, CheckResult, Failure, Figure};

/// The tokio runtime flavour an async implementation is built on.
///
/// Async implementations run every check on both: a `current_thread` runtime exposes code that
/// relies on a second worker to make progress, a `multi_thread` one exposes code that relies on
/// never being polled concurrently with its caller.
///
/// ```
/// use bothways_spec::Flavour;
/// assert_eq!(Flavour::CurrentThread.name(), "current_thread");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// `tokio::runtime::Builder::new_current_thread`.
    CurrentThread,
    /// `tokio::runtime::Builder::new_multi_thread`.
    MultiThread,
}

impl Flavour {
    /// Both flavours, in the order the suites run them.
    pub const ALL: [Flavour; 2] = [Flavour::CurrentThread, Flavour::MultiThread];

    /// The flavour's name as tokio spells it.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::CurrentThread => "current_thread",
            Flavour::MultiThread => "multi_thread",
        }
    }
}

impl std::fmt::Display for Flavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Stamps out one `#[test]` per check of a pattern, from the pattern's one list of checks.
/// Used through the per-pattern macros such as [`timeout_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __stamp {
    ($pattern:ident, $make:expr; $($check:ident),+ $(,)?) => {
        $(
            #[test]
            fn $check() {
                let _process = $crate::check::guard(
                    $crate::$pattern::PROCESS_WIDE.contains(&stringify!($check)),
                );
                let imp = match ($make)() {
                    Ok(imp) => imp,
                    Err(error) => panic!("cannot build the implementation under test: {error:?}"),
                };
                $crate::check::assert_passes(
                    stringify!($check),
                    $crate::$pattern::$check,
                    &imp,
                );
            }
        )+
    };
}

/// Stamps the tests that show a pattern's checks can fail: one `#[test]` per line
/// `name: Variant => check, "part of the expected text";`, each running `check` against the
/// implementation `build(Flaws::Variant)` and passing only if the check fails *for that flaw*
/// (its expectation contains the text), plus `every_check_is_shown_to_fail`, which fails while
/// any of the pattern's checks has no such line.
///
/// ```
/// # mod demo {
/// # use std::net::{SocketAddr, TcpListener};
/// # use std::time::Duration;
/// # use bothways_spec::{recorder::Recorder, timeout::{Error, TimeoutSpec}};
/// #[derive(Debug, Clone, Copy)]
/// enum Flaw { OffByOne }
/// struct Imp(Flaw);
/// impl TimeoutSpec for Imp {
///     fn instant(&self, n: u32, _: Duration) -> Result<u64, Error> {
///         Ok((1..=u64::from(n)).sum()) // one too many, each time
///     }
/// #   fn steps(&self, _: u32, _: Duration, _: &Recorder, _: Duration) -> Result<u32, Error> { Ok(0) }
/// #   fn fetch_line(&self, _: SocketAddr, _: Duration, _: usize) -> Result<Vec<u8>, Error> { Ok(vec![]) }
/// #   fn accept(&self, _: &TcpListener, _: Duration) -> Result<SocketAddr, Error> { Err(Error::Elapsed) }
/// #   fn panics(&self, _: &'static str, _: Duration) -> Result<(), Error> { Ok(()) }
/// }
/// bothways_spec::broken_tests! {
///     pattern: timeout, flaws: Flaw, build: |flaw| Imp(flaw);
///     off_by_one_fails_fast_operation_returns_its_value:
///         OffByOne => fast_operation_returns_its_value, "the sum of 0..";
/// }
/// # }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! broken_tests {
    (
        pattern: $pattern:ident, flaws: $flaws:ident, build: $build:expr;
        $($(#[$attr:meta])* $test:ident: $flaw:ident => $check:ident, $expected:literal;)+
    ) => {
        $(
            #[test]
            $(#[$attr])*
            fn $test() {
                // Taken first, as a stamped test does, and released last: the implementation
                // is built and dropped while the process lock is held.
                let _process = $crate::check::guard(
                    $crate::$pattern::PROCESS_WIDE.contains(&stringify!($check)),
                );
                let imp = ($build)($flaws::$flaw);
                $crate::check::assert_fails(
                    &$flaws::$flaw,
                    stringify!($check),
                    $crate::$pattern::$check,
                    &imp,
                    $expected,
                );
            }
        )+

        #[test]
        fn every_check_is_shown_to_fail() {
            $crate::check::assert_every_check_shown(
                &[$(stringify!($check)),+],
                $crate::$pattern::CHECK_NAMES,
            );
        }
    };
}
