#!/usr/bin/env python3
"""Checks a signal-ledger compliance bundle with the Python standard library only.

usage: python3 verify_bundle.py BUNDLE_DIR [--manifest-sha256 HEX]

What is checked, what that proves and what it does not: docs/BUNDLES.md. Prints `OK: ...` and
exits 0 when every check passes; otherwise prints one line per problem (at most 30, then how many
more) and exits 1. Exit 2: the arguments or the directory could not be used at all.
"""

import csv
import hashlib
import json
import os
import re
import sys
from datetime import date

FORMAT = "signal-ledger-bundle/1"
DATA_FILES = ("signals.csv", "signals.ndjson", "outcomes.ndjson")
NUMBER_COLUMNS = {"conviction", "price", "latency_ms"}
LIST_FILTERS = {"source": "source_module", "ticker": "ticker", "direction": "direction",
                "type": "signal_type", "timeframe": "timeframe", "strategy": "strategy_id",
                "correlation": "correlation_id"}
RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)")


def ns(text):
    """An RFC 3339 time as integer nanoseconds since the epoch (exact, unlike datetime)."""
    y, mo, d, h, mi, s, frac, zone = RFC3339.fullmatch(text).groups()
    offset = 0 if zone in "Zz" else (int(zone[1:3]) * 60 + int(zone[4:6])) * int(zone[0] + "1")
    days = (date(int(y), int(mo), int(d)) - date(1970, 1, 1)).days
    secs = days * 86400 + int(h) * 3600 + int(mi) * 60 + int(s) - offset * 60
    return secs * 10**9 + int((frac or "").ljust(9, "0"))


