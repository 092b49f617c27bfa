//! What a server does when `accept` fails, the same in both styles: which errors are one
//! connection's (accept the next at once), which are a want of resources (accept again after a
//! pause, so as not to spin), and which end the server. Used by both journals' TCP servers.
//!
//! ```
//! use bothways_wire::accept::{Retry, retry};
//! let aborted = std::io::Error::from(std::io::ErrorKind::ConnectionAborted);
//! assert_eq!(retry(&aborted), Retry::Now);
//! ```

use std::io;
use std::time::Duration;

/// The first pause after an `accept` that failed for want of resources. Without one the loop
/// would spin: the connection that could not be taken keeps the listener ready, so the next
/// `accept` returns at once and fails the same way. It doubles with each failure in a row, so
/// that a moment's shortage costs a client 10 ms and a long one costs one try (and one
/// warning) a second: tokio's own `TcpListener` leaves this to its caller; Go's `net/http`
/// waits 5 ms doubling to 1 s, and hyper's and axum's accept loops 1 s.
pub const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause between two `accept`s that fail for want of resources.
pub const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// What an `accept` that failed calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// One connection's error, gone with it: accept the next at once.
    Now,
    /// The process or the system is short of resources: accept again after a pause.
    AfterPause,
    /// The listener itself is unusable.
    Never,
}

/// The numbers of EMFILE, ENFILE and ENOBUFS, the want of resources std does not map to an
/// `io::ErrorKind` (it maps ENOMEM to `OutOfMemory`) nor exports; the `libc` crate would, but
/// three constants do not call for a dependency. EMFILE and ENFILE are the same on every Unix.
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;
#[cfg(any(target_os = "linux", target_os = "android"))]
const ENOBUFS: i32 = 105;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const ENOBUFS: i32 = 55; // macOS and the BSDs

/// Sorts an `accept` error: one connection's, a want of resources, or the end of the
/// listener.
pub fn retry(e: &io::Error) -> Retry {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionAborted | ConnectionReset | Interrupted | NetworkDown | NetworkUnreachable
        | HostUnreachable | PermissionDenied => Retry::Now,
        OutOfMemory => Retry::AfterPause,
        _ if matches!(e.raw_os_error(), Some(EMFILE | ENFILE | ENOBUFS)) => Retry::AfterPause,
        _ => Retry::Never,
    }
}

#[cfg(test)]
mod tests {
    //! How `accept` errors are sorted; the three told by their numbers alone are checked
    //! against the system's own words for them.

    use super::*;

    #[test]
    fn accept_errors_are_sorted() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        for (code, words) in [
            (EMFILE, "Too many open files ("),
            (ENFILE, "Too many open files in system"),
            (ENOBUFS, "No buffer space available"),
        ] {
            let e = io::Error::from_raw_os_error(code);
            assert!(e.to_string().starts_with(words), "{code}: {e}");
        }
        for code in [EMFILE, ENFILE, ENOBUFS] {
            let e = io::Error::from_raw_os_error(code);
            assert_eq!(retry(&e), Retry::AfterPause, "{e}");
        }
        let kind = |kind: io::ErrorKind| retry(&kind.into());
        assert_eq!(kind(io::ErrorKind::OutOfMemory), Retry::AfterPause);
        assert_eq!(kind(io::ErrorKind::ConnectionAborted), Retry::Now);
        // EINVAL: the socket is not listening.
        assert_eq!(kind(io::ErrorKind::InvalidInput), Retry::Never);
    }
}
