//! Writes the fuzzers' seed corpus, `fuzz/corpus/<target>/`, from the fixture ledgers and inputs
//! in `tests/fixtures` (plus hostile variants): frames and bodies of signals and outcomes,
//! whole segments (intact, torn, damaged, with mode bits for the `open_segment` target), and
//! NDJSON lines accepted and refused.
//!
//! Run by hand to regenerate the corpus (it replaces the three target directories):
//! `cargo run --example write_fuzz_seed_corpus`. `tests/fuzz_corpus_replays_clean.rs` replays
//! what it writes.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a developer's tool over committed fixtures: a surprise should stop it loudly"
)]

#[path = "../fuzz/src/targets.rs"]
#[allow(
    dead_code,
    reason = "only the mode bits and the separator are used here"
)]
mod targets;

use std::fs;
use std::path::{Path, PathBuf};

/// The cargo-fuzz targets, whose corpus directories are replaced.
const TARGETS: [&str; 3] = ["decode_record", "open_segment", "ndjson_signal"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn main() {
    let out = std::env::args_os()
        .nth(1)
        .map_or_else(|| root().join("fuzz/corpus"), PathBuf::from);
    for name in TARGETS {
        let dir = out.join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
    }
    seeds::write_all(&out);
    println!("wrote the seed corpus to {}", out.display());
}

mod seeds {
    use super::*;

    fn put(dir: &Path, name: &str, bytes: &[u8]) {
        fs::write(dir.join(name), bytes).unwrap();
    }

    fn segments(ledger: &str) -> Vec<Vec<u8>> {
        let dir = root().join("tests/fixtures").join(ledger);
        let mut names: Vec<PathBuf> = files_in(&dir)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .collect();
        names.sort();
        names.iter().map(|p| fs::read(p).unwrap()).collect()
    }

    /// `(offset, frame bytes)` of each frame of a segment.
    fn frames(segment: &[u8]) -> Vec<(usize, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 80;
        while let Some(len) = segment.get(at..at + 4) {
            let len = u32::from_le_bytes(len.try_into().unwrap());
            if len == u32::MAX {
                break;
            }
            let end = at + 8 + len as usize;
            out.push((at, segment[at..end].to_vec()));
            at = end;
        }
        out
    }

    pub fn write_all(out: &Path) {
        decode_record(&out.join("decode_record"));
        open_segment(&out.join("open_segment"));
        ndjson_signal(&out.join("ndjson_signal"));
    }

    fn decode_record(dir: &Path) {
        for ledger in ["ledger-v1", "ledger-v2"] {
            let segs = segments(ledger);
            for (s, seg) in segs.iter().enumerate() {
                let fr = frames(seg);
                // One frame and one bare body per segment, plus every outcome.
                for (i, (_, frame)) in fr.iter().enumerate() {
                    let kind = frame[8];
                    if i == 0 || kind == 2 {
                        put(dir, &format!("{ledger}-seg{s}-frame{i}"), frame);
                    }
                    if i == 1 && s < 3 {
                        put(dir, &format!("{ledger}-seg{s}-body{i}"), &frame[8..]);
                    }
                }
            }
            let seg = &segs[0];
            put(dir, &format!("{ledger}-header"), &seg[..80]);
            put(dir, &format!("{ledger}-trailer"), &seg[seg.len() - 96..]);
            let fr = frames(seg);
            let two: Vec<u8> = fr[..2].iter().flat_map(|(_, f)| f.clone()).collect();
            put(dir, &format!("{ledger}-two-frames"), &two);
        }
        let seg = &segments("ledger-v2")[0];
        let frame = frames(seg)[0].1.clone();
        let hostile = |name: &str, f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = frame.clone();
            f(&mut b);
            put(dir, &format!("hostile-{name}"), &b);
        };
        hostile("torn", &|b| b.truncate(b.len() / 2));
        hostile("crc-flip", &|b| b[4] ^= 1);
        hostile("body-flip", &|b| b[30] ^= 0x40);
        hostile("len-short", &|b| {
            b[..4].copy_from_slice(&3u32.to_le_bytes())
        });
        hostile("len-huge", &|b| {
            b[..4].copy_from_slice(&(2u32 << 20).to_le_bytes())
        });
        hostile("sentinel", &|b| b[..4].copy_from_slice(&[0xFF; 4]));
        hostile("unknown-kind", &|b| b[8] = 9);
        hostile("reserved-kind", &|b| b[8] = 3);
        hostile("flags", &|b| b[8 + 3] = 0xF0);
        hostile("trailing-byte", &|b| b.push(0));
        // A body with every optional column, 16 parents and a payload, made by the encoder.
        let line = r#"{"signal_id":"s-1","source_module":"m","source_version":"1.0","ticker":"BRK.B","direction":"short","conviction":1,"signal_type":"scale_out","timeframe":"1m","price":-0.0,"timestamp":"1677-09-21T00:12:43.145224192Z","expires_at":"2262-04-11T23:47:16.854775807Z","strategy_id":"st","correlation_id":"co","parent_signal_ids":["p0","p1","p2","p3","p4","p5","p6","p7","p8","p9","pa","pb","pc","pd","pe","pf"],"acted_upon":false,"execution_id":"ex","payload_json":{"é":"\u0000","n":[1e308,-1e-308]}}"#;
        let signal = signal_ledger::engine::input::parse_signal_line(line).unwrap();
        let stamp = signal_ledger::engine::record::Stamp {
            seq: u64::MAX,
            recorded_at_ns: i64::MIN,
            prev_hash: signal_ledger::engine::Hash([0xAB; 32]),
        };
        let mut body = Vec::new();
        signal_ledger::engine::record::encode_signal_body(&mut body, &stamp, &signal, "s-1");
        put(dir, "encoded-full-signal-body", &body);
    }

    fn open_segment(dir: &Path) {
        use targets::{MODE_FIX_CHAIN, MODE_FIX_CRC, MODE_TAIL, SEGMENT_SEPARATOR};
        let files = |mode: u8, segs: &[Vec<u8>]| -> Vec<u8> {
            let mut b = vec![mode];
            for (i, s) in segs.iter().enumerate() {
                if i > 0 {
                    b.extend_from_slice(SEGMENT_SEPARATOR);
                }
                b.extend_from_slice(s);
            }
            b
        };
        let tail = |mode: u8, area: &[u8]| -> Vec<u8> {
            let mut b = vec![mode | MODE_TAIL];
            b.extend_from_slice(area);
            b
        };
        for ledger in ["ledger-v1", "ledger-v2"] {
            let segs = segments(ledger);
            put(dir, &format!("{ledger}-whole"), &files(0, &segs));
            put(dir, &format!("{ledger}-first-two"), &files(0, &segs[..2]));
            put(
                dir,
                &format!("{ledger}-last"),
                &files(0, &segs[segs.len() - 1..]),
            );
        }
        let segs = segments("ledger-v2");
        let s0 = &segs[0];
        let area_end = s0.len() - 96;
        let area = &s0[80..area_end];
        let fr = frames(s0);
        put(dir, "first-segment", &files(0, &segs[..1]));
        put(
            dir,
            "first-segment-chain",
            &files(MODE_FIX_CHAIN, &segs[..1]),
        );
        put(dir, "tail-area", &tail(0, area));
        put(dir, "tail-area-sealed", &tail(0, &s0[80..]));
        put(dir, "tail-area-fixcrc", &tail(MODE_FIX_CRC, area));
        put(dir, "tail-area-chain", &tail(MODE_FIX_CHAIN, area));
        put(
            dir,
            "tail-area-sealed-chain",
            &tail(MODE_FIX_CHAIN, &s0[80..]),
        );
        put(dir, "tail-empty", &tail(0, &[]));
        put(dir, "tail-one-frame", &tail(0, &fr[0].1));
        // Torn tails and worse, in the active segment.
        let cut = |n: usize| -> Vec<u8> { s0[..n].to_vec() };
        for (name, n) in [
            ("torn-in-header", 50),
            ("torn-frame-header", fr[2].0 + 5),
            ("torn-frame-body", fr[2].0 + 40),
            ("torn-trailer", area_end + 30),
        ] {
            put(dir, &format!("cut-{name}"), &files(0, &[cut(n)]));
        }
        let flip = |at: usize| -> Vec<u8> {
            let mut b = s0[..area_end].to_vec();
            b[at] ^= 0x10;
            b
        };
        put(
            dir,
            "flip-last-frame",
            &files(0, &[flip(fr[fr.len() - 1].0 + 20)]),
        );
        put(dir, "flip-middle-frame", &files(0, &[flip(fr[1].0 + 20)]));
        put(
            dir,
            "flip-middle-frame-fixcrc",
            &files(MODE_FIX_CRC, &[flip(fr[1].0 + 20)]),
        );
        put(dir, "flip-header", &files(0, &[flip(20)]));
        put(
            dir,
            "flip-seq-fixcrc",
            &files(MODE_FIX_CRC, &[flip(fr[1].0 + 8 + 8)]),
        );
        let mut garbage = s0[..area_end].to_vec();
        garbage.extend_from_slice(&[0xAA; 13]);
        put(dir, "garbage-after-frames", &files(0, &[garbage]));
        let mut extra = s0.clone();
        extra.extend_from_slice(&[0; 8]);
        put(
            dir,
            "bytes-after-trailer",
            &files(0, &[extra, segs[1].clone()]),
        );
        put(
            dir,
            "missing-middle-segment",
            &files(0, &[segs[0].clone(), segs[2].clone()]),
        );
        put(
            dir,
            "unsealed-then-next",
            &files(0, &[s0[..area_end].to_vec(), segs[1].clone()]),
        );
        put(dir, "empty-file", &files(0, &[Vec::new()]));
        put(dir, "nothing", &[]);
        // Frames of a version-2 ledger holding outcomes, as an active tail.
        let with_outcome = segs
            .iter()
            .find(|s| frames(s).iter().any(|(_, f)| f[8] == 2))
            .unwrap();
        let end = with_outcome.len() - 96;
        put(
            dir,
            "outcomes-tail-chain",
            &tail(MODE_FIX_CHAIN, &with_outcome[80..end]),
        );
    }

    fn ndjson_signal(dir: &Path) {
        let fixtures = root().join("tests/fixtures");
        let input = fs::read_to_string(fixtures.join("ledger-v2.input.ndjson")).unwrap();
        for (i, line) in input.lines().enumerate().filter(|(i, _)| i % 3 == 0) {
            put(dir, &format!("fixture-line-{i:02}"), line.as_bytes());
        }
        let first_five: String = input.lines().take(5).map(|l| format!("{l}\n")).collect();
        put(dir, "fixture-five-lines", first_five.as_bytes());
        put(
            dir,
            "fixture-crlf-bom",
            format!("\u{feff}{}", first_five.replace('\n', "\r\n\n")).as_bytes(),
        );
        let outcomes = fs::read(fixtures.join("ledger-v2.outcomes.ndjson")).unwrap();
        put(dir, "fixture-outcomes", &outcomes);
        let base = r#"{"source_module":"m","ticker":"AAPL","direction":"long","conviction":0.5,"signal_type":"entry","timestamp":"2026-01-01T00:00:00Z"}"#;
        put(dir, "minimal", base.as_bytes());
        let with = |extra: &str| base.replacen('{', &format!("{{{extra},"), 1);
        let hostile: &[(&str, String)] = &[
            ("bad-json", base[..40].to_owned()),
            ("not-object", "[1,2,3]".to_owned()),
            ("unknown-field", with(r#""colour":"red""#)),
            ("ledger-field", with(r#""seq":1"#)),
            ("duplicate-field", with(r#""ticker":"MSFT""#)),
            (
                "nulls",
                with(r#""price":null,"timeframe":null,"signal_id":null,"payload_json":null"#),
            ),
            ("bad-ticker", base.replace("AAPL", "aapl")),
            ("conviction-high", base.replace("0.5", "1.5")),
            ("conviction-exp", base.replace("0.5", "5e-1")),
            ("conviction-huge", base.replace("0.5", "1e999")),
            (
                "ts-offset",
                base.replace("00:00:00Z", "23:59:60.999999999+14:00"),
            ),
            (
                "ts-min",
                base.replace("2026-01-01T00:00:00Z", "1677-09-21T00:12:43.145224192Z"),
            ),
            (
                "ts-below-min",
                base.replace("2026-01-01T00:00:00Z", "1677-09-21T00:12:43.145224191Z"),
            ),
            (
                "ts-max",
                base.replace("2026-01-01T00:00:00Z", "2262-04-11T23:47:16.854775807Z"),
            ),
            (
                "expires-before",
                with(r#""expires_at":"2025-01-01T00:00:00Z""#),
            ),
            (
                "parents-17",
                with(&format!(
                    r#""parent_signal_ids":[{}]"#,
                    (0..17)
                        .map(|i| format!("\"p{i}\""))
                        .collect::<Vec<_>>()
                        .join(",")
                )),
            ),
            ("parents-dup", with(r#""parent_signal_ids":["a","a"]"#)),
            (
                "payload-nested",
                with(&format!(
                    r#""payload_json":{}{}"#,
                    "[".repeat(200),
                    "]".repeat(200)
                )),
            ),
            (
                "payload-raw",
                with(r#""payload_json":  {"a" : [1, 2.50, "\u00e9"], "b": {}}  "#),
            ),
            ("control-char", with("\"strategy_id\":\"a\\u0007b\"")),
            ("escaped-keys", with(r#""\u0073ignal_id":"x""#)),
            (
                "long-id",
                with(&format!(r#""signal_id":"{}""#, "x".repeat(65))),
            ),
            ("acted", with(r#""acted_upon":true,"execution_id":"ex-1""#)),
            ("price-neg-zero", with(r#""price":-0.0"#)),
            ("blank-lines", format!("\n \t\r\n{base}\n\n")),
            ("trailing-garbage", format!("{base} x")),
        ];
        for (name, text) in hostile {
            put(dir, &format!("hostile-{name}"), text.as_bytes());
        }
        put(
            dir,
            "hostile-invalid-utf8",
            b"{\"source_module\":\"\xff\xfe\"}\n",
        );
        put(
            dir,
            "hostile-bom-late",
            format!("{base}\n\u{feff}{base}").as_bytes(),
        );
        put(dir, "outcome-lines", br#"{"signal_id":"x","acted_upon":false,"reason":"too late","at":"2026-11-28T03:00:01Z"}
{"signal_id":"y","acted_upon":true,"execution_id":""}
"#);
    }
}
