//! The pause checks, one file per theme. The order the suite runs them in is the list in
//! `__pause_checks!`, and the check numbers in their docs follow it.

pub(super) mod errors;
pub(super) mod guard;
pub(super) mod load;
