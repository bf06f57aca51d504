#!/usr/bin/env python3
"""Independent verifier of a signal-ledger directory, format versions 1 and 2.

Written from docs/FORMAT.md alone (no engine code), with the Python 3 standard library only, so
that an auditor can check a ledger without trusting the software that wrote it. It follows the
"Verifying a ledger" algorithm of docs/PROCEDURES.md, which applies FORMAT.md's rules in order:
segment names and headers (format versions 1..=2, never decreasing from one segment to the
next), how segments join, every frame's length and CRC32, the entry kinds each segment's
version allows, every signal and outcome entry's layout rules, every seq, prev_hash and row
hash, every outcome's link to its signal, every trailer (its timestamp range over signal entries
only); the check log `checks.log` (its header, its own hash chain, the layouts of its integrity
checks and retention anchors, a torn tail told from damage as in the active segment); where a ledger pruned by retention starts (the unbroken run
of retention anchors from seq 0 to the first held segment); and, with --against, a head digest
(its seq, row_hash and timestamp; a digest of a seq removed by retention cannot be checked, and
is refused naming the anchor of the segment that held it).

usage: python3 verify_ledger.py LEDGER_DIR [--against DIGEST_JSON] [--strict]

Prints `intact: N entries, head seq S row_hash H` (N held entries; S is N - 1 unless retention
removed the first seqs) as its last line and exits 0, or prints
`TAMPERED: <file> byte <offset> seq <seq>: <what>` and exits 1 (the failure with the lowest seq,
as a sequential pass finds them: an outcome's link is checked when the outcome is reached, since
its signal always comes before it). Damage in the check log is reported only when the segments
are intact, as `TAMPERED: checks.log byte <offset> seq <check-log seq, or - for its header>:
check log: <what>`. Before the `intact:` line, a ledger with a check log gets a `check log:`
line (its entries), and a pruned ledger a `retention:` line (what was removed and the anchors
it starts from). A torn tail in the active segment or in the check log (FORMAT.md, "Recovery",
"Check log") is not part of the ledger: it is reported on a `note:` line and does not
fail verification unless --strict is given. Exit status 2 means the arguments or the directory
could not be used at all.
"""

import datetime
import hashlib
import json
import math
import os
import re
import struct
import sys
import zlib

# FORMAT.md, "Segment header".
HEADER_LEN = 80
SEGMENT_MAGIC = b"\x89SLG\r\n\x1a\n"
# The format versions this verifier reads; a ledger's segments never go down in version.
FORMAT_VERSION_MIN = 1
FORMAT_VERSION_MAX = 2
# FORMAT.md, "Record frame".
FRAME_HEADER_LEN = 8
BODY_LEN_MIN = 80
BODY_LEN_MAX = 1 << 20
SENTINEL = 0xFFFFFFFF
# FORMAT.md, "Segment trailer".
TRAILER_LEN = 96
TRAILER_MAGIC = b"SLGSEAL\n"
# FORMAT.md, "Row hash".
DOMAIN_TAG = b"signal-ledger/row/v1\x00"
GENESIS = bytes(32)
# FORMAT.md, "Entry body": the kinds, and which a segment of each format version may hold.
KIND_SIGNAL = 0x01
KIND_OUTCOME = 0x02
KIND_NAMES = {KIND_SIGNAL: "signal", KIND_OUTCOME: "outcome"}
RESERVED_KINDS = {0x03: "integrity check", 0x04: "retention anchor", 0x05: "recovery event"}
KINDS_ALLOWED = {1: {KIND_SIGNAL}, 2: {KIND_SIGNAL, KIND_OUTCOME}}
# FORMAT.md, "Signal entry".
SIGNAL_FIXED_LEN = 64
PARENT_COUNT_MAX = 16
PAYLOAD_LEN_MAX = 65536
# (name, min bytes, max bytes) of the eight strings, in stored order.
SIGNAL_STRINGS = (
    ("signal_id", 1, 64),
    ("source_module", 1, 64),
    ("source_version", 0, 32),
    ("ticker", 1, 16),
    ("timeframe", 0, 16),
    ("strategy_id", 0, 64),
    ("correlation_id", 0, 64),
    ("execution_id", 0, 64),
)
# FORMAT.md, "Outcome entry".
OUTCOME_FIXED_LEN = 40
ID_LEN_MAX = 64
REASON_LEN_MAX = 1024
# FORMAT.md, "Check log".
CHECK_LOG_FILE = "checks.log"
CHECK_LOG_MAGIC = b"\x89SLC\r\n\x1a\n"
CHECK_LOG_VERSION = 2
KIND_CHECK = 0x03
KIND_ANCHOR = 0x04
CHECK_LOG_KINDS = {KIND_CHECK: "integrity check", KIND_ANCHOR: "retention anchor"}
CHECK_MODES = {0: "full", 1: "incremental", 2: "range"}
# An integrity check's content up to and including the errors_json length, then errors_json.
CHECK_FIXED_LEN = 100
ERRORS_JSON_LEN_MAX = 65536
# A retention anchor's content (everything before the two hashes).
ANCHOR_CONTENT_LEN = 168
SEGMENT_NAME = re.compile(r"[0-9]{20}\.seg")
I64_MAX = (1 << 63) - 1
I64_MIN = -(1 << 63)


class Tampered(Exception):
    """Damage at a location: file name, byte offset, seq (or None), what is wrong."""

    def __init__(self, file, offset, seq, what):
        super().__init__(what)
        self.file, self.offset, self.seq, self.what = file, offset, seq, what

    def line(self):
        seq = "-" if self.seq is None else str(self.seq)
        return f"TAMPERED: {self.file} byte {self.offset} seq {seq}: {self.what}"


