//! The facade: every bothways pattern crate, re-exported by style.
