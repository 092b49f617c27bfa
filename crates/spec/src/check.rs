//! What a check returns — a pass with the figures it measured, or a failure saying what was
//! expected and what was seen — and the helpers the stamped tests and the runner share.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// The text of a panic payload (`&str` or `String`), or a placeholder for other payloads: the
/// one copy every crate uses, re-exported here for the checks.
pub use bothways_shared::panic_text;

/// The unit that marks [`Figure::skipped`].
const SKIPPED: &str = "(skipped)";

/// One measured figure of a check: a name, a value and its unit.
///
/// ```
/// use bothways_spec::Figure;
/// let f = Figure::millis("late by", std::time::Duration::from_micros(2_500));
/// assert_eq!(f.to_string(), "late by 2.50 ms");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// What was measured, e.g. `"per call"`.
    pub name: &'static str,
    /// The measured value, in `unit`.
    pub value: f64,
    /// The unit of `value`, e.g. `"µs"`.
    pub unit: &'static str,
}

impl Figure {
    /// A figure with an explicit unit.
    pub fn new(name: &'static str, value: f64, unit: &'static str) -> Self {
        Figure { name, value, unit }
    }

    /// A duration, in milliseconds.
    pub fn millis(name: &'static str, d: Duration) -> Self {
        Figure::new(name, d.as_secs_f64() * 1e3, "ms")
    }

    /// A duration, in microseconds.
    pub fn micros(name: &'static str, d: Duration) -> Self {
        Figure::new(name, d.as_secs_f64() * 1e6, "µs")
    }

    /// The one figure of a check that could not run here, saying why; the runner shows the
    /// verdict as "skipped", not "pass".
    ///
    /// ```
    /// let f = bothways_spec::Figure::skipped("cannot re-execute a child");
    /// assert!(f.is_skipped());
    /// ```
    pub fn skipped(why: &'static str) -> Self {
        Figure::new(why, 0.0, SKIPPED)
    }

    /// Whether this figure marks a skipped check.
    pub fn is_skipped(&self) -> bool {
        self.unit == SKIPPED
    }

    /// A count of things (threads, files, answers).
    pub fn count(name: &'static str, n: i64, unit: &'static str) -> Self {
        // i64 → f64 is exact for every count a check can reach (well below 2^53).
        Figure::new(name, n as f64, unit)
    }
}

impl Figure {
    /// The value and its unit, without the name: `2.50 ms`.
    ///
    /// ```
    /// let f = bothways_spec::Figure::count("threads Δ", 0, "threads");
    /// assert_eq!(f.amount(), "0 threads");
    /// ```
    pub fn amount(&self) -> String {
        // Three significant figures are all a noisy 2-core machine can vouch for.
        let v = self.value;
        let digits = if (v == v.trunc() && v.abs() < 1e6) || v.abs() >= 100.0 {
            0
        } else if v.abs() >= 10.0 {
            1
        } else if v.abs() >= 1.0 {
            2
        } else {
            3
        };
        format!("{v:.digits$} {}", self.unit).trim_end().to_owned()
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.amount())
    }
}

/// A check that did not hold: what it expected, and what it saw instead.
///
/// ```
/// use bothways_spec::Failure;
/// let f = Failure::new("Elapsed within 350 ms", "Ok after 2.0 s");
/// assert_eq!(f.to_string(), "expected Elapsed within 350 ms; saw Ok after 2.0 s");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The property the check asserts, in words.
    pub expected: String,
    /// What the implementation did instead.
    pub seen: String,
}

impl Failure {
    /// A failure from its two halves.
    pub fn new(expected: impl Into<String>, seen: impl Into<String>) -> Self {
        Failure {
            expected: expected.into(),
            seen: seen.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}; saw {}", self.expected, self.seen)
    }
}

impl std::error::Error for Failure {}

/// The outcome of one check: its figures, or why it failed.
pub type CheckResult = Result<Vec<Figure>, Failure>;

