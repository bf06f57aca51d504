//! Hostile input is refused precisely: for every case of the corpus in `tests/hostile/` (listed,
//! with its expected outcome, in `tests/hostile/EXPECTED.tsv`), `signal-ledger ingest FILE` on a
//! ledger that already holds records either refuses the input whole — exit 2, ONE stderr line
//! naming the exact line, field and problem, nothing appended, every ledger file byte for byte
//! as before, `verify` intact — or, for the inputs accepted on purpose (empty file, BOM, CRLF,
//! blank lines, limits at their maximum...), appends exactly the expected signals.
//! With `--skip-invalid`, a good line before and after each bad input are appended and the bad
//! line is rejected with the same reason; the engine's parsers (`parse_ndjson`, the streaming
//! reader, one line at a time) give the same answer.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use signal_ledger_engine::input::{parse_ndjson, parse_ndjson_line, parse_ndjson_stream};

/// Records the template ledger holds before each case (lines 1..=5 of the v2 fixture input).
const EXISTING: u64 = 5;

/// At least this many distinct bad inputs (the issue asks for 50).
const BAD_CASES_MIN: usize = 50;

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Refused by the parser.
    Refused,
    /// Parses, refused by the append (a signal_id taken by other columns).
    RefusedAppend,
    Accepted,
}

#[derive(Debug)]
struct Case {
    name: String,
    outcome: Outcome,
    line: u64,
    field: Option<String>,
    problem: String,
    skip_problem: String,
    count: u64,
    already: u64,
}

impl Case {
    fn refused(&self) -> bool {
        self.outcome != Outcome::Accepted
    }

    /// The one stderr line of a refusal, without its newline.
    fn error_line(&self) -> String {
        match &self.field {
            Some(f) => format!("error: line {}: field {f}: {}", self.line, self.problem),
            None => format!("error: line {}: {}", self.line, self.problem),
        }
    }

    /// The case number (`017`), for signal ids.
    fn number(&self) -> &str {
        &self.name[..3]
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/hostile")
}

fn dash(v: &str) -> Option<&str> {
    (v != "-").then_some(v)
}

/// The rows of `EXPECTED.tsv`.
fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus_dir().join("EXPECTED.tsv")).unwrap();
    let mut rows = text.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(
        rows.next().unwrap(),
        "case\toutcome\tline\tfield\tproblem\tskip_problem\tcount\talready\tnote"
    );
    rows.map(|row| {
        let c: Vec<&str> = row.split('\t').collect();
        assert_eq!(c.len(), 9, "{row}");
        let outcome = match c[1] {
            "refused" => Outcome::Refused,
            "refused-append" => Outcome::RefusedAppend,
            "accepted" => Outcome::Accepted,
            other => panic!("outcome {other:?} in {row}"),
        };
        let case = Case {
            name: c[0].to_owned(),
            outcome,
            line: dash(c[2]).map_or(0, |v| v.parse().unwrap()),
            field: dash(c[3]).map(str::to_owned),
            problem: c[4].to_owned(),
            skip_problem: if c[5] == "=" { c[4] } else { c[5] }.to_owned(),
            count: dash(c[6]).map_or(0, |v| v.parse().unwrap()),
            already: dash(c[7]).map_or(0, |v| v.parse().unwrap()),
        };
        if case.refused() {
            assert!(case.line >= 1 && !case.problem.is_empty(), "{row}");
        } else {
            assert_eq!((c[2], c[3], c[4], c[5]), ("-", "-", "-", "-"), "{row}");
        }
        case
    })
    .collect()
}

