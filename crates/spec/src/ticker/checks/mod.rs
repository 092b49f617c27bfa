//! The ticker checks, one file per theme. The order the suite runs them in is the list in
//! `__ticker_checks!`.

pub(super) mod batching;
pub(super) mod ending;
pub(super) mod errors;
