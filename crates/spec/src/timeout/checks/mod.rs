//! The timeout checks, one file per theme. The order the suite runs them in is the list in
//! `__timeout_checks!`, and the check numbers in their docs follow it.

pub(super) mod cancellation;
pub(super) mod deadline;
pub(super) mod errors;
pub(super) mod network;