/// A valid signal line (the fields of the v2 fixture's `ema_crossover` lines, every optional
/// field set), with `signal_id` `id` and `payload_json` `payload` (raw JSON text).
fn valid_line(id: &str, payload: &str) -> String {
    format!(
        concat!(
            r#"{{"signal_id":"{id}","source_module":"ema_crossover","source_version":"2.3.1","#,
            r#""ticker":"SOL/USD","direction":"long","conviction":0.7585,"signal_type":"exit","#,
            r#""timeframe":"4h","price":159.32,"timestamp":"2026-10-02T20:25:28.432751687Z","#,
            r#""expires_at":"2026-10-03T20:25:28Z","strategy_id":"ema_12_26_swing","#,
            r#""correlation_id":"corr-65eacbe60529","#,
            r#""parent_signal_ids":["01a0fdfc-545a-728c-9a1e-29cb9d4fe68b"],"acted_upon":true,"#,
            r#""execution_id":"exec-000001","payload_json":{payload}}}"#
        ),
        id = id,
        payload = payload
    )
}

const PAYLOAD: &str =
    r#"{"ema_fast":9,"ema_slow":21,"cross":"golden","spread_bps":9.4,"atr":0.90,"vol_ratio":2.17}"#;

/// `line` followed by spaces (JSON whitespace) up to `len` bytes, and a line break.
fn padded(line: String, len: usize) -> Vec<u8> {
    assert!(line.len() <= len);
    let mut out = line.into_bytes();
    out.resize(len, b' ');
    out.push(b'\n');
    out
}

/// A string payload of exactly `len` bytes, quotes included.
fn payload_of(len: usize) -> String {
    format!("\"{}\"", "x".repeat(len - 2))
}

/// The inputs too large to commit, built here. Their expected outcomes are in EXPECTED.tsv.
fn generated(name: &str) -> Option<Vec<u8>> {
    const MIB: usize = 1024 * 1024;
    let id = |n: &str| format!("hostile-{n}");
    Some(match name {
        // One byte over LINE_LEN_MAX (1 MiB), otherwise a valid line.
        "120-line-over-1mib" => padded(valid_line(&id("120"), PAYLOAD), MIB + 1),
        // Over the streaming reader's 16 MiB block: skipped without being held.
        "121-line-over-16mib-read-block" => {
            let len = 16 * MIB + 10;
            assert!(len > signal_ledger_engine::input::READ_BLOCK_LEN);
            let mut out = format!("{}\n", valid_line(&id("121-good-0"), PAYLOAD)).into_bytes();
            out.extend(padded(valid_line(&id("121"), PAYLOAD), len));
            out
        }
        "122-payload-huge" => {
            format!("{}\n", valid_line(&id("122"), &payload_of(900_000))).into_bytes()
        }
        "123-payload-65537-bytes" => {
            format!("{}\n", valid_line(&id("123"), &payload_of(65_537))).into_bytes()
        }
        "124-ok-line-exactly-1mib" => padded(valid_line(&id("124"), PAYLOAD), MIB),
        "125-ok-payload-exactly-65536-bytes" => {
            format!("{}\n", valid_line(&id("125"), &payload_of(65_536))).into_bytes()
        }
        _ => return None,
    })
}

/// The case's input: its committed file, or built by [`generated`].
fn input_of(case: &Case) -> Vec<u8> {
    let path = corpus_dir().join(format!("{}.ndjson", case.name));
    match (generated(&case.name), std::fs::read(&path)) {
        (Some(bytes), Err(_)) => bytes,
        (None, Ok(bytes)) => bytes,
        (Some(_), Ok(_)) => panic!("{}: both generated and committed", case.name),
        (None, Err(e)) => panic!("{}: {e}", path.display()),
    }
}