/// One named check of a pattern, generic over the implementation it drives.
///
/// ```
/// use bothways_spec::{Check, check::run_check};
/// fn holds(n: &u32) -> bothways_spec::CheckResult {
///     bothways_spec::check::ensure(*n > 0, "a positive number", || n.to_string())?;
///     Ok(Vec::new())
/// }
/// let check = Check { name: "number_is_positive", run: holds };
/// assert!(run_check(check.run, &1).is_ok());
/// assert_eq!(run_check(check.run, &0).unwrap_err().seen, "0");
/// ```
pub struct Check<T: ?Sized> {
    /// The check's name, which states the property (`no_progress_after_deadline`).
    pub name: &'static str,
    /// The check itself.
    pub run: fn(&T) -> CheckResult,
}

impl<T: ?Sized> fmt::Debug for Check<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Fails with `expected` / `seen` unless `holds`.
///
/// ```
/// use bothways_spec::check::ensure;
/// assert!(ensure(1 + 1 == 2, "arithmetic", || "something else").is_ok());
/// assert!(ensure(false, "true", || "false").is_err());
/// ```
pub fn ensure<S: Into<String>>(
    holds: bool,
    expected: &str,
    seen: impl FnOnce() -> S,
) -> Result<(), Failure> {
    if holds {
        Ok(())
    } else {
        Err(Failure::new(expected, seen()))
    }
}

/// Runs one check, turning a panic that escapes the implementation into a [`Failure`], so the
/// runner can go on to the next check.
///
/// ```
/// use bothways_spec::check::run_check;
/// fn bad(_: &()) -> bothways_spec::CheckResult { panic!("escaped") }
/// let failure = run_check(bad, &()).unwrap_err();
/// assert!(failure.seen.contains("escaped"));
/// ```
pub fn run_check<T: ?Sized>(check: fn(&T) -> CheckResult, imp: &T) -> CheckResult {
    match catch_unwind(AssertUnwindSafe(|| check(imp))) {
        Ok(result) => result,
        Err(payload) => Err(Failure::new(
            "no panic to reach the caller",
            format!("a panic: {}", panic_text(payload.as_ref())),
        )),
    }
}

/// The body of every stamped `#[test]`: runs the check and panics with its failure — or with
/// the reason it was skipped. In the test harness a check runs or fails: a skip that stayed
/// green would test nothing. Only the `bothways` runner shows "skipped", for the limits it
/// declares (it cannot re-execute itself as a crash child), and counts it apart from passes.
///
/// ```should_panic
/// use bothways_spec::{CheckResult, Figure, check::assert_passes};
/// fn skips(_: &()) -> CheckResult {
///     Ok(vec![Figure::skipped("nothing to measure here")])
/// }
/// assert_passes("skips", skips, &()); // panics: "…saw it skipped: nothing to measure here"
/// ```
pub fn assert_passes<T: ?Sized>(name: &str, check: fn(&T) -> CheckResult, imp: &T) {
    match run_check(check, imp) {
        Err(failure) => panic!("{name}: {failure}"),
        Ok(figures) => {
            if let Some(skip) = figures.iter().find(|f| f.is_skipped()) {
                panic!(
                    "{name}: expected the check to run; saw it skipped: {}",
                    skip.name
                );
            }
        }
    }
}

/// The environment variable that replays a randomised check: its value is the seed that the
/// check's failure message printed.
pub const SEED_VAR: &str = "BOTHWAYS_SEED";

