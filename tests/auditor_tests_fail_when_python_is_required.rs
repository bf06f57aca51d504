//! Promise: the tests that run the Python auditors cannot pass silently where they must run:
//! without an interpreter they are skipped with a note, and fail when
//! `SIGNAL_LEDGER_AUDITOR_TESTS=required` (as `.ci/run` sets); with one, they run.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

#[path = "support/python.rs"]
mod python;

use python::{decide, Decision, REQUIRED_VAR};

/// An interpreter path that cannot exist.
const MISSING: &str = "/nonexistent/signal-ledger-test/python3";

#[test]
fn a_missing_interpreter_fails_when_required() {
    match decide(MISSING, Some("required")) {
        Decision::Fail(why) => {
            assert!(why.contains(MISSING), "{why}");
            assert!(why.contains(&format!("{REQUIRED_VAR}=required")), "{why}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_missing_interpreter_is_skipped_with_a_note_otherwise() {
    for switch in [None, Some(""), Some("1"), Some("yes")] {
        match decide(MISSING, switch) {
            Decision::Skip(why) => {
                assert!(why.contains(MISSING), "{why}");
                assert!(
                    why.contains(REQUIRED_VAR),
                    "the note says how to require: {why}"
                );
            }
            other => panic!("{switch:?}: expected a skip, got {other:?}"),
        }
    }
}

#[test]
fn an_interpreter_that_fails_its_version_check_counts_as_missing() {
    // `false` exists everywhere and exits 1 whatever its arguments.
    assert!(matches!(
        decide("false", Some("required")),
        Decision::Fail(_)
    ));
}

#[test]
fn an_interpreter_that_answers_runs_the_tests() {
    // `true` exits 0 for `--version`, as python3 does.
    assert_eq!(decide("true", Some("required")), Decision::Run);
    assert_eq!(decide("true", None), Decision::Run);
}
