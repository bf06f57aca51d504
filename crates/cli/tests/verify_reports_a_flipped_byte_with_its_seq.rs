//! `verify` exits 0 on an intact ledger and 1 after one byte inside a record of a segment file is
//! flipped, printing `TAMPERED:` with the segment, byte offset and seq of the damaged record.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn ledger(tmp: &Path) -> PathBuf {
    let dir = tmp.join("l");
    init_small(&dir);
    on_with_input(&dir, &["ingest"], generate(2000, 11).as_bytes()).ok();
    assert!(stats(&dir)["sealed_segments"].as_u64().unwrap() >= 3);
    let out = on(&dir, &["verify"]);
    assert!(out
        .ok()
        .starts_with("intact: 2000 records checked (seq 0..=1999) in "));
    assert!(out.stdout.ends_with(&format!(
        ", head seq 1999 row_hash {}\n",
        stats(&dir)["head_hash"].as_str().unwrap()
    )));
    dir
}

#[test]
fn a_flipped_byte_in_a_sealed_segment_is_found() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    let (path, offset) = flip_record(&dir, 17);
    assert!(
        path.ends_with("00000000000000000000.seg"),
        "{}",
        path.display()
    );

    let out = on(&dir, &["verify"]);
    assert_eq!(out.code, 1, "{out:?}");
    let want = format!(
        "TAMPERED: corrupt entry in 00000000000000000000.seg at byte {offset} (seq 17): crc mismatch"
    );
    assert!(out.stdout.starts_with(&want), "{}", out.stdout);
    assert_eq!(out.stdout.lines().count(), 1);

    let out = on(&dir, &["verify", "--json", "--sequential"]);
    assert_eq!(out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["intact"], false);
    let f = &v["first_failure"];
    assert_eq!(f["seq"], 17);
    assert_eq!(f["offset"], offset);
    assert_eq!(f["file"], path.to_str().unwrap());
    assert!(f["problem"].as_str().unwrap().starts_with("crc mismatch"));
    assert_eq!(
        format!("TAMPERED: {}\n", f["message"].as_str().unwrap()),
        on(&dir, &["verify"]).stdout
    );

    // A range that excludes the damage still verifies.
    let out = on(&dir, &["verify", "--from-seq", "1000"]);
    assert!(out
        .ok()
        .starts_with("intact: 1000 records checked (seq 1000..=1999)"));
}

#[test]
fn a_flipped_byte_in_the_active_segment_is_found() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    let seq = 1990;
    let (path, offset) = flip_record(&dir, seq);
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    assert_ne!(name, "00000000000000000000.seg");

    let out = on(&dir, &["verify"]);
    assert_eq!(out.code, 1, "{out:?}");
    let want = format!("TAMPERED: corrupt entry in {name} at byte {offset} (seq {seq}): ");
    assert!(out.stdout.starts_with(&want), "{}", out.stdout);
    // The writer refuses it too (it is not a torn tail): exit 2, nothing appended.
    let out = on_with_input(&dir, &["ingest"], generate(1, 1).as_bytes());
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with(&format!("error: corrupt entry in {name}")),
        "{}",
        out.stderr
    );
}
