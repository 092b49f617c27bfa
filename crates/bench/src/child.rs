//! A measured child process that can never outlive its experiment: killed *and* reaped on every
//! path, with its output pipes drained all along.
//!
//! std's `Child` is neither killed nor waited for when dropped, so an early `?` would leave a
//! running (or zombie) server behind; tokio's `kill_on_drop` kills but only reaps later from a
//! runtime that may already be gone. Hence a plain std child inside a guard whose `Drop` kills and
//! waits, and one thread per pipe reading it to the end, so a child that writes more than a pipe
//! holds (64 KiB on Linux) never blocks on a full pipe while we wait for it.

use std::io::{BufRead, Read};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::Error;

/// A running child of this binary in a hidden role (see [`crate::child_main`]).
#[derive(Debug)]
pub(crate) struct Guard {
    /// `None` once reaped.
    child: Option<Child>,
    /// The role, for error messages.
    pub(crate) role: String,
    /// Stdout: its first line is sent on `first_line`, the rest accumulated.
    stdout: Option<JoinHandle<String>>,
    first_line: mpsc::Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Guard {
    /// Starts `exe <CHILD_ARG> args…` with stdin piped (closing it is the stop signal the echo
    /// server waits for) and both output pipes drained on threads.
    pub(crate) fn start(exe: &Path, args: &[&str]) -> Result<Guard, Error> {
        let role = args.join(" ");
        let mut child = Command::new(exe)
            .arg(crate::CHILD_ARG)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(Error::io(format!("starting {}", exe.display())))?;
        let (tx, first_line) = mpsc::channel();
        let stdout = child.stdout.take().map(|out| {
            std::thread::spawn(move || {
                let mut out = std::io::BufReader::new(out);
                let mut line = String::new();
                let _ = out.read_line(&mut line);
                let _ = tx.send(line.clone()); // the receiver may be gone: nothing to do then
                let _ = out.read_to_string(&mut line);
                line
            })
        });
        let stderr = child.stderr.take().map(|mut err| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = err.read_to_string(&mut s);
                s
            })
        });
        Ok(Guard {
            child: Some(child),
            role,
            stdout,
            first_line,
            stderr,
        })
    }

    /// The child's process id (`None` once reaped).
    pub(crate) fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Takes the child's stdin; dropping it closes the pipe.
    pub(crate) fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.as_mut()?.stdin.take()
    }

    /// The first line the child printed, waiting at most `deadline`.
    pub(crate) fn first_line(&self, deadline: Duration) -> Result<String, Error> {
        match self.first_line.recv_timeout(deadline) {
            Ok(line) => Ok(line),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout {
                what: format!("the first line of child `{}`", self.role),
                after: deadline,
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Child {
                role: self.role.clone(),
                detail: "stdout closed before a line".into(),
            }),
        }
    }

    /// Waits at most `deadline` for the child to exit; `None` if it is still running.
    pub(crate) fn wait_timeout(&mut self, deadline: Duration) -> Result<Option<ExitStatus>, Error> {
        let start = Instant::now();
        let Some(child) = self.child.as_mut() else {
            return Ok(None);
        };
        // Poll rather than wait: std has no wait-with-timeout.
        loop {
            if let Some(status) = child
                .try_wait()
                .map_err(Error::io(format!("waiting for child `{}`", self.role)))?
            {
                self.child = None; // reaped
                return Ok(Some(status));
            }
            if start.elapsed() > deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Kills (if still running) and reaps the child, then returns everything it wrote to stdout and
    /// stderr: the drain threads end once the child's end of each pipe is closed.
    pub(crate) fn finish(mut self) -> (String, String) {
        self.reap();
        let out = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let err = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        (out, err)
    }

    fn reap(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Errors mean it already exited; wait() then reaps it.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.reap();
    }
}

/// Runs `exe` in a child role with stdin closed at once, and returns its stdout; kills and reaps it
/// if it outlives `deadline` or anything fails.
pub(crate) fn run(exe: &Path, args: &[&str], deadline: Duration) -> Result<String, Error> {
    let mut guard = Guard::start(exe, args)?;
    drop(guard.take_stdin()); // the memory child reads no input
    let status = guard.wait_timeout(deadline)?;
    let role = guard.role.clone();
    let (out, err) = guard.finish();
    match status {
        None => Err(Error::Timeout {
            what: format!("child `{role}`"),
            after: deadline,
        }),
        Some(s) if !s.success() => Err(Error::Child {
            role,
            detail: format!("{s}: {}", err.trim()),
        }),
        Some(_) => Ok(out),
    }
}
