//! The runner's progress: a bar redrawn on stderr while the checks and experiments run, when
//! stderr is a terminal; one line per stage otherwise, so a log stays readable.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(100);
/// Cells in the bar.
const WIDTH: usize = 24;
/// Characters of the label shown after the bar, count and time.
const LABEL: usize = 34;

/// Counts steps done out of a known total; shared by the threads that run the checks.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: bool,
    total: usize,
    done: AtomicUsize,
    label: Mutex<String>,
    stop: AtomicBool,
    start: Instant,
}

impl Progress {
    /// A progress of `total` steps, drawn as a bar only when stderr is a terminal.
    pub(crate) fn new(total: usize) -> Arc<Progress> {
        Arc::new(Progress {
            bar: std::io::stderr().is_terminal(),
            total: total.max(1),
            done: AtomicUsize::new(0),
            label: Mutex::new(String::new()),
            stop: AtomicBool::new(false),
            start: Instant::now(),
        })
    }

    /// Starts redrawing the bar on its own thread, until [`Progress::finish`].
    pub(crate) fn draw(self: &Arc<Self>) -> Option<thread::JoinHandle<()>> {
        if !self.bar {
            return None;
        }
        let me = Arc::clone(self);
        thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                while !me.stop.load(Ordering::Acquire) {
                    me.redraw();
                    thread::sleep(TICK);
                }
                // Leave the terminal as it was: the table follows on stdout.
                eprint!("\r\x1b[2K");
            })
            .ok()
    }

    /// A new stage begins: on a terminal it names the bar, otherwise it is one log line.
    pub(crate) fn stage(&self, what: &str) {
        if self.bar {
            self.set_label(what);
        } else {
            eprintln!("{what}");
        }
    }

    /// What is running now, shown next to the bar.
    pub(crate) fn set_label(&self, what: &str) {
        let mut label = self.label.lock().unwrap_or_else(PoisonError::into_inner);
        what.clone_into(&mut label);
    }

    /// One step done.
    pub(crate) fn step(&self) {
        self.done.fetch_add(1, Ordering::AcqRel);
    }

    /// Stops the bar and clears its line.
    pub(crate) fn finish(&self, drawer: Option<thread::JoinHandle<()>>) {
        self.stop.store(true, Ordering::Release);
        if let Some(d) = drawer {
            // The drawer only sleeps and prints; a panic there must not hide the table.
            let _ = d.join();
        }
    }

    fn redraw(&self) {
        let mut err = std::io::stderr().lock();
        // A closed stderr is no reason to stop the run.
        let _ = write!(err, "\r\x1b[2K{}", self.line());
        let _ = err.flush();
    }

    /// The bar, the count, the time so far and what is running.
    fn line(&self) -> String {
        let done = self.done.load(Ordering::Acquire).min(self.total);
        let filled = done * WIDTH / self.total;
        let label = self
            .label
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        // The whole line stays within 80 columns: a wrapped line cannot be redrawn in place.
        let label: String = label.chars().take(LABEL).collect();
        format!(
            "[{}{}] {done:>4}/{:<4} {:>4.0} s  {label}",
            "█".repeat(filled),
            "·".repeat(WIDTH - filled),
            self.total,
            self.start.elapsed().as_secs_f64()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_steps_and_never_past_its_end() {
        let p = Progress::new(4);
        p.set_label("pause · no progress while paused");
        let empty = format!("[{}]    0/4", "·".repeat(WIDTH));
        assert!(p.line().starts_with(&empty), "{}", p.line());
        p.step();
        p.step();
        let half = format!(
            "[{}{}]    2/4",
            "█".repeat(WIDTH / 2),
            "·".repeat(WIDTH / 2)
        );
        assert!(p.line().starts_with(&half), "{}", p.line());
        assert!(p.line().ends_with("pause · no progress while paused"));
        for _ in 0..5 {
            p.step();
        }
        let full = format!("[{}]    4/4", "█".repeat(WIDTH));
        assert!(p.line().starts_with(&full), "{}", p.line());
        // However long the label, the line fits an 80-column terminal.
        p.set_label(&"x".repeat(200));
        assert!(p.line().chars().count() < 80, "{}", p.line());
    }
}
