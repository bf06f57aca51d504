//! Integrity checks and retention from the command line: `verify --record` appends each check
//! (passed or failed, full or a seq range) to the hash-chained check log and `checks` lists
//! them; a damaged check log is reported by `checks` and `verify` and refused by `--record`;
//! `retention run`/`hold` keep everything while nothing has expired or a legal hold is on, and a
//! ledger pruned by retention still verifies from its anchors (while a removed digest, or a
//! segment removed by hand, is reported); `ingest --follow` runs scheduled checks and says
//! loudly when one fails.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use signal_ledger_engine::config::LedgerToml;
use signal_ledger_engine::{Ledger, OpenOptions, PersistenceConfig};

/// The keys of every object `checks --format json` prints.
const CHECK_KEYS: [&str; 11] = [
    "check_id",
    "checked_at",
    "mode",
    "chain_valid",
    "range_start",
    "range_end",
    "expected_count",
    "actual_count",
    "head_row_hash",
    "duration_ms",
    "errors",
];

/// The first line of `checks` in table form.
const TABLE_HEADER: &str = " check  checked_at";

/// A new ledger in `tmp/l` with 4 KiB segments holding `count` generated signals (about a
/// dozen per segment).
fn small_ledger(tmp: &Path, count: usize) -> PathBuf {
    let dir = tmp.join("l");
    on(&dir, &["--segment-size-bytes", "4096", "init"]).ok();
    on_with_input(&dir, &["ingest"], generate(count, 31).as_bytes()).ok();
    dir
}

/// The frames of `checks.log` (after its 80-byte header): offset and body length of each.
fn check_log_frames(dir: &Path) -> Vec<(usize, usize)> {
    let bytes = std::fs::read(dir.join("checks.log")).unwrap();
    let mut frames = Vec::new();
    let mut at = 80;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        frames.push((at, len));
        at += 8 + len;
    }
    assert_eq!(at, bytes.len(), "checks.log ends inside a frame");
    frames
}

/// `checks --format json` (plus `extra`): the exit code and the objects printed.
fn checks_json(dir: &Path, extra: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec!["checks", "--format", "json"];
    args.extend_from_slice(extra);
    let out = on(dir, &args);
    assert_eq!(out.stderr, "", "{out:?}");
    (out.code, json_lines(&out.stdout))
}

/// The recorded checks, after asserting `checks` exits 0 and each has exactly the documented
/// keys.
fn checks(dir: &Path, extra: &[&str]) -> Vec<Value> {
    let (code, checks) = checks_json(dir, extra);
    assert_eq!(code, 0, "{checks:?}");
    for c in &checks {
        let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = CHECK_KEYS.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want, "{c}");
    }
    checks
}