/// The input's lines as the parser numbers them (a BOM at the very start dropped).
fn lines_of(input: &[u8]) -> Vec<&[u8]> {
    let input = input.strip_prefix(BOM).unwrap_or(input);
    let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    if lines.last() == Some(&&b""[..]) {
        lines.pop();
    }
    lines
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

fn non_blank_lines(input: &[u8]) -> u64 {
    lines_of(input).iter().filter(|l| !is_blank(l)).count() as u64
}

/// `input` between a good line before and one after (a leading BOM stays first).
fn wrapped(case: &Case, input: &[u8]) -> Vec<u8> {
    let (bom, body) = match input.strip_prefix(BOM) {
        Some(body) => (BOM, body),
        None => (&b""[..], input),
    };
    let mut out = bom.to_vec();
    out.extend(
        format!(
            "{}\n",
            valid_line(&format!("wrap-before-{}", case.number()), PAYLOAD)
        )
        .bytes(),
    );
    out.extend_from_slice(body);
    if !body.is_empty() && !body.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend(
        format!(
            "{}\n",
            valid_line(&format!("wrap-after-{}", case.number()), PAYLOAD)
        )
        .bytes(),
    );
    out
}

/// A ledger holding the first [`EXISTING`] lines of the v2 fixture input, in `dir`.
fn template(dir: &Path) -> PathBuf {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ledger-v2.input.ndjson");
    let text = std::fs::read_to_string(fixture).unwrap();
    let first: String = text
        .lines()
        .take(EXISTING as usize)
        .map(|l| format!("{l}\n"))
        .collect();
    let ledger = dir.join("template");
    on(&ledger, &["init"]).ok();
    let out = on_with_input(&ledger, &["ingest"], first.as_bytes()).json();
    assert_eq!(out["count"], EXISTING);
    ledger
}

/// A copy of the (flat) ledger directory `from` at `to`.
fn copy_ledger(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Every file of the ledger directory and its bytes. `LOCK` is rewritten with the pid of every
/// writer that opens the ledger (FORMAT: "its contents mean nothing else"): only its presence
/// and form are kept.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let mut bytes = std::fs::read(e.path()).unwrap();
            if name == "LOCK" {
                let text = String::from_utf8(bytes).unwrap();
                let pid = text
                    .strip_prefix("pid ")
                    .unwrap_or_else(|| panic!("LOCK: {text:?}"));
                assert!(pid.parse::<u32>().is_ok(), "LOCK: {text:?}");
                bytes = b"pid <any>".to_vec();
            }
            (name, bytes)
        })
        .collect()
}

