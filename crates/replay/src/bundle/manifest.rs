//! `manifest.json`: what a bundle holds and where it comes from, as pretty JSON with its keys
//! in a fixed order (docs/BUNDLES.md, "manifest.json").

use std::fmt::Write as _;

use signal_ledger_engine::record::json::push_json_str;
use signal_ledger_engine::timefmt::format_rfc3339_ns;
use signal_ledger_engine::{Digest, Hash};
use signal_ledger_query::Filter;

use crate::bundle::BundleFile;

/// The `bundle_format` of the bundles this crate writes.
pub const BUNDLE_FORMAT: &str = "signal-ledger-bundle/1";

/// A JSON value whose objects keep their keys in the order given.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Int(u64),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    fn opt<T>(value: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
        value.map_or(Json::Null, f)
    }

    fn strs<'a>(values: impl IntoIterator<Item = &'a str>) -> Json {
        Json::Arr(
            values
                .into_iter()
                .map(|v| Json::Str(v.to_owned()))
                .collect(),
        )
    }

    /// Appends the value, indented by two spaces per level from `depth`.
    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Num(x) if x.is_finite() => {
                let _ = write!(out, "{x:?}");
            }
            Json::Num(_) => out.push_str("null"),
            Json::Str(s) => push_json_str(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    item.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    push_json_str(out, key);
                    out.push_str(": ");
                    value.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push('}');
            }
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// The ledger a bundle was exported from, as its snapshot stood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LedgerFacts {
    /// Format version of its newest segment (None: no segment).
    pub format_version: Option<u16>,
    /// Seq of its first held entry.
    pub first_seq: u64,
    /// Seq one past its last entry.
    pub next_seq: u64,
    /// Its head digest (None: empty).
    pub head: Option<Digest>,
}

/// Everything `manifest.json` records.
#[derive(Debug, Clone)]
pub(crate) struct Manifest<'a> {
    /// The program that wrote the bundle, e.g. `signal-ledger 0.1.0`.
    pub tool: &'a str,
    /// When, ns since the epoch.
    pub created_at_ns: i64,
    /// The ledger.
    pub ledger: LedgerFacts,
    /// Which signals were exported.
    pub filter: &'a Filter,
    /// Signals exported.
    pub signals: u64,
    /// Outcome entries exported.
    pub outcomes: u64,
    /// Seq of the first signal exported.
    pub first_seq: Option<u64>,
    /// Seq of the last.
    pub last_seq: Option<u64>,
    /// The row hash the window starts from: that of the entry at `first_seq - 1`.
    pub prev_hash: Option<Hash>,
    /// The row hash of the last signal exported.
    pub last_row_hash: Option<Hash>,
    /// The data files.
    pub files: &'a [BundleFile],
}

/// `filter`'s conditions other than the window, each under its CLI flag's name; a condition
/// not set is left out.
fn filters_json(f: &Filter) -> Json {
    let mut fields = Vec::new();
    let mut list = |key: &'static str, values: Json| {
        if values != Json::Arr(Vec::new()) {
            fields.push((key, values));
        }
    };
    list("source", Json::strs(f.sources.iter().map(String::as_str)));
    list("ticker", Json::strs(f.tickers.iter().map(String::as_str)));
    list(
        "direction",
        Json::strs(f.directions.iter().map(|d| d.as_str())),
    );
    list(
        "type",
        Json::strs(f.signal_types.iter().map(|t| t.as_str())),
    );
    list(
        "timeframe",
        Json::strs(f.timeframes.iter().map(String::as_str)),
    );
    list(
        "strategy",
        Json::strs(f.strategy_ids.iter().map(String::as_str)),
    );
    list(
        "correlation",
        Json::strs(f.correlation_ids.iter().map(String::as_str)),
    );
    let scalars = [
        ("min-conviction", f.min_conviction.map(Json::Num)),
        ("max-conviction", f.max_conviction.map(Json::Num)),
        ("acted-upon", f.acted_upon.map(Json::Bool)),
        ("has-execution-id", f.has_execution_id.map(Json::Bool)),
    ];
    fields.extend(scalars.into_iter().filter_map(|(k, v)| Some((k, v?))));
    Json::Obj(fields)
}