class UsageError(Exception):
    pass


def crc32(data):
    # CRC-32/ISO-HDLC, as zlib computes it (FORMAT.md, "CRC32").
    return zlib.crc32(data) & 0xFFFFFFFF


def u16(b, at):
    return struct.unpack_from("<H", b, at)[0]


def u32(b, at):
    return struct.unpack_from("<I", b, at)[0]


def u64(b, at):
    return struct.unpack_from("<Q", b, at)[0]


def i64(b, at):
    return struct.unpack_from("<q", b, at)[0]


def f64(b, at):
    return struct.unpack_from("<d", b, at)[0]


def segment_name(seq):
    return f"{seq:020d}.seg"


# ----------------------------------------------------------------------------------------------
# Header and trailer (FORMAT.md, "Segment header", "Segment trailer").
# ----------------------------------------------------------------------------------------------

def check_header(name, data, expected_seq, expected_prev, prev_version):
    """Checks the header of the segment `name` that must start at `expected_seq`, chained to
    `expected_prev`, after a segment of format version `prev_version` (None for the first)."""
    def bad(what):
        return Tampered(name, 0, expected_seq, f"segment header: {what}")

    if len(data) < HEADER_LEN:
        raise bad(f"file of {len(data)} bytes is shorter than the {HEADER_LEN}-byte header")
    if data[0:8] != SEGMENT_MAGIC:
        raise bad("bad magic")
    # The version (bytes 8..10, fixed in every format version) is checked before the CRC, whose
    # place may differ in another version.
    version = u16(data, 8)
    if not FORMAT_VERSION_MIN <= version <= FORMAT_VERSION_MAX:
        raise bad(f"format version {version} is not supported (this verifier reads "
                  f"{FORMAT_VERSION_MIN}..={FORMAT_VERSION_MAX})")
    if u32(data, 76) != crc32(data[0:76]):
        raise bad(f"header crc mismatch (stored {u32(data, 76):08x}, computed {crc32(data[0:76]):08x})")
    if any(data[10:16]) or any(data[64:76]):
        raise bad("reserved bytes are not zero")
    first_seq = u64(data, 16)
    if first_seq != expected_seq:
        raise bad(f"first_seq {first_seq}, but the file name and the segment before say {expected_seq}")
    # FORMAT.md, "Segment header": a version never lower than the previous segment's.
    if prev_version is not None and version < prev_version:
        raise bad(f"format version {version} follows a segment of format version {prev_version}: "
                  f"versions never decrease along the ledger")
    prev_hash = bytes(data[32:64])
    if prev_hash != expected_prev:
        raise bad(f"prev_hash {prev_hash.hex()} is not the previous segment's last row_hash "
                  f"{expected_prev.hex()}")
    return {"format_version": version, "first_seq": first_seq, "created_at_ns": i64(data, 24),
            "prev_hash": prev_hash}


def decode_trailer(t):
    """The trailer in the 96 bytes `t`, or a string saying why they are not one."""
    if len(t) < TRAILER_LEN:
        return "short trailer"
    if t[88:96] != TRAILER_MAGIC:
        return "no trailer magic"
    if u32(t, 0) != SENTINEL:
        return "no trailer sentinel"
    if u32(t, 80) != crc32(t[0:80]):
        return "trailer crc mismatch"
    if any(t[4:8]) or any(t[84:88]):
        return "trailer reserved bytes are not zero"
    tr = {
        "record_count": u64(t, 8),
        "first_seq": u64(t, 16),
        "last_seq": u64(t, 24),
        "min_timestamp_ns": i64(t, 32),
        "max_timestamp_ns": i64(t, 40),
        "last_row_hash": bytes(t[48:80]),
    }
    if tr["record_count"] == 0 or tr["last_seq"] < tr["first_seq"] or \
            tr["last_seq"] - tr["first_seq"] + 1 != tr["record_count"]:
        return "trailer record count disagrees with its seq range"
    return tr


def sealed_trailer(data, header):
    """The trailer if the segment is sealed (FORMAT.md, "Segment trailer", last paragraph)."""
    if len(data) < HEADER_LEN + TRAILER_LEN or data[-8:] != TRAILER_MAGIC:
        return None
    tr = decode_trailer(data[-TRAILER_LEN:])
    if isinstance(tr, str) or tr["first_seq"] != header["first_seq"]:
        return None
    return tr


# ----------------------------------------------------------------------------------------------
# Frames (FORMAT.md, "Record frame" and "Walking the frames of the active segment").
# ----------------------------------------------------------------------------------------------

def frame_at(data, o, end):
    """What lies at offset `o` of data[:end]: ("end",), ("trailer",), ("incomplete", why),
    ("bad", why) or ("valid", body, next)."""
    if o == end:
        return ("end",)
    if end - o < FRAME_HEADER_LEN:
        if end - o >= 4 and u32(data, o) == SENTINEL:
            return ("trailer",)
        return ("incomplete", "partial frame header")
    length = u32(data, o)
    if length == SENTINEL:
        return ("trailer",)
    if length < BODY_LEN_MIN or length > BODY_LEN_MAX:
        return ("bad", f"frame length {length} out of range {BODY_LEN_MIN}..={BODY_LEN_MAX}")
    start = o + FRAME_HEADER_LEN
    if start + length > end:
        return ("incomplete", f"frame length {length} runs past the end")
    body = data[start:start + length]
    stored = u32(data, o + 4)
    actual = crc32(body)
    if actual != stored:
        return ("bad", f"crc mismatch (stored {stored:08x}, computed {actual:08x})")
    return ("valid", body, start + length)


