//! Output: values in their JSON form (each shape is its owner's `Serialize`), and line writes to
//! standard output that turn a closed pipe into a quiet exit.

use std::io::Write;

use crate::error::{CliError, CliResult};

/// `value`'s JSON form on one line (every shape the CLI prints is its owner's `Serialize`).
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> CliResult<String> {
    serde_json::to_string(value).map_err(|e| CliError::new(format!("write JSON: {e}")))
}

/// A path as shown to the user.
pub fn path_text(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// `text` quoted for a POSIX shell when it needs it, for the hints the demo prints.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-' | b':' | b'=')
        });
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Maps a write error on standard output: a closed pipe ends the command quietly.
pub fn stdout_error(e: &std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        CliError {
            message: String::new(),
            quiet: true,
        }
    } else {
        CliError::io("write", "standard output", e)
    }
}

/// Writes `text` and a newline to standard output.
pub fn println(text: &str) -> CliResult<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| stdout_error(&e))
}

/// Writes `text` (already ending in a newline, or empty) to standard output.
pub fn print(text: &str) -> CliResult<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| stdout_error(&e))
}

/// Writes a line to standard error (notes and warnings; errors go through [`CliError`]).
pub fn eprintln(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(text.as_bytes())
        .and_then(|()| err.write_all(b"\n"));
}
