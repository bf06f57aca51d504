//! The switch of the tests that run the Python auditors (docs/audit/verify_ledger.py and
//! verify_bundle.py): without `python3` they are skipped with a printed note, unless
//! `SIGNAL_LEDGER_AUDITOR_TESTS=required` (as `.ci/run` sets), when they fail instead. The same
//! switch as the browser tests' `SIGNAL_LEDGER_BROWSER_TESTS`.
//!
//! One file, mounted by path where it is needed: by the root package's tests
//! (`#[path = "support/python.rs"]`, or through `tests/auditor_support/`) and by the CLI's
//! (`#[path = "../../../tests/support/python.rs"]`).
#![allow(dead_code)]

use std::process::Command;

/// The interpreter the auditors run under.
pub const PYTHON: &str = "python3";
/// Set to `required` to make a missing interpreter a test failure instead of a skip.
pub const REQUIRED_VAR: &str = "SIGNAL_LEDGER_AUDITOR_TESTS";

/// What a test that needs the auditors does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The interpreter answered `--version`: run the auditor.
    Run,
    /// No interpreter and not required: skip, saying why.
    Skip(String),
    /// No interpreter although required: fail, saying why.
    Fail(String),
}

/// The decision for `interpreter` when the switch reads `switch` (the value of
/// [`REQUIRED_VAR`], if set).
pub fn decide(interpreter: &str, switch: Option<&str>) -> Decision {
    let found = Command::new(interpreter)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Decision::Run;
    }
    let why = format!("{interpreter} is not on PATH (apt-get install -y python3)");
    if switch == Some("required") {
        Decision::Fail(format!("{why}, and {REQUIRED_VAR}=required"))
    } else {
        Decision::Skip(format!(
            "{why}; set {REQUIRED_VAR}=required to fail instead"
        ))
    }
}

/// `true` when the calling test should run the auditor; `false` after printing why it is
/// skipped. Panics when `python3` is missing and [`REQUIRED_VAR`] is `required`.
pub fn python_or_skip() -> bool {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("this test");
    match decide(PYTHON, std::env::var(REQUIRED_VAR).ok().as_deref()) {
        Decision::Run => true,
        Decision::Skip(why) => {
            eprintln!("SKIPPED auditor test {test}: {why}");
            false
        }
        Decision::Fail(why) => panic!("{test}: {why}"),
    }
}