fn hash_json(hash: Option<Hash>) -> Json {
    Json::opt(hash, |h| Json::Str(h.to_hex()))
}

fn time_json(ns: Option<i64>) -> Json {
    Json::opt(ns, |ns| Json::Str(format_rfc3339_ns(ns)))
}

/// A head digest as the object `signal-ledger digest` prints.
fn digest_json(d: &Digest) -> Json {
    Json::Obj(vec![
        ("seq", Json::Int(d.seq)),
        ("row_hash", Json::Str(d.row_hash.to_hex())),
        ("timestamp", Json::Str(format_rfc3339_ns(d.recorded_at_ns))),
    ])
}

impl Manifest<'_> {
    fn json(&self) -> Json {
        let l = &self.ledger;
        let files = self
            .files
            .iter()
            .map(|f| {
                Json::Obj(vec![
                    ("name", Json::Str(f.name.to_owned())),
                    ("bytes", Json::Int(f.bytes)),
                    ("sha256", Json::Str(f.sha256.clone())),
                    ("records", Json::Int(f.records)),
                ])
            })
            .collect();
        Json::Obj(vec![
            ("bundle_format", Json::Str(BUNDLE_FORMAT.to_owned())),
            ("tool", Json::Str(self.tool.to_owned())),
            ("created_at", time_json(Some(self.created_at_ns))),
            (
                "ledger",
                Json::Obj(vec![
                    (
                        "format_version",
                        Json::opt(l.format_version, |v| Json::Int(u64::from(v))),
                    ),
                    ("first_seq", Json::Int(l.first_seq)),
                    ("next_seq", Json::Int(l.next_seq)),
                ]),
            ),
            (
                "window",
                Json::Obj(vec![
                    ("from", time_json(self.filter.from_ns)),
                    ("to", time_json(self.filter.to_ns)),
                ]),
            ),
            ("filters", filters_json(self.filter)),
            ("order", Json::Str("seq".to_owned())),
            (
                "counts",
                Json::Obj(vec![
                    ("signals", Json::Int(self.signals)),
                    ("outcomes", Json::Int(self.outcomes)),
                ]),
            ),
            ("first_seq", Json::opt(self.first_seq, Json::Int)),
            ("last_seq", Json::opt(self.last_seq, Json::Int)),
            ("prev_hash", hash_json(self.prev_hash)),
            ("last_row_hash", hash_json(self.last_row_hash)),
            ("head", Json::opt(l.head.as_ref(), digest_json)),
            ("files", Json::Arr(files)),
        ])
    }

    /// The manifest's text: pretty JSON (two-space indent), keys in a fixed order, a final
    /// newline.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::with_capacity(2048);
        self.json().write(&mut out, 0);
        out.push('\n');
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use signal_ledger_engine::{Direction, SignalType};

    fn files() -> Vec<BundleFile> {
        vec![BundleFile {
            name: "signals.csv",
            bytes: 10,
            sha256: "ab".repeat(32),
            records: 2,
        }]
    }

    fn manifest<'a>(filter: &'a Filter, files: &'a [BundleFile]) -> Manifest<'a> {
        Manifest {
            tool: "signal-ledger 0.1.0",
            created_at_ns: 1_767_225_600_000_000_000,
            ledger: LedgerFacts {
                format_version: Some(2),
                first_seq: 0,
                next_seq: 504,
                head: Some(Digest {
                    seq: 503,
                    row_hash: Hash([0x11; 32]),
                    recorded_at_ns: 1_767_225_600_500_000_000,
                }),
            },
            filter,
            signals: 2,
            outcomes: 1,
            first_seq: Some(7),
            last_seq: Some(9),
            prev_hash: Some(Hash([0; 32])),
            last_row_hash: Some(Hash([0xff; 32])),
            files,
        }
    }

    #[test]
    fn manifest_is_pretty_json_with_every_key_in_order() {
        let filter = Filter {
            tickers: vec!["NVDA".into(), "BRK.B".into()],
            from_ns: Some(1_767_225_600_000_000_000),
            min_conviction: Some(0.5),
            directions: vec![Direction::Long],
            signal_types: vec![SignalType::ScaleIn],
            acted_upon: Some(false),
            ..Filter::default()
        };
        let files = files();
        let text = manifest(&filter, &files).to_text();
        assert!(text.ends_with("}\n") && text.starts_with("{\n  \"bundle_format\": "));
        let keys: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  \"") && !l.starts_with("   "))
            .map(|l| l.trim_start().split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "bundle_format",
                "tool",
                "created_at",
                "ledger",
                "window",
                "filters",
                "order",
                "counts",
                "first_seq",
                "last_seq",
                "prev_hash",
                "last_row_hash",
                "head",
                "files"
            ]
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["bundle_format"], BUNDLE_FORMAT);
        assert_eq!(v["created_at"], "2026-01-01T00:00:00Z");
        assert_eq!(
            v["ledger"],
            json!({"format_version": 2, "first_seq": 0, "next_seq": 504})
        );
        assert_eq!(
            v["window"],
            json!({"from": "2026-01-01T00:00:00Z", "to": null})
        );
        assert_eq!(
            v["filters"],
            json!({"ticker": ["NVDA", "BRK.B"], "direction": ["long"], "type": ["scale_in"],
                   "min-conviction": 0.5, "acted-upon": false})
        );
        assert_eq!(v["counts"], json!({"signals": 2, "outcomes": 1}));
        assert_eq!(
            (v["first_seq"].clone(), v["last_seq"].clone()),
            (json!(7), json!(9))
        );
        assert_eq!(v["prev_hash"], "0".repeat(64));
        assert_eq!(v["last_row_hash"], "f".repeat(64));
        assert_eq!(
            v["files"],
            json!([{"name": "signals.csv", "bytes": 10, "sha256": "ab".repeat(32), "records": 2}])
        );
    }

    #[test]
    fn head_is_the_digest_line_as_an_object() {
        let filter = Filter::default();
        let files = files();
        let m = manifest(&filter, &files);
        let v: Value = serde_json::from_str(&m.to_text()).unwrap();
        let digest: Value = serde_json::from_str(&m.ledger.head.unwrap().to_json()).unwrap();
        assert_eq!(v["head"], digest);
    }

    #[test]
    fn an_empty_bundle_has_nulls_and_no_filters() {
        let filter = Filter::default();
        let m = Manifest {
            ledger: LedgerFacts {
                format_version: None,
                first_seq: 0,
                next_seq: 0,
                head: None,
            },
            signals: 0,
            outcomes: 0,
            first_seq: None,
            last_seq: None,
            prev_hash: None,
            last_row_hash: None,
            files: &[],
            ..manifest(&filter, &[])
        };
        let text = m.to_text();
        assert!(text.contains("\"filters\": {},"), "{text}");
        assert!(text.contains("\"files\": []\n"), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        for key in [
            "first_seq",
            "last_seq",
            "prev_hash",
            "last_row_hash",
            "head",
        ] {
            assert_eq!(v[key], Value::Null, "{key}");
        }
        assert_eq!(v["window"], json!({"from": null, "to": null}));
        assert_eq!(v["ledger"]["format_version"], Value::Null);
    }

    #[test]
    fn strings_are_escaped_and_numbers_stay_numbers() {
        let filter = Filter {
            sources: vec!["a\"b\\c\n".into()],
            max_conviction: Some(1.0),
            ..Filter::default()
        };
        let m = Manifest {
            tool: "tool \u{1}",
            ..manifest(&filter, &[])
        };
        let v: Value = serde_json::from_str(&m.to_text()).unwrap();
        assert_eq!(v["tool"], "tool \u{1}");
        assert_eq!(v["filters"]["source"], json!(["a\"b\\c\n"]));
        assert_eq!(v["filters"]["max-conviction"].as_f64(), Some(1.0));
    }
}
