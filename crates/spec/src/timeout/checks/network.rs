//! The timeout checks on network operations: a fetch under one deadline and its precision,
//! accept.

use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::check::{CheckResult, Failure, Figure, ensure, panic_text};
use crate::server::{LineServer, Script};
use crate::timeout::fixtures::{expect_elapsed, fixture, ms};
use crate::timeout::{Error, LATE, TimeoutSpec};

/// How late a fetch may end in `Elapsed` in the precision check: loose enough for a noisy
/// 2-core machine, tight enough that a kernel-rounded socket timeout fails it.
pub const OVERSHOOT: Duration = Duration::from_millis(15);
/// How many fetches a round of the precision check starts, [`PRECISION_STAGGER`] apart.
pub const PRECISION_FETCHES: usize = 4;
/// How far apart the fetches of a precision round start: together they span 24 ms of the
/// kernel timer wheel's phase.
pub const PRECISION_STAGGER: Duration = Duration::from_millis(8);
/// How many rounds the precision check may run to see one in which every fetch was on time.
pub const PRECISION_ROUNDS: usize = 3;

/// A fetch from a server that answers at once returns the message, newline removed.
pub fn whole_message_arrives_within_deadline<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let server = fixture(
        "start",
        LineServer::start(Script::fast(b"hello, bothways\n")),
    )?;
    let start = Instant::now();
    let got = imp.fetch_line(server.addr(), Duration::from_secs(2), 1024);
    let took = start.elapsed();
    ensure(
        got.as_deref() == Ok(b"hello, bothways".as_slice()),
        "Ok(\"hello, bothways\")",
        || format!("{:?}", got.as_ref().map(|v| String::from_utf8_lossy(v))),
    )?;
    Ok(vec![Figure::micros("fetch", took)])
}

/// Check 2: One deadline covers the whole multi-step operation: a server dripping one byte every
/// 20 ms of a 2 s message, under a 300 ms limit, ends in `Elapsed` near 300 ms. A per-read
/// timeout alone would never fire, since every read gets a byte within 20 ms.
pub fn one_deadline_bounds_a_dripping_read<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let mut message = vec![b'x'; 99];
    message.push(b'\n');
    let server = fixture(
        "start",
        LineServer::start(Script::drip(&message, Duration::from_millis(20))),
    )?;
    let limit = Duration::from_millis(300);
    let start = Instant::now();
    let result = imp.fetch_line(server.addr(), limit, 1024);
    let result = result.map(|line| String::from_utf8_lossy(&line).into_owned());
    let took = expect_elapsed(
        "a 2 s dripped message under a 300 ms limit",
        result,
        start,
        limit,
    )?;
    Ok(vec![Figure::millis("elapsed after", took)])
}