/// The rows of `checks` in table form (after asserting its header), split on whitespace:
/// check, checked_at, mode, PASS/FAIL, range, expected, actual, ms (then any errors).
fn table_rows(stdout: &str) -> Vec<Vec<String>> {
    let mut lines = stdout.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with(TABLE_HEADER), "{stdout}");
    lines
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// Rewrites `key = old` as `key = new` in the ledger's ledger.toml.
fn set_setting(dir: &Path, key: &str, old: &str, new: &str) {
    let path = dir.join("ledger.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let from = format!("\n{key} = {old}\n");
    assert!(text.contains(&from), "{text}");
    std::fs::write(&path, text.replace(&from, &format!("\n{key} = {new}\n"))).unwrap();
}

/// A ledger whose writers run a scheduled check every second, every second one a full pass.
fn schedule_checks(dir: &Path) {
    set_setting(dir, "check_interval_secs", "0", "1");
    set_setting(dir, "full_check_every", "24", "2");
    let config = stats(dir)["config"].clone();
    assert_eq!(config["check_interval_secs"], 1, "{config}");
    assert_eq!(config["full_check_every"], 2, "{config}");
}

/// The `.seg` files of `dir`, in seq order.
fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[test]
fn recorded_full_and_range_checks_are_listed_as_passed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = small_ledger(tmp.path(), 200);
    let head_hash = stats(&dir)["head_hash"].as_str().unwrap().to_owned();
    assert!(checks(&dir, &[]).is_empty(), "no check log yet: no checks");

    let out = on(&dir, &["verify", "--record"]);
    let text = out.ok();
    assert!(
        text.starts_with("intact: 200 records checked (seq 0..=199) in "),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            ", head seq 199 row_hash {head_hash}; recorded as check 0\n"
        )),
        "{text}"
    );
    assert_eq!(out.stderr, "");
    let j = on(
        &dir,
        &[
            "verify",
            "--record",
            "--from-seq",
            "50",
            "--to-seq",
            "149",
            "--json",
        ],
    )
    .json();
    assert_eq!(
        (&j["intact"], &j["records_checked"], &j["from_seq"]),
        (&true.into(), &100.into(), &50.into()),
        "{j}"
    );
    assert_eq!(j["check_id"], 1, "{j}");
    let out = on(&dir, &["verify", "--record", "--from-seq", "150"]);
    assert!(
        out.ok()
            .starts_with("intact: 50 records checked (seq 150..=199) in "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("; recorded as check 2\n"), "{out:?}");
    // A plain verify records nothing.
    on(&dir, &["verify"]).ok();

    let listed = checks(&dir, &[]);
    assert_eq!(listed.len(), 3, "{listed:?}");
    let row_149 = on(&dir, &["get", "149"]).json()["row_hash"].clone();
    let want = [
        (0, "full", 0, 199, 200, head_hash.clone()),
        (
            1,
            "range",
            50,
            149,
            100,
            row_149.as_str().unwrap().to_owned(),
        ),
        (2, "range", 150, 199, 50, head_hash.clone()),
    ];
    for (c, (id, mode, start, end, count, hash)) in listed.iter().zip(want) {
        assert_eq!(c["check_id"], id, "{c}");
        assert_eq!(c["mode"], mode, "{c}");
        assert_eq!(c["chain_valid"], true, "{c}");
        assert_eq!(
            (&c["range_start"], &c["range_end"]),
            (&start.into(), &end.into()),
            "{c}"
        );
        assert_eq!(c["expected_count"], count, "{c}");
        assert_eq!(c["actual_count"], count, "{c}");
        assert_eq!(c["head_row_hash"], hash.as_str(), "{c}");
        assert_eq!(c["errors"], serde_json::json!([]), "{c}");
        assert!(c["duration_ms"].as_f64().unwrap() >= 0.0, "{c}");
        let at = c["checked_at"].as_str().unwrap();
        assert!(at.len() > 20 && at.ends_with('Z'), "{c}");
    }
    assert!(listed[0]["checked_at"].as_str() <= listed[2]["checked_at"].as_str());

    // The same checks as a table.
    let out = on(&dir, &["checks"]);
    assert_eq!(out.stderr, "");
    let rows = table_rows(out.ok());
    assert_eq!(rows.len(), 3, "{}", out.stdout);
    for (row, c) in rows.iter().zip(&listed) {
        assert_eq!(row.len(), 8, "{row:?}");
        assert_eq!(row[0], c["check_id"].to_string());
        assert_eq!(row[1], c["checked_at"].as_str().unwrap());
        assert_eq!(row[2], c["mode"].as_str().unwrap());
        assert_eq!(row[3], "PASS");
        assert_eq!(row[4], format!("{}..={}", c["range_start"], c["range_end"]));
        assert_eq!(row[5], c["expected_count"].to_string());
        assert_eq!(row[6], c["actual_count"].to_string());
    }

    // None failed.
    let out = on(&dir, &["checks", "--failed"]);
    assert_eq!(table_rows(out.ok()).len(), 0, "{}", out.stdout);
    assert!(checks(&dir, &["--failed"]).is_empty());
    let log = &stats(&dir)["check_log"];
    assert_eq!(
        (&log["checks"], &log["failed"]),
        (&3.into(), &0.into()),
        "{log}"
    );
}

