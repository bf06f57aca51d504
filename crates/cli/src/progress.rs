//! Progress bars on standard error, drawn only when it is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

fn visible() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar of `len` bytes, labelled `message`; hidden unless standard error is a terminal.
pub fn bytes(len: u64, message: &'static str) -> ProgressBar {
    bar(
        len,
        message,
        "{msg:>9} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    )
}

/// A bar of `len` items (records), labelled `message`; hidden unless standard error is a
/// terminal.
pub fn records(len: u64, message: &'static str) -> ProgressBar {
    bar(
        len,
        message,
        "{msg:>9} [{bar:40}] {human_pos}/{human_len} records ({eta})",
    )
}

/// A spinner for a step of unknown length; hidden unless standard error is a terminal.
pub fn spinner(message: String) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        pb.set_style(style);
    }
    pb.set_message(message);
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

fn bar(len: u64, message: &'static str, template: &str) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(message);
    pb
}