def same_cell(column, text, value):
    """Whether a CSV field says what the NDJSON value of its column says (docs/BUNDLES.md)."""
    canonical = lambda v: json.dumps(v, sort_keys=True)  # noqa: E731 (keeps 1 and 1.0 apart)
    if isinstance(value, str) and text == value and column != "payload_json":
        return True  # most columns: the same text
    if column == "payload_json":  # the stored JSON text; NDJSON embeds it, null when empty
        return canonical(json.loads(text) if text.strip() else None) == canonical(value)
    if text == "" or value is None:  # an empty field is an absent value
        return text == "" and value is None
    if column == "parent_signal_ids":
        return canonical(json.loads(text)) == canonical(value)
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if column == "seq":
        return isinstance(value, int) and text == str(value)
    if column in NUMBER_COLUMNS:
        return isinstance(value, (int, float)) and float(text) == float(value)
    return isinstance(value, str) and text == value


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check(bundle, given_sha256, problems):
    """Appends each problem found to `problems`; returns the summary of a sound bundle."""
    raw = open(os.path.join(bundle, "manifest.json"), "rb").read()
    manifest_sha256 = hashlib.sha256(raw).hexdigest()
    if given_sha256 and manifest_sha256 != given_sha256.lower():
        problems.append(f"manifest.json: SHA-256 {manifest_sha256} is not {given_sha256.lower()}, "
                        f"the one recorded at export")
    m = json.loads(raw)
    if m.get("bundle_format") != FORMAT:
        problems.append(f"manifest.json: bundle_format is not {FORMAT!r}")
        return None
    listed = {f["name"]: f for f in m["files"]}
    if sorted(listed) != sorted(DATA_FILES):
        problems.append(f"manifest.json: files lists {sorted(listed)}, not {sorted(DATA_FILES)}")
    with open(os.path.join(bundle, "SHA256SUMS"), encoding="utf-8") as f:
        sums = {name: digest for digest, _, name in (line.rstrip("\n").partition("  ") for line in f)}
    for name in DATA_FILES:
        path, entry = os.path.join(bundle, name), listed.get(name, {})
        if not os.path.isfile(path):
            problems.append(f"{name}: missing")
            return None
        size, digest = os.path.getsize(path), sha256_of(path)
        if size != entry.get("bytes"):
            problems.append(f"{name}: {size} bytes, the manifest says {entry.get('bytes')}")
        if digest != entry.get("sha256"):
            problems.append(f"{name}: SHA-256 {digest}, the manifest says {entry.get('sha256')}")
        if sums.get(name) != digest:
            problems.append(f"SHA256SUMS: {name} has SHA-256 {sums.get(name)}, the file {digest}")

    def ndjson(name):
        with open(os.path.join(bundle, name), encoding="utf-8") as f:
            return [json.loads(line) for line in f]
    signals, outcomes = ndjson("signals.ndjson"), ndjson("outcomes.ndjson")
    with open(os.path.join(bundle, "signals.csv"), encoding="utf-8", newline="") as f:
        csv.field_size_limit(1 << 24)
        header, *rows = list(csv.reader(f)) or [[]]
    for name, count in (("signals.csv", len(rows)), ("signals.ndjson", len(signals)),
                        ("outcomes.ndjson", len(outcomes))):
        want = m["counts"]["outcomes" if name == "outcomes.ndjson" else "signals"]
        if count != want or count != listed.get(name, {}).get("records"):
            problems.append(f"{name}: {count} records, the manifest counts {want}")

    # Order, where the window starts and ends, and the chain wherever seqs are consecutive.
    first, last = m["first_seq"], m["last_seq"]
    for name, records in (("signals.ndjson", signals), ("outcomes.ndjson", outcomes)):
        problems += [f"{name}: seq {b['seq']} follows seq {a['seq']}: not in ascending seq order"
                     for a, b in zip(records, records[1:]) if not a["seq"] < b["seq"]]
    if signals:
        if (signals[0]["seq"], signals[-1]["seq"]) != (first, last):
            problems.append(f"signals.ndjson: seqs {signals[0]['seq']}..={signals[-1]['seq']}, "
                            f"the manifest says {first}..={last}")
        if signals[0]["prev_hash"] != m["prev_hash"]:
            problems.append(f"seq {signals[0]['seq']}: prev_hash {signals[0]['prev_hash']} is not the "
                            f"manifest's prev_hash {m['prev_hash']}, where the window starts")
        if signals[-1]["row_hash"] != m["last_row_hash"]:
            problems.append(f"seq {signals[-1]['seq']}: row_hash is not the manifest's last_row_hash")
    elif (first, last, m["prev_hash"], m["last_row_hash"]) != (None, None, None, None):
        problems.append("manifest.json: an empty bundle has null first_seq, last_seq, prev_hash, last_row_hash")
    entries = {r["seq"]: r for r in signals + outcomes}
    if len(entries) != len(signals) + len(outcomes):
        problems.append("seqs repeat among the signals and outcomes")
    links = [(s, entries[s - 1]) for s in sorted(entries) if s - 1 in entries]
    problems += [f"seq {s}: prev_hash does not link to the row_hash of seq {s - 1}"
                 for s, before in links if entries[s]["prev_hash"] != before["row_hash"]]

    # Each CSV row says what the NDJSON record at the same position says, column by column.
    differing, columns = [], set(header)
    for n, (row, rec) in enumerate(zip(rows, signals), 1):
        bad = []
        for column, text in zip(header, row):
            try:
                if not same_cell(column, text, rec[column]):
                    bad.append(column)
            except (ValueError, KeyError, RecursionError):
                bad.append(column)
        if bad or len(row) != len(header) or rec.keys() != columns:
            differing.append(f"signals.csv row {n} (seq {rec.get('seq')}): differs from signals.ndjson "
                             f"in {', '.join(bad) or 'its columns'}")
    problems += differing[:5]
    if len(differing) > 5:
        problems.append(f"signals.csv: {len(differing) - 5} more rows differ from signals.ndjson")

    # Outcomes are of exported signals; the latest one shows in acted_upon and execution_id.
    by_seq, latest = {s["seq"]: s for s in signals}, {}
    for o in outcomes:
        s = by_seq.get(o["signal_seq"])
        if s is None or s["signal_id"] != o["signal_id"] or not o["signal_seq"] < o["seq"]:
            problems.append(f"outcomes.ndjson: seq {o['seq']} is for signal seq {o['signal_seq']} "
                            f"({o['signal_id']}), which is not an exported signal before it")
        elif o["seq"] > latest.get(o["signal_seq"], {"seq": -1})["seq"]:
            latest[o["signal_seq"]] = o
    problems += [f"seq {s}: acted_upon/execution_id are not those of its latest outcome, seq {o['seq']}"
                 for s, o in latest.items()
                 if (by_seq[s]["acted_upon"], by_seq[s]["execution_id"]) != (o["acted_upon"], o["execution_id"])]

    # Every signal lies in the window and meets the filters.
    lo, hi, f = m["window"]["from"], m["window"]["to"], m["filters"]
    for s in signals:
        t, why = ns(s["timestamp"]), []
        if (lo and t < ns(lo)) or (hi and t >= ns(hi)):
            why.append(f"timestamp {s['timestamp']} is outside the window")
        why += [f"{col} {s[col]!r} is not one of --{flag} {f[flag]}"
                for flag, col in LIST_FILTERS.items() if flag in f and s[col] not in f[flag]]
        if not f.get("min-conviction", -1e308) <= s["conviction"] <= f.get("max-conviction", 1e308):
            why.append(f"conviction {s['conviction']} is outside --min-conviction/--max-conviction")
        if bool(s["acted_upon"]) != f.get("acted-upon", bool(s["acted_upon"])):
            why.append(f"acted_upon {s['acted_upon']} is not --acted-upon {f['acted-upon']}")
        if (s["execution_id"] is not None) != f.get("has-execution-id", s["execution_id"] is not None):
            why.append("execution_id does not meet --has-execution-id")
        problems += [f"seq {s['seq']}: {w}" for w in why]
    seqs = f" (seq {first}..={last})" if signals else ""
    return (f"signals {len(signals)}{seqs}, outcomes {len(outcomes)}, chain links checked "
            f"{len(links)}; manifest.json SHA-256 {manifest_sha256}"
            f"{' as recorded at export' if given_sha256 else ''}")


def main(args):
    given = None
    if "--manifest-sha256" in args:
        i = args.index("--manifest-sha256")
        given = (args[i + 1:i + 2] or [""])[0]
        args = args[:i] + args[i + 2:]
    if len(args) != 1 or not os.path.isdir(args[0]) or (given is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", given)):
        print("error: usage: python3 verify_bundle.py BUNDLE_DIR [--manifest-sha256 HEX]", file=sys.stderr)
        return 2
    problems = []
    try:
        summary = check(args[0], given, problems)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as e:
        problems.append(f"the bundle cannot be read as documented: {type(e).__name__}: {e}")
    for p in problems[:30]:
        print(p)
    if len(problems) > 30:
        print(f"... and {len(problems) - 30} more problems")
    if not problems:
        print(f"OK: {args[0]}: {summary}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