def valid_frame_after(data, o, min_seq):
    """Offset of a valid frame starting after `o` (FORMAT.md: length in range, body in the file,
    kind 1..=5, seq >= min_seq, CRC matching), or None."""
    size = len(data)
    for a in range(o + 1, size - FRAME_HEADER_LEN + 1):
        length = u32(data, a)
        if length < BODY_LEN_MIN or length > BODY_LEN_MAX:
            continue
        start = a + FRAME_HEADER_LEN
        if start + length > size:
            continue
        if not 1 <= data[start] <= 5 or u64(data, start + 8) < min_seq:
            continue
        if crc32(data[start:start + length]) == u32(data, a + 4):
            return a
    return None


# ----------------------------------------------------------------------------------------------
# Entries (FORMAT.md, "Entry body", "Signal entry", "Outcome entry", "Row hash").
# ----------------------------------------------------------------------------------------------

class Layout(Exception):
    """A broken (R) layout rule of an entry body."""


class Reader:
    """Reads the variable part of a body's content `body[:content_end]` from `at` on; nothing
    may run past content_end."""

    def __init__(self, body, at):
        self.body, self.at, self.end = body, at, len(body) - 64

    def take(self, length, name):
        if self.at + length > self.end:
            raise Layout(f"{name} runs past the end of the body")
        out = bytes(self.body[self.at:self.at + length])
        self.at += length
        return out

    def utf8(self, raw, name):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Layout(f"{name} is not UTF-8") from None

    def string(self, name, lo, hi):
        """A string: u8 byte length in lo..=hi, then that many bytes of UTF-8."""
        length = self.take(1, name)[0]
        if not lo <= length <= hi:
            raise Layout(f"{name} length {length} outside {lo}..={hi}")
        return self.utf8(self.take(length, name), name)

    def finish(self, last):
        if self.at != self.end:
            raise Layout(f"{self.end - self.at} unexpected bytes after {last}")


def signal_layout_problem(body):
    """The first (R) rule of the signal layout (FORMAT.md, "Signal entry") that `body` breaks,
    or None."""
    n = len(body)
    if n - 64 < SIGNAL_FIXED_LEN:
        return f"body of {n} bytes is too short for a signal"
    if body[1] > 2:
        return f"direction code {body[1]}"
    if body[2] > 4:
        return f"signal_type code {body[2]}"
    flags = body[3]
    if flags & 0xF0:
        return f"unknown flag bits {flags:#04x}"
    if flags & 0x08 and not flags & 0x04:
        return "acted_upon value set without acted_upon present"
    if any(body[4:8]):
        return "reserved bytes are not zero"
    if not flags & 0x02 and i64(body, 32) != 0:
        return "expires_at bytes set while absent"
    if not flags & 0x01 and u64(body, 48) != 0:
        return "price bytes set while absent"
    if flags & 0x01 and not math.isfinite(f64(body, 48)):
        return f"price {f64(body, 48)} is not finite"
    conviction = f64(body, 40)
    if not 0.0 <= conviction <= 1.0:
        return f"conviction {conviction} outside 0..=1"
    # latency_ms: the exact ns difference rounded once to f64, then one IEEE division by 1e6.
    derived = float(i64(body, 24) - i64(body, 16)) / 1e6
    if bytes(body[56:64]) != struct.pack("<d", derived):
        return f"latency_ms {f64(body, 56)} is not (recorded_at - timestamp) / 1e6 = {derived}"
    r = Reader(body, SIGNAL_FIXED_LEN)
    try:
        for name, lo, hi in SIGNAL_STRINGS:
            r.string(name, lo, hi)
        parents = r.take(1, "parent count")[0]
        if parents > PARENT_COUNT_MAX:
            raise Layout(f"{parents} parents, more than {PARENT_COUNT_MAX}")
        for _ in range(parents):
            r.string("parent_signal_id", 1, ID_LEN_MAX)
        payload_len = struct.unpack("<I", r.take(4, "payload length"))[0]
        if payload_len > PAYLOAD_LEN_MAX:
            raise Layout(f"payload of {payload_len} bytes")
        r.utf8(r.take(payload_len, "payload_json"), "payload_json")
        r.finish("payload_json")
    except Layout as e:
        return str(e)
    return None


def outcome_layout(body):
    """(signal_seq, signal_id) of an outcome body, or raises Layout with the first (R) rule of
    the outcome layout (FORMAT.md, "Outcome entry") that it breaks."""
    n = len(body)
    if n - 64 < OUTCOME_FIXED_LEN:
        raise Layout(f"body of {n} bytes is too short for an outcome")
    if body[1] > 1:
        raise Layout(f"decision code {body[1]}")
    if any(body[2:8]):
        raise Layout("reserved bytes are not zero")
    seq, signal_seq = u64(body, 8), u64(body, 32)
    if signal_seq >= seq:
        raise Layout(f"signal_seq {signal_seq} is not before the outcome's seq {seq}")
    r = Reader(body, OUTCOME_FIXED_LEN)
    signal_id = r.string("signal_id", 1, ID_LEN_MAX)
    r.string("execution_id", 0, ID_LEN_MAX)
    reason_len = struct.unpack("<H", r.take(2, "reason length"))[0]
    if reason_len > REASON_LEN_MAX:
        raise Layout(f"reason of {reason_len} bytes, longer than {REASON_LEN_MAX}")
    r.utf8(r.take(reason_len, "reason"), "reason")
    r.finish("the reason")
    return signal_seq, signal_id


def signal_id_of(body):
    """The signal_id of a signal body whose layout was checked."""
    length = body[SIGNAL_FIXED_LEN]
    return bytes(body[SIGNAL_FIXED_LEN + 1:SIGNAL_FIXED_LEN + 1 + length]).decode("utf-8")


