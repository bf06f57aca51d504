//! The CLI's error: one line of text and an exit code.

use std::fmt;
use std::process::ExitCode;

use signal_ledger_engine::LedgerError;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: verify found the ledger tampered with or broken.
pub const EXIT_TAMPERED: u8 = 1;
/// Exit code: everything else (usage, input, I/O, a ledger that cannot be opened).
pub const EXIT_ERROR: u8 = 2;

/// A failed command: printed as `error: <message>` on one line, then exit 2.
#[derive(Debug)]
pub struct CliError {
    /// What went wrong, on one line.
    pub message: String,
    /// Print nothing (standard output was closed by the reader, as in `generate | head`).
    pub quiet: bool,
}

impl CliError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            quiet: false,
        }
    }

    /// An I/O error of `op` on `what` (a path or "standard input").
    pub fn io(op: &str, what: impl fmt::Display, e: &std::io::Error) -> Self {
        Self::new(format!("{op} {what}: {e}"))
    }

    /// The exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(EXIT_ERROR)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<signal_ledger_query::QueryError> for CliError {
    fn from(e: signal_ledger_query::QueryError) -> Self {
        match e {
            signal_ledger_query::QueryError::Ledger(e) => e.into(),
            other => CliError::new(other.to_string()),
        }
    }
}

impl From<signal_ledger_replay::ReplayError> for CliError {
    fn from(e: signal_ledger_replay::ReplayError) -> Self {
        match e {
            signal_ledger_replay::ReplayError::Query(e) => e.into(),
            other => CliError::new(other.to_string()),
        }
    }
}

impl From<LedgerError> for CliError {
    fn from(e: LedgerError) -> Self {
        Self::new(e.to_string())
    }
}

/// Result with [`CliError`].
pub type CliResult<T> = Result<T, CliError>;

/// `text` on one line: line breaks and tabs become spaces, runs of them collapse.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
