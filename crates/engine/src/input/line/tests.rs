//! The line parser's rules, one test per rule or family of rules.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
use super::*;
use crate::input::{LEDGER_FIELDS, PRODUCER_FIELDS};
use serde_json::{json, Value};

#[test]
fn producer_and_ledger_fields_are_exactly_the_columns() {
    let mut fields: Vec<&str> = PRODUCER_FIELDS
        .iter()
        .chain(&LEDGER_FIELDS)
        .copied()
        .collect();
    let mut columns = crate::record::signal::COLUMNS.to_vec();
    fields.sort_unstable();
    columns.sort_unstable();
    assert_eq!(fields, columns);
}

fn base() -> Value {
    json!({
        "signal_id": "sig-1",
        "source_module": "momentum",
        "source_version": "1.2.3",
        "ticker": "AAPL",
        "direction": "long",
        "conviction": 0.75,
        "signal_type": "entry",
        "timeframe": "1m",
        "price": 187.25,
        "timestamp": "2026-01-05T14:30:00Z",
        "expires_at": "2026-01-05T15:30:00.5Z",
        "strategy_id": "strat-a",
        "correlation_id": "corr-9",
        "parent_signal_ids": ["p1", "p2"],
        "acted_upon": false,
        "execution_id": "exec-7",
        "payload_json": {"k": [1, 2]}
    })
}

/// The base line with `field` set to `value` (`None` removes it).
fn with(field: &str, value: Option<Value>) -> String {
    let mut v = base();
    let obj = v.as_object_mut().unwrap();
    match value {
        Some(value) => {
            obj.insert(field.to_owned(), value);
        }
        None => {
            obj.remove(field);
        }
    }
    v.to_string()
}

fn ok(line: &str) -> Signal {
    parse_signal_line(line)
        .unwrap_or_else(|e| panic!("{line}: {e}"))
        .into_signal()
}

/// The error as `field F: problem` (or the bare problem).
fn err(line: &str) -> String {
    parse_signal_line(line).unwrap_err().to_string()
}

/// The base line with `field` set to the raw JSON text `literal`.
fn with_raw(field: &str, literal: &str) -> String {
    with(field, Some(json!("@@raw@@"))).replace("\"@@raw@@\"", literal)
}

fn field_err(field: &str, value: Option<Value>) -> String {
    err(&with(field, value))
}

