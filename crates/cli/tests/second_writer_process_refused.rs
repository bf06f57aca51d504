//! While one process holds a ledger's writer, `signal-ledger ingest` in another process is
//! refused with exit 2 and a message saying the ledger is locked; readers still work.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;
use signal_ledger_engine::Ledger;

#[test]
fn ingest_is_refused_while_another_process_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    on_with_input(&dir, &["ingest"], generate(5, 1).as_bytes()).ok();

    let writer = Ledger::open(&dir).unwrap();
    let out = on_with_input(&dir, &["ingest"], generate(5, 2).as_bytes());
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stderr.contains("locked"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("pid {}", std::process::id())),
        "{}",
        out.stderr
    );

    // Readers are not writers.
    assert_eq!(records(&dir), 5);
    on(&dir, &["verify"]).ok();

    drop(writer);
    assert_eq!(
        on_with_input(&dir, &["ingest"], generate(5, 2).as_bytes()).json()["count"],
        5
    );
    assert_eq!(records(&dir), 10);
}
