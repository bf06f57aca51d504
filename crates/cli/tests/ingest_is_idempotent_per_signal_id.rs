//! `ingest` records each signal_id once: the same input ingested again appends nothing and says
//! how many lines were recorded already; a line whose signal_id is recorded (or on an earlier
//! line) with other columns refuses the whole input with one error line naming it; `ingest
//! --follow` rejects such a line like an invalid one and records the rest.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

use std::path::Path;

use serde_json::Value;

/// `line` (an NDJSON signal) with another conviction, same signal_id.
fn changed(line: &str) -> String {
    let mut v: Value = serde_json::from_str(line).unwrap();
    let c = v["conviction"].as_f64().unwrap();
    v["conviction"] = if c < 0.5 { c + 0.25 } else { c - 0.25 }.into();
    serde_json::to_string(&v).unwrap()
}

fn signal_id(line: &str) -> String {
    let v: Value = serde_json::from_str(line).unwrap();
    v["signal_id"].as_str().unwrap().to_owned()
}

/// The `signal_id` of every record, in seq order.
fn stored_ids(dir: &Path) -> Vec<String> {
    let n = records(dir);
    json_lines(on(dir, &["tail", "-n", &n.to_string()]).ok())
        .into_iter()
        .map(|r| r["signal_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A ledger in `<tmp>/l` holding `lines` (ingested from a file), and the ingest's output.
fn ledger_with(tmp: &Path, lines: &[&str]) -> (std::path::PathBuf, Value) {
    let dir = tmp.join("l");
    init_small(&dir);
    let file = tmp.join("first.ndjson");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = on(&dir, &["ingest", file.to_str().unwrap()]).json();
    (dir, out)
}

#[test]
fn the_same_file_ingested_twice_is_recorded_once() {
    let tmp = tempfile::tempdir().unwrap();
    let all = generate(2_010, 61);
    let all: Vec<&str> = all.lines().collect();
    let lines = &all[..2_000];
    let (dir, first) = ledger_with(tmp.path(), lines);
    assert_eq!(first["count"], 2_000, "{first}");
    assert_eq!(first["already_recorded"], 0, "{first}");
    let head = stats(&dir)["head_hash"].clone();
    assert_eq!(first["head_hash"], head);
    assert!(
        stats(&dir)["sealed_segments"].as_u64().unwrap() > 1,
        "several sealed segments"
    );

    // The same file again (from the file, and from standard input).
    let file = tmp.path().join("first.ndjson");
    let again = on(&dir, &["ingest", file.to_str().unwrap()]).json();
    assert_eq!(
        again,
        serde_json::json!({
            "count": 0,
            "already_recorded": 2_000,
            "first_seq": null,
            "last_seq": null,
            "head_hash": head,
        })
    );
    let input = std::fs::read(&file).unwrap();
    let again = on_with_input(&dir, &["ingest"], &input).json();
    assert_eq!(
        (&again["count"], &again["already_recorded"]),
        (&0.into(), &2_000.into())
    );
    assert_eq!(records(&dir), 2_000);
    assert_eq!(stats(&dir)["head_hash"], head);
    on(&dir, &["verify"]).ok();

    // Recorded lines mixed with new ones: only the new ones are appended, in order.
    let input = [
        &all[2_000..2_005],
        &all[1_990..2_000],
        &all[2_005..],
        &all[..10],
    ]
    .concat()
    .join("\n");
    let mixed = on_with_input(&dir, &["ingest"], input.as_bytes()).json();
    assert_eq!(mixed["count"], 10, "{mixed}");
    assert_eq!(mixed["already_recorded"], 20, "{mixed}");
    assert_eq!(
        (&mixed["first_seq"], &mixed["last_seq"]),
        (&2_000.into(), &2_009.into())
    );
    on(&dir, &["verify"]).ok();
    let want: Vec<String> = all.iter().map(|l| signal_id(l)).collect();
    assert_eq!(stored_ids(&dir), want);
}

#[test]
fn a_line_whose_signal_id_is_recorded_with_other_columns_refuses_the_input() {
    let tmp = tempfile::tempdir().unwrap();
    let generated = generate(30, 62);
    let lines: Vec<&str> = generated.lines().collect();
    let (dir, _) = ledger_with(tmp.path(), &lines[..20]);
    let head = stats(&dir)["head_hash"].clone();

    // Line 3 takes the id of seq 7 with another conviction; the other lines are new.
    let conflicting = changed(lines[7]);
    let input = format!(
        "{}\n{}\n{conflicting}\n{}\n",
        lines[20], lines[21], lines[22]
    );
    let out = on_with_input(&dir, &["ingest"], input.as_bytes());
    out.fails_with(
        2,
        &format!(
            "error: line 3: field signal_id: {:?} is already recorded at seq 7 with different columns; nothing was appended",
            signal_id(lines[7])
        ),
    );
    assert_eq!(out.stdout, "", "nothing is reported appended");
    assert_eq!(records(&dir), 20);
    assert_eq!(stats(&dir)["head_hash"], head);
    on(&dir, &["verify"]).ok();

    // The recorded line itself, unchanged, is fine.
    let input = format!("{}\n{}\n", lines[20], lines[7]);
    let r = on_with_input(&dir, &["ingest"], input.as_bytes()).json();
    assert_eq!(
        (&r["count"], &r["already_recorded"]),
        (&1.into(), &1.into())
    );
}

#[test]
fn two_lines_with_one_signal_id_and_other_columns_refuse_the_input() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    let generated = generate(6, 63);
    let lines: Vec<&str> = generated.lines().collect();

    // Lines 2 and 5 carry one id with different convictions (a blank line counts too).
    let input = format!(
        "{}\n{}\n{}\n\n{}\n{}\n",
        lines[0],
        lines[1],
        lines[2],
        changed(lines[1]),
        lines[3]
    );
    on_with_input(&dir, &["ingest"], input.as_bytes()).fails_with(
        2,
        &format!(
            "error: line 5: field signal_id: {:?} is also on line 2 with different columns; nothing was appended",
            signal_id(lines[1])
        ),
    );
    assert_eq!(records(&dir), 0);

    // The same line twice is recorded once.
    let input = format!("{}\n{}\n{}\n{}\n", lines[0], lines[1], lines[0], lines[2]);
    let r = on_with_input(&dir, &["ingest"], input.as_bytes()).json();
    assert_eq!(
        (&r["count"], &r["already_recorded"]),
        (&3.into(), &1.into())
    );
    assert_eq!(
        stored_ids(&dir),
        vec![
            signal_id(lines[0]),
            signal_id(lines[1]),
            signal_id(lines[2])
        ]
    );
    on(&dir, &["verify"]).ok();
}

/// `ingest --follow` (with `options` first) of 30 new lines, one more that takes a recorded
/// signal_id with other columns and one that is recorded already, from standard input: the
/// conflicting line is rejected, every other line is durable.
fn follow_rejects_a_line_whose_signal_id_is_taken(options: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let recorded = generate(20, 64);
    let recorded: Vec<&str> = recorded.lines().collect();
    let (dir, _) = ledger_with(tmp.path(), &recorded);
    let new = generate(30, 65);
    let new: Vec<&str> = new.lines().collect();

    // 30 new lines; line 11 takes the id of seq 4 with other columns, line 21 is seq 9 again.
    let conflicting = changed(recorded[4]);
    let mut input: Vec<&str> = Vec::new();
    input.extend(&new[..10]);
    input.push(&conflicting);
    input.extend(&new[10..19]);
    input.push(recorded[9]);
    input.extend(&new[19..]);
    assert_eq!(input.len(), 32);
    let rejects = tmp.path().join("rejects.ndjson");
    let out = run_guarded(
        binary_on(
            &dir,
            &[
                options,
                &[
                    "ingest",
                    "--follow",
                    "-",
                    "--rejects",
                    rejects.to_str().unwrap(),
                ],
            ]
            .concat(),
        ),
        (input.join("\n") + "\n").as_bytes(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
    let s: Value = serde_json::from_str(out.stdout.trim_end()).unwrap();
    assert_eq!(s["lines"], 32, "{s}");
    assert_eq!(s["recorded"], 32, "{s}");
    assert_eq!(s["durable"], 31, "{s}");
    assert_eq!(s["failed"], 0, "{s}");
    assert_eq!(s["rejected"], 1, "{s}");
    assert_eq!(s["head_seq"], 49, "{s}");

    // The line is in the rejects file, and named with its field on stderr.
    let rejected = json_lines(&std::fs::read_to_string(&rejects).unwrap());
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let r = &rejected[0];
    assert_eq!(r["line"], 11);
    assert_eq!(r["field"], "signal_id");
    assert_eq!(r["input"], conflicting.as_str());
    let problem = r["problem"].as_str().unwrap();
    let id = signal_id(recorded[4]);
    assert!(problem.contains(&format!("{id:?}")), "{problem}");
    assert!(problem.contains("seq 4"), "{problem}");
    assert_eq!(
        out.stderr,
        format!("warning: skipped line 11: field signal_id: {problem}\n")
    );

    // Every other new line is durable, in order, after the 20 recorded before.
    on(&dir, &["verify"]).ok();
    let mut want: Vec<String> = recorded.iter().map(|l| signal_id(l)).collect();
    want.extend(new.iter().map(|l| signal_id(l)));
    assert_eq!(stored_ids(&dir), want);
    let stored = on(&dir, &["get", "4"]).json();
    let original: Value = serde_json::from_str(recorded[4]).unwrap();
    assert_eq!(stored["conviction"], original["conviction"]);
}

/// With groups of one line each, the conflicting line is refused alone.
#[test]
fn follow_rejects_a_line_whose_signal_id_is_taken_and_records_the_rest() {
    follow_rejects_a_line_whose_signal_id_is_taken(&["--batch-size", "1"]);
}

/// With the default settings the sink puts lines that arrive together in one group. Refusing
/// the conflicting line does not take the lines grouped with it down too: the sink refuses
/// one push (one line here) and appends the rest of the group.
#[test]
fn follow_rejects_only_the_conflicting_line_of_a_group() {
    follow_rejects_a_line_whose_signal_id_is_taken(&[]);
}

#[test]
fn skip_invalid_rejects_a_line_whose_signal_id_is_taken_and_appends_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let all = generate(12, 83);
    let all: Vec<&str> = all.lines().collect();
    let (dir, _) = ledger_with(tmp.path(), &all[..4]);
    // Line 2 takes a recorded id with other columns, line 4 repeats line 1's id with other
    // columns; lines 1, 3 and 5 are new.
    let input = [
        all[4].to_owned(),
        changed(all[0]),
        all[5].to_owned(),
        changed(all[4]),
        all[6].to_owned(),
    ]
    .join("\n");
    let rejects = tmp.path().join("rejects.ndjson");
    let out = on_with_input(
        &dir,
        &[
            "ingest",
            "--skip-invalid",
            "--rejects",
            rejects.to_str().unwrap(),
        ],
        input.as_bytes(),
    )
    .json();
    assert_eq!(
        (&out["count"], &out["rejected"]),
        (&3.into(), &2.into()),
        "{out}"
    );
    let ids = stored_ids(&dir);
    assert_eq!(ids.len(), 7);
    for line in [all[4], all[5], all[6]] {
        assert!(ids.contains(&signal_id(line)));
    }
    let rejected = json_lines(&std::fs::read_to_string(&rejects).unwrap());
    let lines: Vec<u64> = rejected
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4]);
    for r in &rejected {
        assert_eq!(r["field"], "signal_id");
        assert!(
            r["problem"].as_str().unwrap().contains("different columns"),
            "{r}"
        );
    }
    assert_eq!(
        rejected[0]["input"],
        format!("{{\"signal_id\":\"{}\"}}", signal_id(all[0]))
    );
}