def row_hash(body):
    n = len(body)
    return hashlib.sha256(DOMAIN_TAG + bytes(body[n - 64:n - 32]) + bytes(body[:n - 64])).digest()


def failure_order(t):
    """Failures are reported lowest seq first (a sequential pass's order), then by file and byte."""
    return (t.seq if t.seq is not None else 1 << 64, t.file, t.offset)


class Walk:
    """The chain position while walking the ledger, and what has been seen."""

    def __init__(self, want_seq, start_seq=0, start_hash=GENESIS):
        # The start position: (0, genesis), or for a ledger pruned by retention the position
        # its retention anchors give (FORMAT.md, "Retention").
        self.start_seq = start_seq
        self.next_seq = start_seq
        self.last_hash = start_hash
        self.want_seq = want_seq
        self.wanted = None  # (file, offset, row_hash, recorded_at_ns) of seq want_seq
        # The signal_id of every entry walked, by seq - start_seq (None for an outcome), for
        # outcome links.
        self.signal_ids = []
        # The retention anchors the start position comes from (empty when it is seq 0).
        self.anchors_used = []
        # The first broken outcome link (PROCEDURES.md, "Verifying a ledger", step 4). The walk
        # goes on after it, so that damage at a lower seq (a trailer's) is still the one reported.
        self.link_failure = None

    def check_entry(self, name, offset, body, version):
        """Checks one CRC-valid entry of a segment of format `version` as the next one and
        advances; returns its timestamp_ns if it is a signal, else None."""
        seq = self.next_seq

        def bad(what):
            return Tampered(name, offset, seq, what)

        kind = body[0]
        if kind not in KINDS_ALLOWED[version]:
            if kind in RESERVED_KINDS:
                raise bad(f"entry kind {kind:#04x} ({RESERVED_KINDS[kind]}) is reserved: not "
                          f"allowed in a segment of format version {version}")
            if kind in KIND_NAMES:
                raise bad(f"entry kind {kind:#04x} ({KIND_NAMES[kind]}) is not allowed in a "
                          f"segment of format version {version}")
            raise bad(f"unknown entry kind {kind:#04x}")
        link = None
        if kind == KIND_OUTCOME:
            try:
                link = outcome_layout(body)
            except Layout as e:
                raise bad(f"malformed entry: {e}") from None
        else:
            problem = signal_layout_problem(body)
            if problem:
                raise bad(f"malformed entry: {problem}")
        stored_seq = u64(body, 8)
        if stored_seq != seq:
            raise bad(f"seq gap: expected seq {seq}, found {stored_seq}")
        n = len(body)
        prev = bytes(body[n - 64:n - 32])
        if prev != self.last_hash:
            raise bad(f"chain break: prev_hash {prev.hex()} is not the previous row_hash "
                      f"{self.last_hash.hex()}")
        stored = bytes(body[n - 32:])
        computed = row_hash(body)
        if computed != stored:
            raise bad(f"row hash mismatch: stored {stored.hex()}, computed {computed.hex()}")
        if link is not None and link[0] >= self.start_seq:
            # The entry at signal_seq (< seq, so already walked and intact) must be a signal
            # with the outcome's signal_id. A signal removed by retention (before start_seq) is
            # not held, and its link cannot be checked (PROCEDURES.md, "Verifying a ledger",
            # step 4).
            signal_seq, signal_id = link
            held = self.signal_ids[signal_seq - self.start_seq]
            problem = None
            if held is None:
                problem = (f"outcome names signal {signal_id!r} at seq {signal_seq}, which is not "
                           f"a signal entry")
            elif held != signal_id:
                problem = (f"outcome names signal {signal_id!r} at seq {signal_seq}, which holds "
                           f"signal {held!r}")
            if problem and self.link_failure is None:
                self.link_failure = bad(f"malformed entry: {problem}")
        if seq == self.want_seq:
            self.wanted = (name, offset, stored, i64(body, 24))
        self.signal_ids.append(None if kind == KIND_OUTCOME else signal_id_of(body))
        self.next_seq += 1
        self.last_hash = stored
        return i64(body, 16) if kind == KIND_SIGNAL else None


def timestamp_range(ts_min, ts_max, ts):
    """The range of signal timestamps extended by `ts` (None for an outcome, which does not
    count: FORMAT.md, "Segment trailer")."""
    if ts is None:
        return ts_min, ts_max
    return min(ts_min, ts), max(ts_max, ts)


def walk_sealed(walk, name, data, header, trailer):
    """The `record_count` frames of a sealed segment, which must tile its record area exactly
    (PROCEDURES.md, "Verifying a ledger", step 3.4)."""
    end = len(data) - TRAILER_LEN
    o = HEADER_LEN
    count, ts_min, ts_max = 0, I64_MAX, I64_MIN
    while count < trailer["record_count"]:
        f = frame_at(data, o, end)
        if f[0] == "valid":
            ts = walk.check_entry(name, o, f[1], header["format_version"])
            ts_min, ts_max = timestamp_range(ts_min, ts_max, ts)
            count += 1
            o = f[2]
        elif f[0] == "end":
            raise Tampered(name, o, walk.next_seq,
                           f"sealed segment: the record area ends after {count} of the "
                           f"{trailer['record_count']} entries the trailer counts")
        elif f[0] == "trailer":
            raise Tampered(name, o, walk.next_seq,
                           "trailer sentinel inside the record area of a sealed segment")
        elif f[0] == "incomplete":
            raise Tampered(name, o, walk.next_seq, f"sealed segment: {f[1]} of the record area "
                           f"(the frames must end exactly where the trailer starts, at byte {end})")
        else:
            raise Tampered(name, o, walk.next_seq, f"sealed segment: {f[1]}")
    if o != end:
        raise Tampered(name, o, walk.next_seq,
                       f"segment trailer mismatch: {end - o} bytes between the last entry the "
                       f"trailer counts and the trailer (the frames must tile the record area)")
    agrees = (trailer["record_count"] == count
              and trailer["last_seq"] + 1 == walk.next_seq
              and trailer["last_row_hash"] == walk.last_hash
              and trailer["min_timestamp_ns"] == ts_min
              and trailer["max_timestamp_ns"] == ts_max)
    if not agrees:
        raise Tampered(name, end, trailer["first_seq"],
                       f"segment trailer disagrees with the entries (trailer: {trailer['record_count']} "
                       f"entries, last seq {trailer['last_seq']}, last row_hash "
                       f"{trailer['last_row_hash'].hex()}, signal timestamps "
                       f"{trailer['min_timestamp_ns']}..={trailer['max_timestamp_ns']}; entries: "
                       f"{count}, last seq {walk.next_seq - 1}, last row_hash "
                       f"{walk.last_hash.hex()}, signal timestamps {ts_min}..={ts_max})")