#[test]
fn full_line_parses() {
    let s = ok(&base().to_string());
    assert_eq!(s.signal_id, "sig-1");
    assert_eq!(s.source_module, "momentum");
    assert_eq!(s.source_version.as_deref(), Some("1.2.3"));
    assert_eq!(s.ticker, "AAPL");
    assert_eq!(s.direction, Direction::Long);
    assert_eq!(s.conviction, 0.75);
    assert_eq!(s.signal_type, SignalType::Entry);
    assert_eq!(s.timeframe.as_deref(), Some("1m"));
    assert_eq!(s.price, Some(187.25));
    assert_eq!(s.timestamp_ns, 1_767_623_400_000_000_000);
    assert_eq!(s.expires_at_ns, Some(1_767_627_000_500_000_000));
    assert_eq!(s.strategy_id.as_deref(), Some("strat-a"));
    assert_eq!(s.correlation_id.as_deref(), Some("corr-9"));
    assert_eq!(s.parent_signal_ids, vec!["p1", "p2"]);
    assert_eq!(s.acted_upon, Some(false));
    assert_eq!(s.execution_id.as_deref(), Some("exec-7"));
    assert_eq!(s.payload_json, r#"{"k":[1,2]}"#);
}

#[test]
fn minimal_line_parses_with_defaults() {
    let line = r#"{"source_module":"m","ticker":"BRK.B","direction":"short","conviction":1,"signal_type":"scale_out","timestamp":"2026-01-05T14:30:00+01:00"}"#;
    let s = ok(line);
    assert_eq!(s.signal_id, "");
    assert_eq!(s.source_version, None);
    assert_eq!(s.conviction, 1.0);
    assert_eq!(s.signal_type, SignalType::ScaleOut);
    assert_eq!(s.timeframe, None);
    assert_eq!(s.price, None);
    assert_eq!(s.timestamp_ns, 1_767_619_800_000_000_000);
    assert_eq!(s.expires_at_ns, None);
    assert_eq!(s.parent_signal_ids, Vec::<String>::new());
    assert_eq!(s.acted_upon, None);
    assert_eq!(s.payload_json, "null");
}

#[test]
fn every_enum_name_parses() {
    for d in Direction::ALL {
        assert_eq!(
            ok(&with("direction", Some(json!(d.as_str())))).direction,
            *d
        );
    }
    for t in SignalType::ALL {
        assert_eq!(
            ok(&with("signal_type", Some(json!(t.as_str())))).signal_type,
            *t
        );
    }
}

#[test]
fn null_optional_fields_are_absent() {
    for field in [
        "signal_id",
        "source_version",
        "timeframe",
        "price",
        "expires_at",
        "strategy_id",
        "correlation_id",
        "parent_signal_ids",
        "acted_upon",
        "execution_id",
    ] {
        let absent = ok(&with(field, None));
        let null = ok(&with(field, Some(Value::Null)));
        assert_eq!(absent, null, "{field}");
    }
    assert_eq!(
        ok(&with("payload_json", Some(Value::Null))).payload_json,
        "null"
    );
    assert_eq!(ok(&with("payload_json", None)).payload_json, "null");
}

#[test]
fn required_fields() {
    for field in [
        "source_module",
        "ticker",
        "direction",
        "conviction",
        "signal_type",
        "timestamp",
    ] {
        assert_eq!(
            field_err(field, None),
            format!("field {field}: is required")
        );
    }
    assert_eq!(err("{}"), "field source_module: is required");
    assert_eq!(
        field_err("source_module", Some(Value::Null)),
        "field source_module: expected a string, found null"
    );
    assert_eq!(
        field_err("conviction", Some(Value::Null)),
        "field conviction: expected a number, found null"
    );
    assert_eq!(
        field_err("timestamp", Some(Value::Null)),
        "field timestamp: expected an RFC 3339 timestamp string, found null"
    );
}

#[test]
fn wrong_types() {
    let cases: &[(&str, Value, &str)] = &[
        ("signal_id", json!(7), "expected a string, found a number"),
        (
            "source_module",
            json!(true),
            "expected a string, found a boolean",
        ),
        (
            "source_version",
            json!([1]),
            "expected a string, found an array",
        ),
        (
            "ticker",
            json!({"a": 1}),
            "expected a string, found an object",
        ),
        ("direction", json!(1), "expected a string, found a number"),
        (
            "conviction",
            json!("0.5"),
            "expected a number, found a string",
        ),
        (
            "signal_type",
            json!(false),
            "expected a string, found a boolean",
        ),
        ("timeframe", json!(60), "expected a string, found a number"),
        (
            "price",
            json!("187.25"),
            "expected a number, found a string",
        ),
        (
            "timestamp",
            json!(1_767_623_400),
            "expected an RFC 3339 timestamp string, found a number",
        ),
        (
            "expires_at",
            json!({}),
            "expected an RFC 3339 timestamp string, found an object",
        ),
        (
            "strategy_id",
            json!(1.5),
            "expected a string, found a number",
        ),
        (
            "correlation_id",
            json!([]),
            "expected a string, found an array",
        ),
        (
            "parent_signal_ids",
            json!("p1"),
            "expected an array of strings, found a string",
        ),
        (
            "parent_signal_ids",
            json!({"p": 1}),
            "expected an array of strings, found an object",
        ),
        (
            "parent_signal_ids",
            json!(["p1", 2, "p3"]),
            "[1] expected a string, found a number",
        ),
        (
            "parent_signal_ids",
            json!([null]),
            "[0] expected a string, found null",
        ),
        (
            "acted_upon",
            json!("yes"),
            "expected a boolean, found a string",
        ),
        ("acted_upon", json!(1), "expected a boolean, found a number"),
        (
            "execution_id",
            json!(false),
            "expected a string, found a boolean",
        ),
    ];
    for (field, value, problem) in cases {
        assert_eq!(
            field_err(field, Some(value.clone())),
            format!("field {field}: {problem}"),
            "{field} = {value}"
        );
    }
}

#[test]
fn out_of_range_values() {
    let long = |n: usize| json!("x".repeat(n));
    let cases: &[(&str, Value, &str)] = &[
        ("signal_id", long(65), "is 65 bytes, longer than 64"),
        (
            "signal_id",
            json!(""),
            "must not be empty (omit it to have the ledger assign one)",
        ),
        ("source_module", long(65), "is 65 bytes, longer than 64"),
        ("source_module", json!(""), "must not be empty"),
        (
            "source_module",
            json!("a\tb"),
            "contains control character U+0009",
        ),
        ("source_version", long(33), "is 33 bytes, longer than 32"),
        ("source_version", json!(""), "must not be empty"),
        ("ticker", json!(""), "must not be empty"),
        (
            "ticker",
            json!("ABCDEFGHIJKLMNOPQ"),
            "is 17 bytes, longer than 16",
        ),
        (
            "ticker",
            json!("aapl"),
            "character 'a' is not one of A-Z 0-9 . - /",
        ),
        (
            "ticker",
            json!("AA\u{1}PL"),
            "character '\\u{1}' is not one of A-Z 0-9 . - /",
        ),
        (
            "ticker",
            json!("AA\nPL"),
            "character '\\n' is not one of A-Z 0-9 . - /",
        ),
        (
            "ticker",
            json!("AAPL "),
            "character ' ' is not one of A-Z 0-9 . - /",
        ),
        (
            "direction",
            json!("up"),
            "\"up\" is not one of long, short, neutral",
        ),
        (
            "direction",
            json!("LONG"),
            "\"LONG\" is not one of long, short, neutral",
        ),
        (
            "direction",
            json!(""),
            "\"\" is not one of long, short, neutral",
        ),
        (
            "conviction",
            json!(1.5),
            "1.5 is not a finite number in 0..=1",
        ),
        (
            "conviction",
            json!(-0.1),
            "-0.1 is not a finite number in 0..=1",
        ),
        ("conviction", json!(2), "2 is not a finite number in 0..=1"),
        (
            "signal_type",
            json!("buy"),
            "\"buy\" is not one of entry, exit, scale_in, scale_out, alert",
        ),
        ("timeframe", long(17), "is 17 bytes, longer than 16"),
        ("timeframe", json!(""), "must not be empty"),
        (
            "timestamp",
            json!("2024-01-01 10:00:00"),
            "\"2024-01-01 10:00:00\" is not an RFC 3339 timestamp with a zone",
        ),
        (
            "timestamp",
            json!("2024-01-01T10:00:00"),
            "\"2024-01-01T10:00:00\" is not an RFC 3339 timestamp with a zone",
        ),
        (
            "timestamp",
            json!("10000-01-01T00:00:00Z"),
            "\"10000-01-01T00:00:00Z\" is outside the representable range 1677-09-21..2262-04-11",
        ),
        (
            "timestamp",
            json!("2024-01-01T10:00:00.1234567890Z"),
            "\"2024-01-01T10:00:00.1234567890Z\" has more than 9 fractional-second digits",
        ),
        (
            "expires_at",
            json!("2026-01-05T14:29:59.999Z"),
            "is before timestamp",
        ),
        (
            "expires_at",
            json!("tomorrow"),
            "\"tomorrow\" is not an RFC 3339 timestamp with a zone",
        ),
        ("strategy_id", long(65), "is 65 bytes, longer than 64"),
        ("correlation_id", long(65), "is 65 bytes, longer than 64"),
        ("execution_id", long(65), "is 65 bytes, longer than 64"),
        ("execution_id", json!(""), "must not be empty"),
        (
            "parent_signal_ids",
            json!(["a", "a"]),
            "[1] \"a\" is listed twice",
        ),
        (
            "parent_signal_ids",
            json!(["sig-1"]),
            "[0] names the signal itself",
        ),
        (
            "parent_signal_ids",
            json!(["a", ""]),
            "[1] must not be empty",
        ),
    ];
    for (field, value, problem) in cases {
        assert_eq!(
            field_err(field, Some(value.clone())),
            format!("field {field}: {problem}"),
            "{field} = {value}"
        );
    }
    let many: Vec<String> = (0..17).map(|i| format!("p{i}")).collect();
    assert_eq!(
        field_err("parent_signal_ids", Some(json!(many))),
        "field parent_signal_ids: has 17 entries, more than 16"
    );
    let sixteen: Vec<String> = (0..16).map(|i| format!("p{i}")).collect();
    assert_eq!(
        ok(&with("parent_signal_ids", Some(json!(sixteen))))
            .parent_signal_ids
            .len(),
        16
    );
    assert_eq!(ok(&with("conviction", Some(json!(0)))).conviction, 0.0);
    assert_eq!(ok(&with("price", Some(json!(-3)))).price, Some(-3.0));
    let exact = ok(&with("expires_at", Some(json!("2026-01-05T14:30:00Z"))));
    assert_eq!(exact.expires_at_ns, Some(exact.timestamp_ns));
}

#[test]
fn long_bad_values_are_quoted_briefly() {
    let e = field_err("direction", Some(json!("z".repeat(5000))));
    assert!(e.len() < 150, "{e}");
    let e = field_err("timestamp", Some(json!("z".repeat(5000))));
    assert!(e.len() < 150, "{e}");
}

#[test]
fn huge_numbers_and_nan() {
    let line = with_raw("conviction", "1e400");
    assert_eq!(
        err(&line),
        "field conviction: number is out of the 64-bit float range"
    );
    let line = with_raw("price", "-1e400");
    assert_eq!(
        err(&line),
        "field price: number is out of the 64-bit float range"
    );
    // Underflow is not an error: it is zero.
    let line = with_raw("conviction", "1e-400");
    assert_eq!(ok(&line).conviction, 0.0);
    // A big integer is a (rounded) float, then out of range.
    let line = with_raw("conviction", "123456789012345678901234567890");
    assert_eq!(
        err(&line),
        "field conviction: 123456789012345680000000000000 is not a finite number in 0..=1"
    );
    for lit in ["NaN", "Infinity", "-Infinity", "nan", ".5", "+0.5"] {
        let line = with_raw("conviction", lit);
        let e = parse_signal_line(&line).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("conviction"), "{lit}: {e}");
        assert!(e.problem.starts_with("invalid JSON: "), "{lit}: {e}");
    }
    // `0x1` is the number 0 followed by junk: the error is between fields.
    let e = parse_signal_line(&with_raw("conviction", "0x1")).unwrap_err();
    assert_eq!(e.field, None);
    assert!(
        e.problem.starts_with("invalid JSON: expected `,` or `}`"),
        "{e}"
    );
    let line = r#"{"conviction": NaN}"#;
    assert_eq!(
        err(line),
        "field conviction: invalid JSON: expected value at column 16"
    );
}

