//! `verify --against DIGEST` passes while the ledger still holds the digest's entry (appends
//! after it are fine) and exits 1 when it does not: a ledger rebuilt with other content, or cut
//! short.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

#[test]
fn an_old_digest_holds_after_appends_and_fails_on_a_rebuilt_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    init_small(&dir);
    let all = generate(1500, 21);
    let (first, rest) = all.split_at(all.match_indices('\n').nth(999).unwrap().0 + 1);
    on_with_input(&dir, &["ingest"], first.as_bytes()).ok();
    let digest = on(&dir, &["digest"]).ok().trim().to_owned();
    let d: serde_json::Value = serde_json::from_str(&digest).unwrap();
    assert_eq!(d["seq"], 999);
    let digest_file = tmp.path().join("digest.json");
    std::fs::write(&digest_file, format!("{digest}\n")).unwrap();

    on_with_input(&dir, &["ingest"], rest.as_bytes()).ok();
    let out = on(&dir, &["verify", "--against", &digest]);
    assert!(
        out.ok().trim_end().ends_with(&format!(
            "; digest seq 999 row_hash {} matches",
            d["row_hash"].as_str().unwrap()
        )),
        "{}",
        out.stdout
    );
    on(
        &dir,
        &["verify", "--against", digest_file.to_str().unwrap()],
    )
    .ok();
    let j = on(
        &dir,
        &["verify", "--json", "--against", &format!("  {digest}")],
    )
    .json();
    assert_eq!(j["intact"], true);
    assert_eq!(j["records_checked"], 1500);
    assert_eq!(
        j["against"],
        serde_json::json!({"seq":999,"row_hash":d["row_hash"],"matches":true})
    );

    // The same number of entries, other content, in a new directory.
    let rebuilt = tmp.path().join("b");
    init_small(&rebuilt);
    on_with_input(&rebuilt, &["ingest"], generate(1500, 22).as_bytes()).ok();
    on(&rebuilt, &["verify"]).ok();
    let out = on(
        &rebuilt,
        &["verify", "--against", digest_file.to_str().unwrap()],
    );
    assert_eq!(out.code, 1, "{out:?}");
    let b999 = on(&rebuilt, &["get", "999"]).json();
    assert!(
        out.stdout.starts_with("TAMPERED: corrupt entry in "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.trim_end().ends_with(&format!(
            "(seq 999): digest mismatch: seq 999 has row_hash {}, the digest says {}",
            b999["row_hash"].as_str().unwrap(),
            d["row_hash"].as_str().unwrap()
        )),
        "{}",
        out.stdout
    );
    let j = on(&rebuilt, &["verify", "--json", "--against", &digest]);
    assert_eq!(j.code, 1);
    let j: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(j["intact"], false);
    assert_eq!(j["against"]["matches"], false);
    assert_eq!(j["first_failure"]["seq"], 999);

    // A ledger that ends before the digest's entry.
    let short = tmp.path().join("c");
    on(&short, &["init"]).ok();
    on_with_input(&short, &["ingest"], generate(10, 21).as_bytes()).ok();
    let out = on(&short, &["verify", "--against", &digest]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("digest mismatch: the ledger ends before seq 999 (its last seq is 9)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_bad_digest_argument_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    on(tmp.path(), &["init"]).ok();
    let out = on(tmp.path(), &["verify", "--against", "{\"seq\":1}"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: --against: not a digest line ("),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1);
    let missing = tmp.path().join("nope.json");
    on(
        tmp.path(),
        &["verify", "--against", missing.to_str().unwrap()],
    )
    .fails_with(
        2,
        &format!(
            "error: --against: read {}: No such file or directory (os error 2)",
            missing.display()
        ),
    );
}

#[test]
fn a_digest_checked_against_an_empty_ledger_says_the_ledger_is_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    init_small(&full);
    on_with_input(&full, &["ingest"], generate(5, 3).as_bytes()).ok();
    let digest = on(&full, &["digest"]).ok().trim().to_owned();
    let empty = tmp.path().join("empty");
    on(&empty, &["init"]).ok();
    let out = on(&empty, &["verify", "--against", &digest]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stdout.trim_end(),
        "TAMPERED: digest mismatch: the ledger is empty: it holds no seq 4, so entries were removed"
    );
    assert!(!out.stdout.contains("last seq is 0"), "{}", out.stdout);
}

/// A torn tail is not a failure, but `verify --json` names it (file, offset, bytes), as `stats`
/// does, and null when there is none.
#[test]
fn verify_json_names_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    init_small(&dir);
    on_with_input(&dir, &["ingest"], generate(20, 4).as_bytes()).ok();
    let clean = on(&dir, &["verify", "--json"]).json();
    assert!(clean["torn_tail"].is_null(), "{clean}");
    let mut segments: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segments.sort();
    let active = segments.last().unwrap().clone();
    let len = std::fs::metadata(&active).unwrap().len();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&active)
        .unwrap();
    std::io::Write::write_all(&mut file, &[0x5A; 7]).unwrap();
    drop(file);
    let out = on(&dir, &["verify", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v = out.json();
    assert_eq!(v["intact"], true);
    assert_eq!(
        v["torn_tail"],
        serde_json::json!({"file": active.display().to_string(), "offset": len, "bytes": 7})
    );
    assert!(
        out.stderr.contains("torn tail of 7 bytes"),
        "{}",
        out.stderr
    );
}