def walk_active(walk, name, data, header):
    """The frames of the last, unsealed segment. Returns None, or (offset, bytes, reason) of a
    torn tail; raises Tampered for damage that is not a torn tail."""
    size = len(data)
    o = HEADER_LEN
    count, ts_min, ts_max, last_seq = 0, I64_MAX, I64_MIN, None
    while True:
        f = frame_at(data, o, size)
        if f[0] == "end":
            return None
        if f[0] == "valid":
            ts = walk.check_entry(name, o, f[1], header["format_version"])
            ts_min, ts_max = timestamp_range(ts_min, ts_max, ts)
            count += 1
            last_seq = walk.next_seq - 1
            o = f[2]
            continue
        if f[0] == "trailer":
            rest = data[o:]
            if len(rest) < TRAILER_LEN:
                return (o, size - o, "partial trailer")
            tr = decode_trailer(rest[:TRAILER_LEN])
            if isinstance(tr, str) and len(rest) == TRAILER_LEN:
                return (o, size - o, f"damaged trailer: {tr}")
            if isinstance(tr, str):
                raise Tampered(name, o, None, f"segment trailer: {tr}")
            if len(rest) > TRAILER_LEN:
                raise Tampered(name, o, None, "segment trailer: bytes follow the trailer")
            agrees = (tr["record_count"] == count and tr["first_seq"] == header["first_seq"]
                      and last_seq is not None and tr["last_seq"] == last_seq
                      and tr["last_row_hash"] == walk.last_hash
                      and tr["min_timestamp_ns"] == ts_min and tr["max_timestamp_ns"] == ts_max)
            if not agrees:
                raise Tampered(name, o, None, "segment trailer disagrees with the entries")
            return None
        # Incomplete or bad: a torn tail only if no valid frame follows.
        after = valid_frame_after(data, o, walk.next_seq)
        if after is not None:
            raise Tampered(name, o, walk.next_seq,
                           f"{f[1]}, followed by a valid frame at byte {after}: not a torn tail")
        return (o, size - o, f[1])


# ----------------------------------------------------------------------------------------------
# The check log (FORMAT.md, "Check log").
# ----------------------------------------------------------------------------------------------

class CheckLog:
    """The check log as read: its intact entries up to the first damage, a torn tail, damage."""

    def __init__(self, present):
        self.present = present
        self.entries = []  # dicts with "kind", "seq", "offset", "row_hash" and the fields
        self.torn = None  # (offset, bytes, reason)
        self.damage = None  # Tampered in checks.log

    def anchors(self):
        return [e for e in self.entries if e["kind"] == KIND_ANCHOR]

    def checks(self):
        return [e for e in self.entries if e["kind"] == KIND_CHECK]


def check_log_header_problem(data):
    """The first (R) rule the check log's 80-byte header breaks, or None (checked in a segment
    header's order: length, magic, version, CRC, reserved bytes)."""
    if len(data) < HEADER_LEN:
        return f"file of {len(data)} bytes is shorter than the {HEADER_LEN}-byte header"
    if data[0:8] != CHECK_LOG_MAGIC:
        return "bad magic"
    version = u16(data, 8)
    if version != CHECK_LOG_VERSION:
        return (f"format version {version} is not supported (a check log is of version "
                f"{CHECK_LOG_VERSION})")
    if u32(data, 76) != crc32(data[0:76]):
        return f"header crc mismatch (stored {u32(data, 76):08x}, computed {crc32(data[0:76]):08x})"
    if any(data[10:16]) or any(data[24:76]):
        return "reserved bytes are not zero"
    return None