#[test]
fn ledger_fields_are_refused() {
    for field in LEDGER_FIELDS {
        for value in [json!(1), json!("x"), Value::Null] {
            assert_eq!(
                field_err(field, Some(value)),
                format!("field {field}: is set by the ledger and must not be supplied")
            );
        }
    }
}

#[test]
fn unknown_fields_are_refused() {
    assert_eq!(
        field_err("tickr", Some(json!("AAPL"))),
        "field tickr: unknown field"
    );
    assert_eq!(
        field_err("Ticker", Some(json!("AAPL"))),
        "field Ticker: unknown field"
    );
    assert_eq!(
        field_err("bad key\n", Some(json!(1))),
        "field \"bad key\\n\": unknown field"
    );
    assert_eq!(field_err("", Some(json!(1))), "field \"\": unknown field");
    let e = field_err(&"k".repeat(1000), Some(json!(1)));
    assert!(e.len() < 100, "{e}");
}

#[test]
fn duplicate_fields_are_refused() {
    let line = r#"{"ticker":"AAPL","source_module":"m","ticker":"MSFT"}"#;
    assert_eq!(err(line), "field ticker: duplicate field");
    let line = r#"{"payload_json":1,"payload_json":1}"#;
    assert_eq!(err(line), "field payload_json: duplicate field");
    let line = r#"{"price":null,"price":1}"#;
    assert_eq!(err(line), "field price: duplicate field");
    // An escaped key is the same key.
    let line = r#"{"ticker":"AAPL","tick\u0065r":"MSFT"}"#;
    assert_eq!(err(line), "field ticker: duplicate field");
}

