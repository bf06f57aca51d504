//! Output: JSON objects written by hand in a fixed key order, and line writes to standard output
//! that turn a closed pipe into a quiet exit.

use std::io::Write;

use signal_ledger_engine::record::json::push_json_str;

use crate::error::{CliError, CliResult};

/// Builds one JSON object, keys in the order they are added.
#[derive(Debug)]
pub struct JsonObject {
    buf: String,
}

impl Default for JsonObject {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonObject {
    /// An empty object.
    pub fn new() -> Self {
        Self {
            buf: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) -> &mut Self {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        push_json_str(&mut self.buf, key);
        self.buf.push(':');
        self
    }

    /// A string value.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_json_str(&mut self.buf, value);
        self
    }

    /// A string value or null.
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// An integer value.
    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.raw(key, &value.to_string())
    }

    /// An integer value or null.
    pub fn opt_u64(&mut self, key: &str, value: Option<u64>) -> &mut Self {
        match value {
            Some(v) => self.u64(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// A number; a non-finite one is written as null (JSON has no NaN or infinity).
    pub fn f64(&mut self, key: &str, value: f64) -> &mut Self {
        self.key(key);
        if value.is_finite() {
            self.buf.push_str(&value.to_string());
        } else {
            self.buf.push_str("null");
        }
        self
    }

    /// A boolean value.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    /// A value that is already JSON text (a number, an object, null).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.buf.push_str(json);
        self
    }

    /// The object's text.
    pub fn finish(&mut self) -> String {
        let mut out = std::mem::take(&mut self.buf);
        out.push('}');
        out
    }
}

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