def check_log_entry(body):
    """The fields of a check-log entry body whose (R) layout rules hold; raises Layout."""
    n = len(body)
    content_len = n - 64
    kind = body[0]
    if kind == KIND_CHECK:
        if content_len < CHECK_FIXED_LEN:
            raise Layout(f"body of {n} bytes is too short for an integrity check")
        if body[1] not in CHECK_MODES:
            raise Layout(f"mode code {body[1]}")
        if body[2] > 1:
            raise Layout(f"chain_valid {body[2]}")
        if any(body[3:8]):
            raise Layout("reserved bytes are not zero")
        errors_len = u32(body, 96)
        if errors_len > ERRORS_JSON_LEN_MAX:
            raise Layout(f"errors_json of {errors_len} bytes, longer than {ERRORS_JSON_LEN_MAX}")
        r = Reader(body, CHECK_FIXED_LEN)
        errors_json = r.utf8(r.take(errors_len, "errors_json"), "errors_json")
        r.finish("errors_json")
        return {
            "mode": CHECK_MODES[body[1]],
            "chain_valid": body[2] == 1,
            "checked_at_ns": i64(body, 16),
            "range_start": u64(body, 24),
            "range_end": u64(body, 32),
            "expected_count": u64(body, 40),
            "actual_count": u64(body, 48),
            "head_row_hash": bytes(body[56:88]),
            "duration_ns": u64(body, 88),
            "errors_json": errors_json,
        }
    # A retention anchor.
    if content_len != ANCHOR_CONTENT_LEN:
        raise Layout(f"a retention anchor body is {ANCHOR_CONTENT_LEN + 64} bytes, not {n}")
    if any(body[1:8]):
        raise Layout("reserved bytes are not zero")
    a = {
        "removed_at_ns": i64(body, 16),
        "first_seq": u64(body, 24),
        "last_seq": u64(body, 32),
        "record_count": u64(body, 40),
        "min_timestamp_ns": i64(body, 48),
        "max_timestamp_ns": i64(body, 56),
        "prev_hash": bytes(body[64:96]),
        "last_row_hash": bytes(body[96:128]),
        "file_sha256": bytes(body[128:160]),
        "file_len": u64(body, 160),
    }
    if a["record_count"] != a["last_seq"] - a["first_seq"] + 1:
        raise Layout(f"anchor of seqs {a['first_seq']}..={a['last_seq']} says "
                     f"{a['record_count']} entries")
    return a


def read_check_log(directory):
    """Reads and checks `checks.log` (an absent file is an empty log): the header, then the
    frames from byte 80 walked as in the active segment, with expected (seq, prev_hash) from
    (0, genesis). Damage is kept in the result (reported after any damage in the segments)."""
    path = os.path.join(directory, CHECK_LOG_FILE)
    if not os.path.exists(path):
        return CheckLog(False)
    with open(path, "rb") as f:
        data = memoryview(f.read())
    log = CheckLog(True)
    problem = check_log_header_problem(data)
    if problem:
        log.damage = Tampered(CHECK_LOG_FILE, 0, None, f"check log: header: {problem}")
        return log
    size = len(data)
    o = HEADER_LEN
    seq, last_hash = 0, GENESIS
    while True:
        f = frame_at(data, o, size)
        if f[0] == "end":
            return log
        if f[0] == "valid":
            body = f[1]
            try:
                fields = check_log_frame(body, seq, last_hash)
            except Layout as e:
                log.damage = Tampered(CHECK_LOG_FILE, o, seq, f"check log: {e}")
                return log
            n = len(body)
            last_hash = bytes(body[n - 32:])
            fields.update(kind=body[0], seq=seq, offset=o, row_hash=last_hash)
            log.entries.append(fields)
            seq += 1
            o = f[2]
            continue
        # A check log has no trailer: a trailer sentinel is a frame length out of range.
        why = f[1] if f[0] != "trailer" else (
            f"frame length {SENTINEL} out of range {BODY_LEN_MIN}..={BODY_LEN_MAX} (a check log "
            f"has no trailer)")
        after = valid_frame_after(data, o, seq)
        if after is not None:
            log.damage = Tampered(CHECK_LOG_FILE, o, seq, f"check log: {why}, followed by a valid "
                                  f"frame at byte {after}: not a torn tail")
        else:
            log.torn = (o, size - o, why)
        return log


def check_log_frame(body, seq, last_hash):
    """Checks a CRC-valid check-log frame's body as the entry with `seq` chained to `last_hash`:
    its kind, seq, prev_hash, row hash and layout. Returns its fields; raises Layout."""
    kind = body[0]
    if kind not in CHECK_LOG_KINDS:
        if kind in KIND_NAMES:
            raise Layout(f"entry kind {kind:#04x} ({KIND_NAMES[kind]}) is not allowed in the "
                         f"check log")
        if kind in RESERVED_KINDS:
            raise Layout(f"entry kind {kind:#04x} ({RESERVED_KINDS[kind]}) is not allowed in the "
                         f"check log")
        raise Layout(f"unknown entry kind {kind:#04x}")
    stored_seq = u64(body, 8)
    if stored_seq != seq:
        raise Layout(f"seq gap: expected check-log seq {seq}, found {stored_seq}")
    n = len(body)
    prev = bytes(body[n - 64:n - 32])
    if prev != last_hash:
        raise Layout(f"chain break: prev_hash {prev.hex()} is not the previous row_hash "
                     f"{last_hash.hex()}")
    stored = bytes(body[n - 32:])
    computed = row_hash(body)
    if computed != stored:
        raise Layout(f"row hash mismatch: stored {stored.hex()}, computed {computed.hex()}")
    try:
        return check_log_entry(body)
    except Layout as e:
        raise Layout(f"malformed {CHECK_LOG_KINDS[kind]}: {e}") from None


def anchored_start(log, first_held):
    """Where the held ledger starts when its first segment is named for `first_held` > 0
    (FORMAT.md, "Retention"): walking the anchors in check-log order, the first must start at
    seq 0 chained to genesis, each next one where the previous ended, chained to its last
    row_hash, until one ends at first_held - 1. Returns (True, seq, hash, anchors used), or
    (False, seq, None, anchors used) with the seq where the run of anchors stops."""
    next_seq, last_hash, used = 0, GENESIS, []
    for a in log.anchors():
        if a["first_seq"] != next_seq or a["prev_hash"] != last_hash:
            break
        next_seq, last_hash = a["last_seq"] + 1, a["last_row_hash"]
        used.append(a)
        if next_seq == first_held:
            return True, next_seq, last_hash, used
    return False, next_seq, None, used


# ----------------------------------------------------------------------------------------------
# The ledger (FORMAT.md, "Directory layout", "How segments join"; PROCEDURES.md, "Verifying a
# ledger").
# ----------------------------------------------------------------------------------------------

