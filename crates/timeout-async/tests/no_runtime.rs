//! Outside any tokio runtime the async timeout says so with a typed error instead of panicking.

use std::time::Duration;

use bothways_timeout_async::{Error, run};

#[test]
fn outside_a_runtime_run_is_a_typed_error() {
    // No runtime: the future is polled by a bare executor, and `run` says so instead of panicking.
    let got = block_on_without_runtime(run(Duration::from_secs(1), async { 7 }));
    assert!(matches!(got, Err(Error::NoRuntime)), "{got:?}");
}

/// Polls a future to completion on this thread without any runtime.
fn block_on_without_runtime<F: std::future::Future>(f: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}