fn ingest_file(ledger: &Path, file: &Path, extra: &[&str]) -> Out {
    let mut args = vec!["ingest", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    on(ledger, &args)
}

/// Runs `check` for every case, collecting every mismatch, and fails listing them all.
fn for_each(cases: &[&Case], mut check: impl FnMut(&Case) -> Result<(), String>) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check(c).err().map(|e| format!("{}: {e}", c.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

#[test]
fn the_corpus_is_complete_distinct_and_large_enough() {
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "a case is listed twice");
    // Every committed file is listed, every listed case has its input.
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name == "EXPECTED.tsv" {
            continue;
        }
        let stem = name
            .strip_suffix(".ndjson")
            .unwrap_or_else(|| panic!("{name}"));
        assert!(names.contains(&stem), "{name} is not in EXPECTED.tsv");
    }
    let mut bad = Vec::new();
    for case in &cases {
        let input = input_of(case);
        if case.refused() {
            bad.push(input);
        }
    }
    let n = bad.len();
    bad.sort();
    bad.dedup();
    assert_eq!(bad.len(), n, "two bad cases have the same input");
    assert!(n >= BAD_CASES_MIN, "{n} bad cases");
}

#[test]
fn each_bad_input_is_refused_whole_with_one_precise_line() {
    let tmp = tempfile::tempdir().unwrap();
    let template = template(tmp.path());
    let before = files(&template);
    let cases = cases();
    let bad: Vec<&Case> = cases.iter().filter(|c| c.refused()).collect();
    for_each(&bad, |case| {
        let ledger = tmp.path().join(&case.name);
        copy_ledger(&template, &ledger);
        let file = tmp.path().join(format!("{}.ndjson", case.name));
        std::fs::write(&file, input_of(case)).unwrap();
        let out = ingest_file(&ledger, &file, &[]);
        std::fs::remove_file(&file).unwrap();
        ensure!(
            out.code == 2,
            "exit {} (stdout {:?}, stderr {:?})",
            out.code,
            out.stdout,
            out.stderr
        );
        ensure!(out.stdout.is_empty(), "stdout {:?}", out.stdout);
        let want = format!("{}\n", case.error_line());
        ensure!(
            out.stderr == want,
            "stderr\n  got  {:?}\n  want {want:?}",
            out.stderr
        );
        ensure!(files(&ledger) == before, "the ledger's files changed");
        let verify = on(&ledger, &["verify"]);
        ensure!(
            verify.code == 0,
            "verify: {:?} {:?}",
            verify.stdout,
            verify.stderr
        );
        std::fs::remove_dir_all(&ledger).unwrap();
        Ok(())
    });
}

#[test]
fn each_accepted_input_appends_what_it_says() {
    let tmp = tempfile::tempdir().unwrap();
    let template = template(tmp.path());
    let cases = cases();
    let good: Vec<&Case> = cases.iter().filter(|c| !c.refused()).collect();
    assert!(good.len() >= 10);
    for_each(&good, |case| {
        let ledger = tmp.path().join(&case.name);
        copy_ledger(&template, &ledger);
        let file = tmp.path().join(format!("{}.ndjson", case.name));
        std::fs::write(&file, input_of(case)).unwrap();
        let out = ingest_file(&ledger, &file, &[]);
        std::fs::remove_file(&file).unwrap();
        ensure!(
            out.code == 0 && out.stderr.is_empty(),
            "exit {}: {:?}",
            out.code,
            out.stderr
        );
        let r: Value = serde_json::from_str(out.stdout.trim()).map_err(|e| e.to_string())?;
        ensure!(
            r["count"] == case.count && r["already_recorded"] == case.already,
            "got {r}, want count {} already {}",
            case.count,
            case.already
        );
        ensure!(
            records(&ledger) == EXISTING + case.count,
            "records {}",
            records(&ledger)
        );
        let verify = on(&ledger, &["verify"]);
        ensure!(verify.code == 0, "verify: {:?}", verify.stderr);
        std::fs::remove_dir_all(&ledger).unwrap();
        Ok(())
    });
}

#[test]
fn with_skip_invalid_the_good_lines_around_each_bad_one_are_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let template = template(tmp.path());
    let cases = cases();
    let all: Vec<&Case> = cases.iter().collect();
    for_each(&all, |case| {
        let ledger = tmp.path().join(&case.name);
        copy_ledger(&template, &ledger);
        let input = wrapped(case, &input_of(case));
        let file = tmp.path().join(format!("{}.ndjson", case.name));
        std::fs::write(&file, &input).unwrap();
        let rejects = tmp.path().join(format!("{}.rejects", case.name));
        let out = ingest_file(
            &ledger,
            &file,
            &["--skip-invalid", "--rejects", rejects.to_str().unwrap()],
        );
        ensure!(out.code == 0, "exit {}: {:?}", out.code, out.stderr);
        let r: Value = serde_json::from_str(out.stdout.trim()).map_err(|e| e.to_string())?;
        let rejected = u64::from(case.refused());
        // Every non-blank line is appended, already recorded or the one rejected.
        let appended = non_blank_lines(&input) - rejected - case.already;
        ensure!(
            r["count"] == appended
                && r["rejected"] == rejected
                && r["already_recorded"] == case.already,
            "got {r}, want count {appended} rejected {rejected} already {}",
            case.already
        );
        let kept = json_lines(&std::fs::read_to_string(&rejects).unwrap());
        if case.refused() {
            let want_stderr = format!(
                "warning: skipped 1 invalid line; written to {}\n",
                rejects.display()
            );
            ensure!(out.stderr == want_stderr, "stderr {:?}", out.stderr);
            ensure!(kept.len() == 1, "rejects: {kept:?}");
            let k = &kept[0];
            let line = case.line + 1;
            ensure!(
                k["line"] == line
                    && k["field"].as_str() == case.field.as_deref()
                    && k["problem"] == case.skip_problem.as_str(),
                "rejected as {k}, want line {line} field {:?} problem {:?}",
                case.field,
                case.skip_problem
            );
            if case.outcome == Outcome::Refused {
                // The line as received: lossy UTF-8, without its CR, at most 64 KiB.
                let raw = lines_of(&input)[usize::try_from(case.line).unwrap()];
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                let raw = String::from_utf8_lossy(&raw[..raw.len().min(64 * 1024)]);
                ensure!(k["input"] == *raw, "rejected input differs");
            }
        } else {
            ensure!(
                out.stderr.is_empty() && kept.is_empty(),
                "{:?} {kept:?}",
                out.stderr
            );
        }
        // The good lines around it are the first and the last appended.
        ensure!(
            r["first_seq"] == EXISTING && r["last_seq"] == EXISTING + appended - 1,
            "appended {r}"
        );
        for (which, seq) in [("before", EXISTING), ("after", EXISTING + appended - 1)] {
            let id = format!("wrap-{which}-{}", case.number());
            let got = on(&ledger, &["get", "--signal-id", &id]);
            ensure!(got.code == 0, "{id}: {:?}", got.stderr);
            let got: Value = serde_json::from_str(got.stdout.trim()).map_err(|e| e.to_string())?;
            ensure!(got["seq"] == seq, "{id} at {}, want {seq}", got["seq"]);
        }
        ensure!(records(&ledger) == EXISTING + appended, "records");
        let verify = on(&ledger, &["verify"]);
        ensure!(verify.code == 0, "verify: {:?}", verify.stderr);
        std::fs::remove_dir_all(&ledger).unwrap();
        std::fs::remove_file(&file).unwrap();
        Ok(())
    });
}

