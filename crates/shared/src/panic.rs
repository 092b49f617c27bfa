//! The text of a caught panic: what a worker or an actor reports when its code panicked.

/// The text of a panic payload (`&str` or `String`, what `panic!` makes), or a placeholder for
/// other payloads (`std::panic::panic_any` with another type).
///
/// ```
/// use bothways_shared::panic_text;
/// let caught = std::panic::catch_unwind(|| panic!("at {}", 3)).unwrap_err();
/// assert_eq!(panic_text(&*caught), "at 3");
/// let other = std::panic::catch_unwind(|| std::panic::panic_any(7_u8)).unwrap_err();
/// assert_eq!(panic_text(&*other), "a non-string panic payload");
/// ```
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_owned()
    }
}
