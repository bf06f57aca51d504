//! Every failure other than a tampered ledger prints exactly one line `error: <message>` on
//! stderr and exits 2, usage errors included; never a panic or a debug dump.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

#[test]
fn failures_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    on_with_input(&dir, &["ingest"], generate(3, 1).as_bytes()).ok();

    on(&dir, &["get", "3"]).fails_with(2, "error: seq 3 not found");
    on(&dir, &["get", "--signal-id", "sig-x"]).fails_with(2, "error: signal_id sig-x not found");
    run(&["stats"]).fails_with(
        2,
        "error: no ledger directory: pass --ledger DIR or set SIGNAL_LEDGER_DIR",
    );
    on(&dir, &["--segment-size-bytes", "10", "ingest"]).fails_with(
        2,
        &format!(
            "error: config {}: segment_size_bytes 10 is below the minimum 4096",
            dir.join("ledger.toml").display()
        ),
    );
    on(&dir, &["get", "abc"]).fails_with(
        2,
        "error: invalid value 'abc' for '[SEQ]': invalid digit found in string (see signal-ledger --help)",
    );
    run(&["frobnicate"]).fails_with(
        2,
        "error: unrecognized subcommand 'frobnicate' (see signal-ledger --help)",
    );
    run(&["--durability", "sometimes", "stats"]).fails_with(
        2,
        "error: invalid value 'sometimes' for '--durability <MODE>' [possible values: fdatasync, fsync, none] (see signal-ledger --help)",
    );
    on(&dir, &["get"]).fails_with(
        2,
        "error: the following required arguments were not provided: <SEQ|--signal-id <ID>> (see signal-ledger --help)",
    );
    assert_eq!(records(&dir), 3);
}

#[test]
fn the_ledger_can_come_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    on(tmp.path(), &["init"]).ok();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_signal-ledger"))
        .arg("stats")
        .env("SIGNAL_LEDGER_DIR", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["records"], 0);
}

#[test]
fn help_and_version_exit_0() {
    assert!(run(&["--help"]).ok().contains("demo"));
    assert!(run(&["--version"]).ok().starts_with("signal-ledger "));
    assert!(run(&["help", "ingest"]).ok().contains("--skip-invalid"));
}

/// A command's help lists its own options first and the ledger options every command takes
/// under a heading of their own after them.
#[test]
fn help_puts_the_commands_own_options_before_the_ledger_overrides() {
    for (command, own) in [
        ("verify", "--record"),
        ("query", "--limit"),
        ("ingest", "--follow"),
    ] {
        let help = run(&["help", command]).ok().to_owned();
        let heading = help.find("Ledger (every command):").expect(command);
        let own_at = help.find(own).expect(own);
        assert!(
            own_at < heading,
            "{command}: {own} after the heading\n{help}"
        );
        for global in [
            "--ledger <DIR>",
            "--durability <MODE>",
            "--retention-days <N>",
        ] {
            let at = help.find(global).expect(global);
            assert!(
                at > heading,
                "{command}: {global} before the heading\n{help}"
            );
        }
    }
}