#[test]
fn a_damaged_segment_is_recorded_as_a_failed_check_naming_the_seq() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = small_ledger(tmp.path(), 200);
    assert!(stats(&dir)["sealed_segments"].as_u64().unwrap() >= 10);
    on(&dir, &["verify", "--record"]).ok();
    let (segment, offset) = flip_record(&dir, 17);
    let name = segment.file_name().unwrap().to_str().unwrap().to_owned();
    assert_ne!(
        Some(segment.as_path()),
        segment_files(&dir).last().map(PathBuf::as_path),
        "seq 17 is in a sealed segment"
    );

    let out = on(&dir, &["verify", "--record"]);
    assert_eq!(out.code, 1, "{out:?}");
    let tampered =
        format!("TAMPERED: corrupt entry in {name} at byte {offset} (seq 17): crc mismatch");
    assert!(out.stdout.starts_with(&tampered), "{}", out.stdout);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);

    let failed = checks(&dir, &["--failed"]);
    assert_eq!(failed.len(), 1, "{failed:?}");
    let f = &failed[0];
    assert_eq!(
        (&f["check_id"], &f["mode"], &f["chain_valid"]),
        (&1.into(), &"full".into(), &false.into()),
        "{f}"
    );
    assert_eq!(
        (&f["range_start"], &f["range_end"]),
        (&0.into(), &199.into()),
        "{f}"
    );
    assert_eq!(f["expected_count"], 200, "{f}");
    assert!(f["actual_count"].as_u64().unwrap() < 200, "{f}");
    let errors = f["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{f}");
    let error = errors[0].as_str().unwrap();
    assert!(
        error.starts_with(&tampered["TAMPERED: ".len()..]),
        "{error}"
    );
    // All the checks, the passed one first; the table marks the failed one.
    let all = checks(&dir, &[]);
    assert_eq!(
        all.iter()
            .map(|c| c["chain_valid"].clone())
            .collect::<Vec<_>>(),
        [true, false]
    );
    let out = on(&dir, &["checks", "--failed"]);
    let rows = table_rows(out.ok());
    assert_eq!(rows.len(), 1, "{}", out.stdout);
    assert_eq!((rows[0][0].as_str(), rows[0][3].as_str()), ("1", "FAIL"));
    assert!(out.stdout.contains("(seq 17)"), "{}", out.stdout);

    // JSON says under which id it was recorded; a range clear of the damage still passes.
    let out = on(&dir, &["verify", "--record", "--json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let j: Value = serde_json::from_str(out.stdout.trim_end()).unwrap();
    assert_eq!(
        (&j["intact"], &j["check_id"]),
        (&false.into(), &2.into()),
        "{j}"
    );
    assert_eq!(j["first_failure"]["seq"], 17, "{j}");
    let out = on(&dir, &["verify", "--record", "--from-seq", "100"]);
    assert!(
        out.ok().ends_with("; recorded as check 3\n"),
        "{}",
        out.stdout
    );
    let failed = checks(&dir, &["--failed"]);
    assert_eq!(
        failed
            .iter()
            .map(|c| c["check_id"].clone())
            .collect::<Vec<_>>(),
        [1, 2]
    );
    let log = &stats(&dir)["check_log"];
    assert_eq!(
        (&log["checks"], &log["failed"]),
        (&4.into(), &2.into()),
        "{log}"
    );
}

#[test]
fn a_tampered_check_log_is_reported_and_refuses_further_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    on_with_input(&dir, &["ingest"], generate(50, 32).as_bytes()).ok();
    for id in 0..3 {
        let out = on(&dir, &["verify", "--record"]);
        assert!(
            out.ok().ends_with(&format!("; recorded as check {id}\n")),
            "{}",
            out.stdout
        );
    }
    let frames = check_log_frames(&dir);
    assert_eq!(frames.len(), 3, "{frames:?}");
    // The middle record: with a record after it, this cannot be an append cut short.
    let (at, len) = frames[1];
    flip(&dir.join("checks.log"), at + 8 + len / 2, 0x01);
    let log_bytes = std::fs::read(dir.join("checks.log")).unwrap();

    // `checks` lists what comes before the damage, then the damage.
    let out = on(&dir, &["checks"]);
    assert_eq!(out.code, 1, "{out:?}");
    let damaged = format!("corrupt entry in checks.log at byte {at} (seq 1): ");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(lines[0].starts_with(TABLE_HEADER), "{}", out.stdout);
    assert!(lines[1].trim_start().starts_with("0 "), "{}", out.stdout);
    assert!(
        lines[2].starts_with(&format!("TAMPERED: the check log is damaged: {damaged}")),
        "{}",
        out.stdout
    );
    let (code, objects) = checks_json(&dir, &[]);
    assert_eq!(code, 1);
    assert_eq!(objects.len(), 2, "{objects:?}");
    assert_eq!(objects[0]["check_id"], 0);
    let damage = &objects[1]["check_log_damage"];
    assert_eq!(
        (&damage["seq"], &damage["offset"]),
        (&1.into(), &at.into()),
        "{damage}"
    );
    assert!(
        damage["file"].as_str().unwrap().ends_with("checks.log"),
        "{damage}"
    );
    assert!(
        damage["message"].as_str().unwrap().starts_with(&damaged),
        "{damage}"
    );
    let (code, failed) = checks_json(&dir, &["--failed"]);
    assert_eq!(code, 1);
    assert_eq!(failed.len(), 1, "only the damage: {failed:?}");

    // `verify` fails on it too, although every segment is intact.
    let out = on(&dir, &["verify"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.starts_with(&format!("TAMPERED: {damaged}")),
        "{}",
        out.stdout
    );
    let out = on(&dir, &["verify", "--json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let j: Value = serde_json::from_str(out.stdout.trim_end()).unwrap();
    assert_eq!(
        (&j["intact"], &j["records_checked"]),
        (&false.into(), &50.into()),
        "{j}"
    );
    assert!(
        j["first_failure"]["file"]
            .as_str()
            .unwrap()
            .ends_with("checks.log"),
        "{j}"
    );

    // Nothing is appended to a damaged log: the verdict is printed, then why it was not
    // recorded.
    let out = on(&dir, &["verify", "--record"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("TAMPERED: "), "{}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "error: the check was not recorded in the check log: {damaged}"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(dir.join("checks.log")).unwrap(), log_bytes);
}

#[test]
fn retention_keeps_everything_until_segments_expire_and_what_remains_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["--segment-size-bytes", "4096", "init"]).ok();
    let generated = generate(300, 33);
    let lines: Vec<&str> = generated.lines().collect();
    let batch = |range: std::ops::Range<usize>| lines[range].join("\n") + "\n";
    on_with_input(&dir, &["ingest"], batch(0..4).as_bytes()).ok();
    let early = on(&dir, &["digest"]).ok().trim().to_owned();
    assert_eq!(serde_json::from_str::<Value>(&early).unwrap()["seq"], 3);
    on_with_input(&dir, &["ingest"], batch(4..200).as_bytes()).ok();
    let head = on(&dir, &["digest"]).ok().trim().to_owned();
    let head_digest: Value = serde_json::from_str(&head).unwrap();
    assert_eq!(head_digest["seq"], 199);
    let before = segment_files(&dir);
    assert!(before.len() >= 10, "{before:?}");

    // retention_days 0 (the default): nothing expires, dry run or not.
    let plan = on(&dir, &["retention", "run"]).json();
    assert_eq!(
        plan,
        serde_json::json!({"retention_days":0,"cutoff":null,"legal_hold":false,"applied":false,
            "segments":0,"records":0,"expired":[]})
    );
    let plan = on(&dir, &["retention", "run", "--apply"]).json();
    assert_eq!(
        (&plan["applied"], &plan["segments"]),
        (&true.into(), &0.into()),
        "{plan}"
    );
    // A day of retention: segments written just now have not expired.
    let plan = on(&dir, &["--retention-days", "1", "retention", "run"]).json();
    assert_eq!(plan["retention_days"], 1, "{plan}");
    assert!(plan["cutoff"].as_str().unwrap().ends_with('Z'), "{plan}");
    assert_eq!(plan["expired"], serde_json::json!([]), "{plan}");

    // A legal hold, kept in ledger.toml: nothing is removed while it is on.
    assert_eq!(
        on(&dir, &["retention", "hold", "on"]).json(),
        serde_json::json!({"legal_hold":true})
    );
    let toml = std::fs::read_to_string(dir.join("ledger.toml")).unwrap();
    assert!(toml.contains("\nlegal_hold = true\n"), "{toml}");
    assert_eq!(stats(&dir)["config"]["legal_hold"], true);
    let plan = on(
        &dir,
        &["--retention-days", "1", "retention", "run", "--apply"],
    )
    .json();
    assert_eq!(
        (&plan["legal_hold"], &plan["applied"], &plan["segments"]),
        (&true.into(), &true.into(), &0.into()),
        "{plan}"
    );
    assert_eq!(segment_files(&dir), before);
    assert_eq!(
        on(&dir, &["retention", "hold", "off"]).json(),
        serde_json::json!({"legal_hold":false})
    );
    let toml = std::fs::read_to_string(dir.join("ledger.toml")).unwrap();
    assert!(toml.contains("\nlegal_hold = false\n"), "{toml}");
    assert!(toml.contains("\nretention_days = 0\n"), "{toml}");

    // A day passing is out of reach of the command line: the engine removes every sealed
    // segment as it would once they have expired (a day of retention, a far-off now).
    let removed = {
        let persistence: PersistenceConfig = LedgerToml::load(&dir.join("ledger.toml"))
            .unwrap()
            .persistence;
        let mut ledger = Ledger::open_with(
            &dir,
            OpenOptions {
                config_override: Some(PersistenceConfig {
                    retention_days: 1,
                    ..persistence
                }),
                ..OpenOptions::default()
            },
        )
        .unwrap();
        let plan = ledger.apply_retention(i64::MAX / 2).unwrap();
        assert!(plan.applied && !plan.legal_hold, "{plan:?}");
        plan.expired
    };
    assert_eq!(
        removed.len(),
        before.len() - 1,
        "all but the active segment"
    );
    let first_held = removed.last().unwrap().last_seq + 1;
    assert_eq!(segment_files(&dir), before[before.len() - 1..]);
    // Appends go on after it, into new segments.
    on_with_input(&dir, &["ingest"], batch(200..300).as_bytes()).ok();
    let held = segment_files(&dir);
    assert!(held.len() >= 3, "{held:?}");
    let s = stats(&dir);
    assert_eq!(
        (&s["first_seq"], &s["head_seq"]),
        (&first_held.into(), &299.into()),
        "{s}"
    );
    assert_eq!(s["check_log"]["anchors"], removed.len(), "{s}");

    // What remains verifies, from where the anchors say it starts.
    let out = on(&dir, &["verify"]);
    assert!(
        out.ok().starts_with(&format!(
            "intact: {} records checked (seq {first_held}..=299) in ",
            300 - first_held
        )),
        "{}",
        out.stdout
    );
    // A digest of a removed entry cannot be checked, and says why.
    let out = on(&dir, &["verify", "--against", &early]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("seq 3 was removed by retention"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(&format!("the ledger now starts at seq {first_held}")),
        "{out:?}"
    );
    // The head digest taken before retention still holds.
    let out = on(&dir, &["verify", "--against", &head]);
    assert!(
        out.ok().trim_end().ends_with(&format!(
            "; digest seq 199 row_hash {} matches",
            head_digest["row_hash"].as_str().unwrap()
        )),
        "{}",
        out.stdout
    );
    // Anchors are not checks; a recorded check starts where the ledger does.
    assert!(checks(&dir, &[]).is_empty());
    on(&dir, &["verify", "--record"]).ok();
    let c = &checks(&dir, &[])[0];
    assert_eq!(
        (&c["check_id"], &c["range_start"], &c["range_end"]),
        (&removed.len().into(), &first_held.into(), &299.into()),
        "check ids follow the anchors in the one chain: {c}"
    );

    // The first held segment removed by hand: no anchor accounts for its entries.
    std::fs::remove_file(&held[0]).unwrap();
    let out = on(&dir, &["verify"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.starts_with("TAMPERED: "), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("missing segment starting at seq {first_held}")),
        "{}",
        out.stdout
    );
}

#[test]
fn a_following_writer_runs_scheduled_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    schedule_checks(&dir);
    let generated = generate(600, 34);
    let lines: Vec<&str> = generated.lines().collect();
    let input = tmp.path().join("in.ndjson");
    std::fs::write(&input, lines[..100].join("\n") + "\n").unwrap();

    let mut follow = Running::start(binary_on(
        &dir,
        &["ingest", "--follow", input.to_str().unwrap()],
    ));
    // Lines keep arriving while the checks run, until two have been recorded.
    let mut next = 100;
    let mut polls = 0;
    follow.wait_until("2 scheduled checks", || {
        polls += 1;
        if polls % 4 == 0 && next < lines.len() {
            append(&input, &(lines[next..next + 25].join("\n") + "\n"));
            next += 25;
        }
        checks_json(&dir, &[]).1.len() >= 2
    });
    let appended = next;
    follow.wait_until("every line appended recorded", || {
        records(&dir) == appended as u64
    });
    follow.signal("INT");
    let out = follow.wait();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "", "no check failed");
    let summary: Value = serde_json::from_str(out.stdout.trim_end()).unwrap();
    assert_eq!(summary["durable"], appended, "{summary}");

    let listed = checks(&dir, &[]);
    assert!(listed.len() >= 2, "{listed:?}");
    for (i, c) in listed.iter().enumerate() {
        assert_eq!(c["check_id"], i, "{c}");
        assert_eq!(c["chain_valid"], true, "{c}");
        assert_eq!(c["errors"], serde_json::json!([]), "{c}");
        assert!(c["range_end"].as_u64().unwrap() < appended as u64, "{c}");
    }
    // The first is a full pass (nothing passed before it), and so is every second.
    assert_eq!(
        (&listed[0]["mode"], &listed[0]["range_start"]),
        (&"full".into(), &0.into())
    );
    assert_eq!(listed[1]["mode"], "full", "{}", listed[1]);
    if let Some(third) = listed.get(2) {
        // An incremental check starts after the last passed one.
        assert_eq!(third["mode"], "incremental", "{third}");
        assert_eq!(
            third["range_start"].as_u64().unwrap(),
            listed[1]["range_end"].as_u64().unwrap() + 1,
            "{third}"
        );
    }
    assert!(checks(&dir, &["--failed"]).is_empty());
    on(&dir, &["verify"]).ok();
}

#[test]
fn a_failed_scheduled_check_is_an_error_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = small_ledger(tmp.path(), 200);
    schedule_checks(&dir);
    flip_record(&dir, 17);

    // Standard input kept open: the writer just waits, and checks.
    let mut follow = Running::start(binary_on(&dir, &["ingest", "--follow"]));
    let stdin = follow.stdin();
    follow.wait_until("a failed check", || {
        !checks_json(&dir, &["--failed"]).1.is_empty()
    });
    follow.signal("INT");
    let out = follow.wait();
    drop(stdin);
    let failed = checks(&dir, &["--failed"]);
    let first = &failed[0];
    assert_eq!(
        (&first["check_id"], &first["mode"]),
        (&0.into(), &"full".into()),
        "{first}"
    );
    assert!(
        first["errors"][0].as_str().unwrap().contains("(seq 17)"),
        "{first}"
    );
    let line = out
        .stderr
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no error line: {out:?}"));
    assert!(
        line.starts_with(
            "error: integrity check 0 FAILED (full seqs 0..=199): [\"corrupt entry in "
        ),
        "{out:?}"
    );
    assert!(line.contains("(seq 17)"), "{line}");
    assert!(
        out.stderr
            .lines()
            .all(|l| l.starts_with("error: integrity check ")),
        "{out:?}"
    );
}