/// The seed of a randomised check: [`SEED_VAR`] when it is set to a number (to replay a
/// failure), otherwise one from the clock. Never 0, which a xorshift generator cannot leave.
///
/// ```
/// let seed = bothways_spec::check::seed();
/// assert_ne!(seed, 0);
/// ```
pub fn seed() -> u64 {
    let chosen = std::env::var(SEED_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    chosen
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
        .max(1)
}

/// Runs a randomised check's `body` with a [`seed`], and puts the seed in its failure, so the
/// same run can be replayed with [`SEED_VAR`].
///
/// ```
/// use bothways_spec::Failure;
/// use bothways_spec::check::seeded;
/// let failed: Result<(), Failure> = seeded(|_seed| Err(Failure::new("calm", "a storm")));
/// assert!(failed.unwrap_err().seen.contains("BOTHWAYS_SEED="));
/// ```
pub fn seeded<R>(body: impl FnOnce(u64) -> Result<R, Failure>) -> Result<R, Failure> {
    let seed = seed();
    body(seed).map_err(|f| {
        Failure::new(
            f.expected,
            format!("{} (seed {seed}: replay with {SEED_VAR}={seed})", f.seen),
        )
    })
}

/// A small xorshift generator for the moments and sizes a check picks at random: they need no
/// quality, only variety, and the same seed gives the same run.
///
/// ```
/// use bothways_spec::check::Rng;
/// let (mut a, mut b) = (Rng::new(7), Rng::new(7));
/// assert_eq!(a.below(100), b.below(100));
/// assert!(Rng::new(7).below(10) < 10);
/// ```
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is taken as 1).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next raw 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// The body of a test stamped by [`broken_tests!`](crate::broken_tests): runs `check` against
/// an implementation with a deliberate `flaw`, and panics unless the check fails — and fails
/// for that flaw, its expectation containing `expected`, not for some other reason.
pub fn assert_fails<T: ?Sized>(
    flaw: &dyn fmt::Debug,
    name: &str,
    check: fn(&T) -> CheckResult,
    imp: &T,
    expected: &str,
) {
    match run_check(check, imp) {
        Ok(figures) => panic!("{name} passed against {flaw:?}: {figures:?}"),
        Err(failure) => {
            println!("{flaw:?} fails {name}: {failure}");
            assert!(
                failure.expected.contains(expected),
                "{flaw:?} should fail {name} expecting {expected:?}; it failed with: {failure}",
            );
        }
    }
}

/// Panics unless every one of a pattern's checks (`all`) is among those `shown` to fail: a new
/// check with no broken implementation has not been seen to fail yet.
pub fn assert_every_check_shown(shown: &[&str], all: &[&str]) {
    let missing: Vec<&&str> = all.iter().filter(|name| !shown.contains(name)).collect();
    assert!(
        missing.is_empty(),
        "no broken variant shows these checks failing: {missing:?}"
    );
}

// Checks that read process-wide counters (threads, open files, CPU time) must not overlap with
// anything that creates threads or sockets, and libtest runs tests on parallel threads of one
// process. So every stamped test takes this lock before it even builds its implementation —
// shared for an ordinary check, exclusive for one its pattern lists as process-wide.
static PROCESS: RwLock<()> = RwLock::new(());

/// The hold a stamped test has on the process while it runs.
#[derive(Debug)]
pub enum Guard {
    /// An ordinary check: runs beside other ordinary checks.
    Shared(RwLockReadGuard<'static, ()>),
    /// A check that counts the whole process's threads or files: runs alone.
    Exclusive(RwLockWriteGuard<'static, ()>),
}

/// Takes the process lock, exclusive when `exclusive`.
///
/// ```
/// use bothways_spec::check::{Guard, guard};
/// let shared = guard(false);
/// assert!(matches!(shared, Guard::Shared(_)));
/// let also_shared = guard(false); // ordinary checks run side by side
/// drop((shared, also_shared));
/// assert!(matches!(guard(true), Guard::Exclusive(_)));
/// ```
pub fn guard(exclusive: bool) -> Guard {
    // A poisoned lock only means another check panicked; the `()` it guards cannot be torn.
    if exclusive {
        Guard::Exclusive(PROCESS.write().unwrap_or_else(PoisonError::into_inner))
    } else {
        Guard::Shared(PROCESS.read().unwrap_or_else(PoisonError::into_inner))
    }
}