def verify_ledger(directory, want_seq=None):
    """Returns (walk, torn tail or None, check log); raises Tampered: damage in the segments
    (steps 1 to 4) first, then damage in the check log (step 5)."""
    if not os.path.isfile(os.path.join(directory, "ledger.toml")):
        raise UsageError(f"{directory} is not a signal-ledger directory (no ledger.toml)")
    # A segment name is 20 digits + ".seg" whose number fits in a u64 (FORMAT.md, "Segment files
    # and their names"); zero-padding makes the lexical order the numeric order.
    names = sorted(n for n in os.listdir(directory)
                   if SEGMENT_NAME.fullmatch(n) and int(n[:20]) < 1 << 64)
    log = read_check_log(directory)
    if not names:
        raise Tampered(segment_name(0), 0, 0, "missing segment starting at seq 0")
    first_held = int(names[0][:20])
    walk = Walk(want_seq)
    if first_held != 0:
        # PROCEDURES.md, "Verifying a ledger", step 2; FORMAT.md, "Retention": the check log's
        # anchors must run unbroken from seq 0 to the first held seq - 1.
        reached, seq, last_hash, used = anchored_start(log, first_held)
        if not reached:
            how = (f"the retention anchors in {CHECK_LOG_FILE} run unbroken from seq 0 to seq "
                   f"{seq - 1} only" if used else
                   f"no retention anchor in {CHECK_LOG_FILE} starts at seq 0 chained to genesis")
            if not log.present:
                how = f"there is no {CHECK_LOG_FILE} to hold retention anchors"
            damage = ""
            if log.damage is not None:
                damage = (f"; {CHECK_LOG_FILE} is damaged at byte {log.damage.offset} seq "
                          f"{'-' if log.damage.seq is None else log.damage.seq}: {log.damage.what}")
            raise Tampered(segment_name(seq), 0, seq,
                           f"missing segment starting at seq {seq}: the first segment held starts "
                           f"at seq {first_held}, and {how}{damage}")
        walk = Walk(want_seq, seq, last_hash)
        walk.anchors_used = used
    try:
        torn = walk_segments(directory, names, walk)
    except Tampered as t:
        # A broken outcome link found earlier, at a lower seq, comes first.
        if walk.link_failure is not None and failure_order(walk.link_failure) < failure_order(t):
            raise walk.link_failure from None
        raise
    if walk.link_failure is not None:
        raise walk.link_failure
    # PROCEDURES.md, "Verifying a ledger", step 5: after any damage in the segments.
    if log.damage is not None:
        raise log.damage
    return walk, torn, log


def walk_segments(directory, names, walk):
    """Walks the segments `names` in order (PROCEDURES.md, "Verifying a ledger", step 3); returns
    the torn tail of the last one, if any."""
    torn = None
    version = None
    for index, name in enumerate(names):
        is_last = index + 1 == len(names)
        number = int(name[:20])
        if number > walk.next_seq:
            raise Tampered(segment_name(walk.next_seq), 0, walk.next_seq,
                           f"missing segment starting at seq {walk.next_seq}")
        if number < walk.next_seq:
            raise Tampered(name, 0, walk.next_seq,
                           f"segment named for seq {number} overlaps entries up to seq "
                           f"{walk.next_seq - 1}")
        with open(os.path.join(directory, name), "rb") as f:
            data = memoryview(f.read())
        header = check_header(name, data, walk.next_seq, walk.last_hash, version)
        version = header["format_version"]
        trailer = sealed_trailer(data, header)
        if trailer is not None:
            walk_sealed(walk, name, data, header, trailer)
        elif not is_last:
            raise Tampered(name, max(len(data) - TRAILER_LEN, 0), walk.next_seq,
                           "segment trailer: a segment followed by another has no valid trailer "
                           "(it was never sealed, or its trailer is damaged)")
        else:
            torn = walk_active(walk, name, data, header)
            if torn is not None:
                torn = (name,) + torn
    return torn


# ----------------------------------------------------------------------------------------------
# Head digests (FORMAT.md, "Head digests"; PROCEDURES.md, "Head digests and verify --against").
# ----------------------------------------------------------------------------------------------

RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
                     r"([Zz]|[+-]\d{2}:\d{2})")


def parse_rfc3339_ns(text):
    m = RFC3339.fullmatch(text)
    if not m:
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp with a zone")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    if s == 60:
        raise ValueError(f"{text!r} has a leap second")
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"{text!r} is not a valid time of day")
    days = (datetime.date(y, mo, d) - datetime.date(1970, 1, 1)).days
    frac = m.group(7) or ""
    ns = int(frac.ljust(9, "0")) if frac else 0
    zone = m.group(8)
    offset = 0
    if zone not in ("Z", "z"):
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            raise ValueError(f"{text!r} has an invalid zone offset")
        offset = (oh * 3600 + om * 60) * (1 if zone[0] == "+" else -1)
    total = (days * 86400 + h * 3600 + mi * 60 + s - offset) * 1_000_000_000 + ns
    if not I64_MIN <= total <= I64_MAX:
        raise ValueError(f"{text!r} is outside 1677-09-21..2262-04-11")
    return total


def format_rfc3339_ns(ns):
    """`ns` since the epoch as RFC 3339 in UTC, with 0, 3, 6 or 9 fractional digits."""
    secs, frac = divmod(ns, 1_000_000_000)
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=secs)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        digits = f"{frac:09d}"
        for keep in (3, 6, 9):
            if digits[keep:].strip("0") == "":
                text += "." + digits[:keep]
                break
    return text + "Z"