/// A fetch keeps its deadline to within a few milliseconds, whatever the limit: under a 1 s
/// limit, against a silent server and against one dripping a byte every 70 ms (never a newline,
/// never closing), four fetches started 8 ms apart all end in `Elapsed` less than 15 ms after
/// their limit — in at least one of three such rounds, since noise on a loaded machine only
/// ever adds delay. (So a fetch later even than [`LATE`] only spoils its round here; the other
/// checks hold that bound.)
///
/// The stagger is what makes a coarse deadline fail every round. A read bounded only by its
/// socket timeout (`SO_RCVTIMEO`) ends when the kernel's timer wheel gets to it: rounded up to
/// the next slot of a wheel level whose slots grow with the timeout — 32 ms wide for 1 s on a
/// 250 Hz kernel, wider elsewhere — so late by anything up to a slot, depending on when the
/// read began. A lone fetch can be lucky; of four begun 8 ms apart, one is at least 24 ms late.
pub fn fetch_line_keeps_its_deadline<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let limit = Duration::from_secs(1);
    let silent = fixture("start", LineServer::start(Script::silent()))?;
    let dripping = fixture(
        "start",
        LineServer::start(Script::drip(&[b'x'; 200], Duration::from_millis(70))),
    )?;
    let servers = [
        ("silent", "silent: latest late by", &silent),
        ("dripping", "dripping: latest late by", &dripping),
    ];
    let mut figures = Vec::new();
    for (name, figure, server) in servers {
        let addr = server.addr();
        // Each round's latest overshoot; a round within the bound ends the search.
        let mut rounds: Vec<Duration> = Vec::with_capacity(PRECISION_ROUNDS);
        while rounds.len() < PRECISION_ROUNDS && rounds.last().is_none_or(|&l| l >= OVERSHOOT) {
            let round = thread::scope(|s| {
                let fetches: Vec<_> = (0..PRECISION_FETCHES)
                    .map(|i| {
                        s.spawn(move || {
                            thread::sleep(PRECISION_STAGGER * u32::try_from(i).unwrap_or(0));
                            let start = Instant::now();
                            let result = imp.fetch_line(addr, limit, 1024);
                            let took = start.elapsed();
                            let result =
                                result.map(|line| String::from_utf8_lossy(&line).into_owned());
                            // Anything but Elapsed, or Elapsed early, is wrong whatever the
                            // noise; lateness, however large, is judged by rounds below.
                            ensure(
                                matches!(result, Err(Error::Elapsed)),
                                &format!("a fetch from a {name} server to end in Elapsed"),
                                || format!("{result:?} after {}", ms(took)),
                            )?;
                            ensure(
                                took >= limit,
                                &format!("Elapsed no earlier than {}", ms(limit)),
                                || format!("Elapsed after {}", ms(took)),
                            )?;
                            Ok(took - limit)
                        })
                    })
                    .collect();
                fetches
                    .into_iter()
                    .map(|fetch| {
                        fetch
                            .join()
                            .map_err(|p| Failure::new("no panic", panic_text(&*p)))?
                    })
                    .collect::<Result<Vec<Duration>, Failure>>()
            })?;
            rounds.push(round.into_iter().max().unwrap_or(Duration::ZERO));
        }
        let best = rounds.iter().copied().min().unwrap_or(Duration::MAX);
        ensure(
            best < OVERSHOOT,
            &format!(
                "every fetch of a round from a {name} server to end in Elapsed less than {} \
                 after its 1 s limit, in one of {PRECISION_ROUNDS} rounds of \
                 {PRECISION_FETCHES} started {} apart",
                ms(OVERSHOOT),
                ms(PRECISION_STAGGER),
            ),
            || {
                let all: Vec<String> = rounds.iter().map(|&d| ms(d)).collect();
                format!("the latest of each round late by {}", all.join(", "))
            },
        )?;
        figures.push(Figure::millis(figure, best));
    }
    Ok(figures)
}

/// Check 4a: Accept with a deadline returns `Elapsed` when nobody connects.
pub fn accept_elapses_when_nobody_connects<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let listener = fixture("bind", TcpListener::bind(("127.0.0.1", 0)))?;
    let limit = Duration::from_millis(200);
    let start = Instant::now();
    let result = imp.accept(&listener, limit);
    let took = expect_elapsed("an accept nobody answers", result, start, limit)?;
    Ok(vec![Figure::millis("late by", took - limit)])
}

/// Check 4b: Accept with a deadline returns the connection when a client comes in time.
pub fn accept_returns_the_connection<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let listener = fixture("bind", TcpListener::bind(("127.0.0.1", 0)))?;
    let addr = fixture("read its address", listener.local_addr())?;
    let connected_at = std::sync::Arc::new(std::sync::Mutex::new(None));
    let client = {
        let connected_at = std::sync::Arc::clone(&connected_at);
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            let stream = TcpStream::connect(addr)?;
            let local = stream.local_addr()?;
            *connected_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
            // Hold the stream until the accept has been checked.
            thread::sleep(Duration::from_millis(200));
            std::io::Result::Ok((stream, local))
        })
    };
    let result = imp.accept(&listener, Duration::from_secs(2));
    let accepted_at = Instant::now();
    let joined = client
        .join()
        .map_err(|p| Failure::new("the client thread", panic_text(&*p)))?;
    let (_stream, local) = fixture("connect", joined)?;
    ensure(result == Ok(local), &format!("Ok({local})"), || {
        format!("{result:?}")
    })?;
    let connected = *connected_at
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let lag = connected.map_or(Duration::ZERO, |c| accepted_at.saturating_duration_since(c));
    ensure(lag <= LATE, "the connection noticed within 150 ms", || {
        format!("it noticed {} after the connect", ms(lag))
    })?;
    Ok(vec![Figure::millis("accepted after connect", lag)])
}
