//! The timeout checks on typed errors: a panicking operation, bad input, a refused connection.

use std::net::TcpListener;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use bothways_wire::Error as WireError;

use crate::check::{CheckResult, Failure, Figure, ensure, panic_text};
use crate::server::{LineServer, Script};
use crate::timeout::fixtures::{fixture, ms};
use crate::timeout::{Error, TimeoutSpec};

/// Check 6c: An operation that panics gives the caller a typed error, and the implementation stays
/// usable: sixteen panics in a row (more than a small pool has workers), then normal calls.
pub fn panic_becomes_typed_error_and_pool_survives<T: TimeoutSpec>(imp: &T) -> CheckResult {
    for _ in 0..16 {
        let result = catch_unwind(AssertUnwindSafe(|| {
            imp.panics("boom", Duration::from_secs(2))
        }));
        let result = result.map_err(|p| {
            Failure::new(
                "a typed error",
                format!("the panic reached the caller: {}", panic_text(&*p)),
            )
        })?;
        ensure(
            matches!(&result, Err(Error::Panicked { message }) if message.contains("boom")),
            "Err(Panicked { message: \"boom\" })",
            || format!("{result:?}"),
        )?;
    }
    let after = imp.instant(100, Duration::from_secs(2));
    ensure(
        after == Ok(4950),
        "Ok(4950) from calls after the panics",
        || format!("{after:?}"),
    )?;
    Ok(Vec::new())
}

/// Bad input: a line longer than the maximum is a typed error. (That nothing beyond the
/// maximum is buffered is `bothways_wire::LineDecoder`'s to test.)
pub fn overlong_line_is_a_typed_error<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let mut message = vec![b'a'; 100_000];
    message.push(b'\n');
    let server = fixture("start", LineServer::start(Script::fast(&message)))?;
    let result = imp.fetch_line(server.addr(), Duration::from_secs(2), 1024);
    ensure(
        result == Err(Error::Wire(WireError::LineTooLong { max: 1024 })),
        "Err(Wire(LineTooLong { max: 1024 }))",
        || format!("{:?}", result.map(|v| v.len())),
    )?;
    Ok(Vec::new())
}

/// Bad input: a peer that closes before the newline is a typed error that says how much came.
pub fn eof_before_newline_is_a_typed_error<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let server = fixture(
        "start",
        LineServer::start(Script::fast(b"partial").then_close()),
    )?;
    let result = imp.fetch_line(server.addr(), Duration::from_secs(2), 1024);
    ensure(
        result == Err(Error::Wire(WireError::Closed { received: 7 })),
        "Err(Wire(Closed { received: 7 }))",
        || format!("{result:?}"),
    )?;
    Ok(Vec::new())
}

/// Bad input: nobody listening is a typed I/O error, at once, not a wait for the deadline.
pub fn refused_connection_is_a_typed_error<T: TimeoutSpec>(imp: &T) -> CheckResult {
    // Bind then drop: the port is free and, on loopback, refuses at once.
    let addr = {
        let listener = fixture("bind", TcpListener::bind(("127.0.0.1", 0)))?;
        fixture("read its address", listener.local_addr())?
    };
    let start = Instant::now();
    let result = imp.fetch_line(addr, Duration::from_secs(5), 64);
    let took = start.elapsed();
    ensure(
        result == Err(Error::Io(std::io::ErrorKind::ConnectionRefused)),
        "Err(Io(ConnectionRefused))",
        || format!("{result:?}"),
    )?;
    ensure(
        took < Duration::from_secs(1),
        "the refusal well before the 5 s deadline",
        || format!("it after {}", ms(took)),
    )?;
    Ok(vec![Figure::millis("refused after", took)])
}