def load_digest(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.loads(f.read().strip())
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: not a digest line ({e})") from None
    if not isinstance(doc, dict) or set(doc) != {"seq", "row_hash", "timestamp"}:
        raise UsageError(f"{path}: a digest has exactly the keys seq, row_hash, timestamp")
    seq, row, ts = doc["seq"], doc["row_hash"], doc["timestamp"]
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 1 << 64:
        raise UsageError(f"{path}: seq is not a u64")
    if not isinstance(row, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", row):
        raise UsageError(f"{path}: row_hash is not 64 hex characters")
    if not isinstance(ts, str):
        raise UsageError(f"{path}: timestamp is not a string")
    try:
        ts_ns = parse_rfc3339_ns(ts)
    except ValueError as e:
        raise UsageError(f"{path}: timestamp {e}") from None
    return seq, bytes.fromhex(row), ts_ns


# ----------------------------------------------------------------------------------------------

def main(argv):
    args = list(argv)
    against, strict = None, False
    if "--strict" in args:
        args.remove("--strict")
        strict = True
    if "--against" in args:
        i = args.index("--against")
        if i + 1 >= len(args):
            raise UsageError("--against needs a digest file")
        against = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1 or args[0].startswith("-"):
        raise UsageError("usage: python3 verify_ledger.py LEDGER_DIR [--against DIGEST_JSON] [--strict]")
    directory = args[0]
    digest = load_digest(against) if against else None
    try:
        walk, torn, log = verify_ledger(directory, digest[0] if digest else None)
        if torn is not None:
            name, offset, dropped, reason = torn
            note = (f"torn tail in {name} at byte {offset}: {reason}; {dropped} bytes are not part "
                    f"of the ledger (the writer truncates them on its next open)")
            if strict:
                raise Tampered(name, offset, walk.next_seq, note)
            print(f"note: {note}")
        if log.torn is not None:
            offset, dropped, reason = log.torn
            note = (f"torn tail in {CHECK_LOG_FILE} at byte {offset}: {reason}; {dropped} bytes "
                    f"are not part of the check log (the next append cuts them off)")
            if strict:
                raise Tampered(CHECK_LOG_FILE, offset, len(log.entries), note)
            print(f"note: {note}")
        if digest is not None:
            check_digest(directory, walk, log, digest)
    except Tampered as t:
        print(t.line())
        return 1
    if log.present:
        print(f"check log: intact, {plural(len(log.entries), 'entry', 'entries')} "
              f"({plural(len(log.checks()), 'integrity check', 'integrity checks')}, "
              f"{plural(len(log.anchors()), 'retention anchor', 'retention anchors')})")
    if walk.anchors_used:
        first, last = walk.anchors_used[0], walk.anchors_used[-1]
        print(f"retention: seqs 0..={walk.start_seq - 1} were removed; the ledger starts at seq "
              f"{walk.start_seq}, chained to {last['last_row_hash'].hex()}, from retention "
              f"anchors {first['seq']}..={last['seq']} in {CHECK_LOG_FILE}")
    count = walk.next_seq - walk.start_seq
    if count == 0:
        print("intact: 0 entries, no head")
    else:
        print(f"intact: {count} entries, head seq {walk.next_seq - 1} row_hash "
              f"{walk.last_hash.hex()}")
    if digest is not None:
        print(f"against {against}: seq {digest[0]} row_hash {digest[1].hex()} is held")
    return 0


def plural(n, one, many):
    return f"{n} {one if n == 1 else many}"


def check_digest(directory, walk, log, digest):
    """PROCEDURES.md, "Head digests and verify --against", on a verified ledger; raises
    Tampered."""
    seq, row, ts_ns = digest
    ledger = os.path.basename(os.path.normpath(directory))
    if seq < walk.start_seq:
        # PROCEDURES.md, "Retention", "Digests of removed entries": the entry is gone; name the
        # anchor of the removed segment that held it, and whether it records the digest's hash.
        a = next((a for a in log.anchors() if a["first_seq"] <= seq <= a["last_seq"]), None)
        if a is None:
            what = (f"the ledger no longer holds seq {seq} (it starts at seq {walk.start_seq}) and "
                    f"no retention anchor covers it")
        else:
            same = ""
            if a["last_seq"] == seq:
                if a["last_row_hash"] == row:
                    same = ("; the anchor records this same row_hash for it, and what remains "
                            "chains on from it")
                else:
                    same = (f"; the anchor records a DIFFERENT row_hash for it, "
                            f"{a['last_row_hash'].hex()}")
            removed_at = format_rfc3339_ns(a["removed_at_ns"])
            what = (f"seq {seq} was removed by retention at {removed_at} "
                    f"with segment {a['first_seq']}..={a['last_seq']} (retention anchor {a['seq']} "
                    f"at byte {a['offset']} of {CHECK_LOG_FILE}); the ledger now starts at seq "
                    f"{walk.start_seq}, so the digest cannot be checked against its entry{same}")
        raise Tampered(ledger, 0, seq, f"digest not checkable: {what}")
    if seq >= walk.next_seq:
        raise Tampered(ledger, 0, seq,
                       f"digest mismatch: the ledger ends before seq {seq} (its next seq is "
                       f"{walk.next_seq}): entries were removed")
    name, offset, stored, recorded_at = walk.wanted
    if stored != row:
        raise Tampered(name, offset, seq, f"digest mismatch: seq {seq} has row_hash "
                       f"{stored.hex()}, the digest says {row.hex()}")
    if ts_ns != recorded_at:
        raise Tampered(name, offset, seq, f"digest mismatch: seq {seq} has the digest's "
                       f"row_hash but recorded_at {recorded_at} ns, the digest's timestamp "
                       f"says {ts_ns} ns")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
