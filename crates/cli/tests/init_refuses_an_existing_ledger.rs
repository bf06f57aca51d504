//! `init` on a directory that already is a ledger is refused with exit 2, and the ledger is left
//! as it was.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

#[test]
fn second_init_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let created = on(&dir, &["init"]).json();
    assert_eq!(created["ledger"], dir.to_str().unwrap());
    assert_eq!(created["format_version"], 2);

    on_with_input(&dir, &["ingest"], generate(10, 1).as_bytes()).ok();
    let before = stats(&dir);

    on(&dir, &["init"]).fails_with(2, &format!("error: {} is already a ledger", dir.display()));
    on(&dir, &["--durability", "none", "init"])
        .fails_with(2, &format!("error: {} is already a ledger", dir.display()));
    assert_eq!(stats(&dir), before);
    assert_eq!(before["config"]["durability"], "fdatasync");
}

#[test]
fn init_writes_the_settings_given() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    on(
        &dir,
        &[
            "--durability",
            "none",
            "--segment-size-bytes",
            "65536",
            "--batch-size",
            "7",
            "--flush-interval-ms",
            "9",
            "--retention-days",
            "30",
            "init",
        ],
    )
    .ok();
    let config = &stats(&dir)["config"];
    assert_eq!(config["durability"], "none");
    assert_eq!(config["segment_size_bytes"], 65536);
    assert_eq!(config["batch_size"], 7);
    assert_eq!(config["flush_interval_ms"], 9);
    assert_eq!(config["retention_days"], 30);
    let toml = std::fs::read_to_string(dir.join("ledger.toml")).unwrap();
    assert!(toml.contains("durability = \"none\""), "{toml}");
    // Overrides on a later command apply to that command only.
    assert_eq!(
        on(&dir, &["--durability", "fsync", "stats"]).json()["config"]["durability"],
        "fsync"
    );
    assert_eq!(stats(&dir)["config"]["durability"], "none");
}