#[test]
fn the_engine_parsers_give_the_same_answer() {
    let cases = cases();
    let all: Vec<&Case> = cases.iter().collect();
    for_each(&all, |case| {
        let input = input_of(case);
        let whole = parse_ndjson(&input);
        let streamed = parse_ndjson_stream(&mut &input[..], &|_| {}).map_err(|e| e.to_string())?;
        ensure!(
            streamed.errors == whole.errors && streamed.lines == whole.lines,
            "the streaming reader differs: {:?} vs {:?}",
            streamed.errors,
            whole.errors
        );
        // One line at a time (`ingest --follow`).
        let mut one_by_one = Vec::new();
        for (i, line) in input.split(|&b| b == b'\n').enumerate() {
            let line_no = i as u64 + 1;
            if let Some(Err(e)) = parse_ndjson_line(line_no, line) {
                one_by_one.push(e);
            }
        }
        ensure!(one_by_one == whole.errors, "line by line: {one_by_one:?}");
        let signals = whole.signals.len() as u64;
        if case.outcome == Outcome::Refused {
            ensure!(whole.errors.len() == 1, "errors {:?}", whole.errors);
            let e = &whole.errors[0];
            ensure!(
                e.line == case.line && e.field == case.field && e.problem == case.problem,
                "parsed as {e:?}"
            );
            ensure!(signals == non_blank_lines(&input) - 1, "{signals} signals");
        } else {
            ensure!(whole.errors.is_empty(), "errors {:?}", whole.errors);
            ensure!(signals == non_blank_lines(&input), "{signals} signals");
        }
        Ok(())
    });
}

/// `payload_json` nested deeper than 64 levels is refused: the 65,536-byte size bound alone
/// would allow 32,768, and the ledger's own JSON output of such a signal could not be read back
/// by common JSON readers (serde_json stops at 128 levels, Python's `json` raises
/// `RecursionError` at about 1,000, and so would `docs/audit/verify_bundle.py`).
#[test]
fn a_payload_nested_too_deep_for_json_readers_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let template = template(tmp.path());
    let before = files(&template);
    let depth = 5_000;
    let payload = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let file = tmp.path().join("deep.ndjson");
    std::fs::write(&file, format!("{}\n", valid_line("hostile-deep", &payload))).unwrap();
    let out = ingest_file(&template, &file, &[]);
    assert_eq!(out.code, 2, "accepted: {}", out.stdout);
    assert_eq!(
        out.stderr,
        "error: line 1: field payload_json: nests arrays and objects 65 levels deep at byte 64, \
         more than 64\n"
    );
    assert_eq!(files(&template), before);
}