#[test]
fn payload_is_stored_byte_exact() {
    let mut line = with("payload_json", None);
    line.pop(); // the closing brace
    let payload = r#"{"b": 1,  "a":[1,2], "s": "\u00e9\n", "n": 1.50}"#;
    let s = ok(&format!("{line}, \"payload_json\" :  {payload}  }}"));
    assert_eq!(s.payload_json, payload);
    for payload in ["\"text\"", "12.50", "[ ]", "true", "null", "{}", "-0"] {
        let s = ok(&format!("{line},\"payload_json\":{payload}}}"));
        assert_eq!(s.payload_json, payload);
    }
    let big = format!("\"{}\"", "x".repeat(65_535));
    assert_eq!(
        err(&format!("{line},\"payload_json\":{big}}}")),
        "field payload_json: is 65537 bytes, larger than 65536"
    );
    let e = parse_signal_line(&format!("{line},\"payload_json\":{{\"a\":}}}}")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("payload_json"));
    assert!(
        e.problem
            .starts_with("invalid JSON: expected value at column"),
        "{e}"
    );
}

#[test]
fn invalid_json_and_non_objects() {
    assert_eq!(
        err(""),
        "invalid JSON: EOF while parsing a value at column 0"
    );
    assert_eq!(
        err("   "),
        "invalid JSON: EOF while parsing a value at column 3"
    );
    assert_eq!(err("[1,2]"), "expected a JSON object, found an array");
    assert_eq!(err("\"x\""), "expected a JSON object, found a string");
    assert_eq!(err("42"), "expected a JSON object, found a number");
    assert_eq!(err("null"), "expected a JSON object, found null");
    assert_eq!(err("true"), "expected a JSON object, found a boolean");
    assert_eq!(
        err("{"),
        "invalid JSON: EOF while parsing an object at column 1"
    );
    assert_eq!(
        err(r#"{"ticker" "AAPL"}"#),
        "field ticker: invalid JSON: expected `:` at column 11"
    );
    assert_eq!(
        err(r#"{"ticker":"AAPL" "x":1}"#),
        "invalid JSON: expected `,` or `}` at column 18"
    );
    assert_eq!(
        err(r#"{"ticker":"AAPL",}"#),
        "invalid JSON: trailing comma at column 18"
    );
    let line = base().to_string();
    assert_eq!(
        err(&format!("{line} {{}}")),
        format!(
            "invalid JSON: trailing characters at column {}",
            line.len() + 2
        )
    );
    assert_eq!(
        err(&format!("{line}{line}")),
        format!(
            "invalid JSON: trailing characters at column {}",
            line.len() + 1
        )
    );
    // Surrounding whitespace is fine.
    ok(&format!(" \t{line}\r "));
    let e = parse_signal_line(r#"{"ticker":"AA"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "field ticker: invalid JSON: EOF while parsing a string at column 13"
    );
    let e = parse_signal_line(r#"{"ticker":"\ud800"}"#).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("ticker"));
    assert!(e.problem.starts_with("invalid JSON: "), "{e}");
}

#[test]
fn first_problem_wins() {
    // A type error comes before a later unknown field; validation comes last.
    let line = r#"{"conviction":"x","zzz":1}"#;
    assert_eq!(
        err(line),
        "field conviction: expected a number, found a string"
    );
    let line =
        with("conviction", Some(json!(5))).replace("\"ticker\":\"AAPL\"", "\"ticker\":\"aapl\"");
    assert_eq!(
        err(&line),
        "field ticker: character 'a' is not one of A-Z 0-9 . - /"
    );
}

#[test]
fn numbered_errors_display_the_line() {
    let e = parse_signal_line_numbered(12, &with("ticker", None)).unwrap_err();
    assert_eq!(e.to_string(), "line 12: field ticker: is required");
    assert_eq!(e.line, 12);
    assert_eq!(e.field.as_deref(), Some("ticker"));
    assert_eq!(e.problem, "is required");
    let e = parse_signal_line_numbered(3, "nope").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 3: invalid JSON: expected ident at column 2"
    );
    assert_eq!(e.field, None);
}
