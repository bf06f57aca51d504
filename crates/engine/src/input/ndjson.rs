//! A whole NDJSON input -> signals and per-line errors, parsed in parallel, in line order.

use rayon::prelude::*;

use super::line::parse_signal_line;
use super::{InputError, LineError, ERROR_INPUT_LEN_MAX};
use crate::record::ValidSignal;

/// Longest line accepted, in bytes (without its `\n` or `\r\n`).
pub const LINE_LEN_MAX: usize = 1024 * 1024;

/// Bytes of input handed to one parallel task (it is extended to the end of a line).
const PIECE_LEN: usize = 256 * 1024;

/// The UTF-8 byte order mark, accepted (and skipped) at the very start of the input only.
pub(super) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The outcome of [`parse_ndjson`]: every non-blank line is a signal or an error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedInput {
    /// Signals, validated, in line order (kept apart from their line numbers so they can be
    /// appended as they are, without a copy: `Ledger::append_valid`).
    pub signals: Vec<ValidSignal>,
    /// The 1-based line number of each signal: `lines[i]` is where `signals[i]` came from.
    pub lines: Vec<u64>,
    /// Lines that could not be turned into a signal, in line order.
    pub errors: Vec<InputError>,
}

/// Parses NDJSON: one JSON object per line, split on `\n`.
///
/// - One trailing `\r` per line is dropped, so CRLF files work.
/// - Lines that are empty or only JSON whitespace (space, tab, `\r`) are skipped (they still
///   count for line numbers).
/// - A UTF-8 byte order mark at the very start of the input is skipped; anywhere else it is
///   invalid JSON.
/// - A line longer than [`LINE_LEN_MAX`] bytes is refused without being parsed; a line that is
///   not valid UTF-8 is refused, naming the column of its first bad byte.
///
/// Lines are parsed in parallel on the rayon pool; results keep line order. Line numbers are
/// 1-based.
pub fn parse_ndjson(bytes: &[u8]) -> ParsedInput {
    parse_ndjson_with_progress(bytes, &|_| {})
}

/// [`parse_ndjson`], calling `progress` with the number of input bytes parsed so far, after
/// each window of pieces, for progress bars.
pub fn parse_ndjson_with_progress(bytes: &[u8], progress: &(dyn Fn(u64) + Sync)) -> ParsedInput {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut out = ParsedInput {
        // About 256 bytes a line or more: reserve once rather than regrow a large vector.
        signals: Vec::with_capacity(bytes.len() / 256 + 1),
        lines: Vec::with_capacity(bytes.len() / 256 + 1),
        errors: Vec::new(),
    };
    let mut lines_before = 0u64;
    parse_lines_into(&mut out, &mut lines_before, bytes, progress);
    out
}

/// Parses `bytes` (whole lines; the last may lack its `\n`) and appends the results to `out`,
/// numbering lines after the `lines_before` already parsed, which it advances.
pub(super) fn parse_lines_into(
    out: &mut ParsedInput,
    lines_before: &mut u64,
    bytes: &[u8],
    progress: &(dyn Fn(u64) + Sync),
) {
    let pieces = pieces(bytes);
    let mut parsed_bytes = 0u64;
    // Pieces are parsed a window at a time; each window is merged into the output while the
    // next one is parsed, so the per-piece buffers are reused instead of a second copy of every
    // signal being held until the end (fresh memory costs page faults).
    let window = rayon::current_num_threads().saturating_mul(8).max(8);
    let mut pending: Vec<Part> = Vec::new();
    for group in pieces.chunks(window) {
        let done = std::mem::take(&mut pending);
        let (parsed, ()) = rayon::join(
            || group.par_iter().map(|piece| parse_piece(piece)).collect(),
            || merge(out, lines_before, done),
        );
        pending = parsed;
        parsed_bytes += group.iter().map(|p| p.len() as u64).sum::<u64>();
        progress(parsed_bytes);
    }
    merge(out, lines_before, pending);
}

/// Appends parts (in order) to `out`, turning their line numbers into input line numbers.
fn merge(out: &mut ParsedInput, lines_before: &mut u64, parts: Vec<Part>) {
    for part in parts {
        let base = *lines_before;
        out.signals.extend(part.signals);
        out.lines
            .extend(part.lines_of_signals.into_iter().map(|line| base + line));
        out.errors.extend(part.errors.into_iter().map(|mut e| {
            e.line += base;
            e
        }));
        *lines_before += part.lines;
    }
}

/// What one piece produced, with line numbers relative to the piece's start (1-based).
struct Part {
    lines: u64,
    signals: Vec<ValidSignal>,
    lines_of_signals: Vec<u64>,
    errors: Vec<InputError>,
}

/// Index of the first `\n` in `b`, eight bytes at a time.
fn find_newline(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_le_bytes([b'\n'; 8]);
    let mut chunks = b.chunks_exact(8);
    let mut at = 0usize;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        // Bytes equal to '\n' become zero; the lowest flagged byte is the first zero byte.
        let x = u64::from_le_bytes(word) ^ NEWLINES;
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'\n')
        .map(|i| at + i)
}

/// Splits the input into runs of whole lines of about [`PIECE_LEN`] bytes.
fn pieces(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(bytes.len() / PIECE_LEN + 1);
    let mut rest = bytes;
    while !rest.is_empty() {
        let search_from = PIECE_LEN.min(rest.len());
        let end = rest
            .get(search_from..)
            .and_then(find_newline)
            .map_or(rest.len(), |i| search_from + i + 1);
        let (piece, tail) = rest.split_at(end.min(rest.len()));
        out.push(piece);
        rest = tail;
    }
    out
}

/// A bad line as text for its error: lossy UTF-8, without `\r`, cut to its first
/// [`ERROR_INPUT_LEN_MAX`] bytes.
pub(super) fn raw_text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line.get(..ERROR_INPUT_LEN_MAX).unwrap_or(line)).into_owned()
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// One line (without its `\n`) -> a signal, `None` for a blank line, or the problem.
fn parse_raw_line(line: &[u8]) -> Option<Result<ValidSignal, LineError>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if is_blank(line) {
        return None;
    }
    if line.len() > LINE_LEN_MAX {
        return Some(Err(LineError::whole(format!(
            "is {} bytes, longer than the {LINE_LEN_MAX}-byte limit",
            line.len()
        ))));
    }
    Some(match std::str::from_utf8(line) {
        Ok(text) => parse_signal_line(text),
        // Located like a JSON syntax error: the 1-based byte column of the first bad byte.
        Err(e) => Err(LineError::whole(format!(
            "is not valid UTF-8 at column {} (byte 0x{:02X})",
            e.valid_up_to() + 1,
            line.get(e.valid_up_to()).copied().unwrap_or_default()
        ))),
    })
}

/// One line of an NDJSON stream read a line at a time (`ingest --follow`): the line as read,
/// without its `\n`, numbered `line_no` from 1. Same rules as [`parse_ndjson`] (a BOM on line
/// 1, one trailing `\r`, blank lines skipped as None, the length limit, the error's input text).
pub fn parse_ndjson_line(line_no: u64, line: &[u8]) -> Option<Result<ValidSignal, InputError>> {
    let line = match line_no {
        1 => line.strip_prefix(BOM).unwrap_or(line),
        _ => line,
    };
    Some(match parse_raw_line(line)? {
        Ok(signal) => Ok(signal),
        Err(e) => {
            let mut error = e.at_line(line_no);
            error.input = raw_text(line);
            Err(error)
        }
    })
}

fn parse_piece(piece: &[u8]) -> Part {
    let mut part = Part {
        lines: 0,
        signals: Vec::with_capacity(piece.len() / 256 + 1),
        lines_of_signals: Vec::with_capacity(piece.len() / 256 + 1),
        errors: Vec::new(),
    };
    let mut rest = piece;
    while !rest.is_empty() {
        let (line, tail) = match find_newline(rest) {
            Some(i) => {
                let (line, tail) = rest.split_at(i);
                (line, tail.get(1..).unwrap_or_default())
            }
            None => (rest, &[][..]),
        };
        rest = tail;
        part.lines += 1;
        match parse_raw_line(line) {
            None => {}
            Some(Ok(signal)) => {
                part.signals.push(signal);
                part.lines_of_signals.push(part.lines);
            }
            Some(Err(e)) => {
                let mut error = e.at_line(part.lines);
                error.input = raw_text(line);
                part.errors.push(error);
            }
        }
    }
    part
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A valid line of about 350 bytes; `i` varies the ids, price and time.
    fn line(i: u64) -> String {
        format!(
            concat!(
                r#"{{"signal_id":"sig-{i:08}","source_module":"momentum","source_version":"2.4.1","#,
                r#""ticker":"AAPL","direction":"long","conviction":0.{c},"signal_type":"entry","timeframe":"5m","#,
                r#""price":187.{c},"timestamp":"2026-01-05T14:{m:02}:{s:02}.{ms:03}Z","strategy_id":"strat-a","#,
                r#""parent_signal_ids":["sig-{p:08}"],"acted_upon":false,"#,
                r#""payload_json":{{"rsi":61.2,"volume_ratio":1.8}}}}"#
            ),
            i = i,
            p = i + 1_000_000_000,
            c = i % 100,
            m = i / 60 % 60,
            s = i % 60,
            ms = i % 1000,
        )
    }

    fn errors(p: &ParsedInput) -> Vec<String> {
        p.errors.iter().map(ToString::to_string).collect()
    }

    fn lines_of(p: &ParsedInput) -> Vec<u64> {
        p.lines.clone()
    }

    #[test]
    fn one_line_at_a_time_follows_the_whole_input_rules() {
        let good = line(7);
        let whole = parse_ndjson(format!("{good}\n").as_bytes());
        let one = parse_ndjson_line(1, format!("\u{feff}{good}\r").as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(whole.signals, vec![one]);
        assert!(parse_ndjson_line(3, b" \t\r").is_none());
        let bad = parse_ndjson_line(4, br#"{"ticker":"aapl"}"#)
            .unwrap()
            .unwrap_err();
        assert_eq!(bad.line, 4);
        assert_eq!(bad.input, r#"{"ticker":"aapl"}"#);
    }

    #[test]
    fn empty_and_blank_input() {
        assert_eq!(parse_ndjson(b""), ParsedInput::default());
        assert_eq!(parse_ndjson(BOM), ParsedInput::default());
        assert_eq!(parse_ndjson(b"\n\n \t\r\n\r\n"), ParsedInput::default());
    }

    #[test]
    fn lines_are_numbered_from_one_and_blank_lines_count() {
        let input = format!("{}\n\n  \n{}\n\t\n{}", line(1), line(2), line(3));
        let p = parse_ndjson(input.as_bytes());
        assert!(p.errors.is_empty(), "{:?}", errors(&p));
        assert_eq!(lines_of(&p), vec![1, 4, 6]);
        assert_eq!(p.signals[1].signal_id, "sig-00000002");
    }

    #[test]
    fn crlf_works() {
        let input = format!("{}\r\n{}\r\n\r\n{}\r\n", line(1), line(2), line(3));
        let p = parse_ndjson(input.as_bytes());
        assert!(p.errors.is_empty(), "{:?}", errors(&p));
        assert_eq!(lines_of(&p), vec![1, 2, 4]);
        let lf = parse_ndjson(input.replace("\r\n", "\n").as_bytes());
        assert_eq!(p, lf);
    }

    #[test]
    fn bom_is_skipped_at_the_start_only() {
        let input = format!("\u{feff}{}\n\u{feff}{}\n", line(1), line(2));
        let p = parse_ndjson(input.as_bytes());
        assert_eq!(lines_of(&p), vec![1]);
        assert_eq!(
            errors(&p),
            vec!["line 2: invalid JSON: expected value at column 1"]
        );
    }

    #[test]
    fn invalid_utf8_is_refused_per_line() {
        let mut input = format!("{}\n", line(1)).into_bytes();
        let mut bad = line(2).into_bytes();
        bad[40] = 0xff;
        input.extend_from_slice(&bad);
        input.extend_from_slice(format!("\n{}", line(3)).as_bytes());
        let p = parse_ndjson(&input);
        assert_eq!(lines_of(&p), vec![1, 3]);
        assert_eq!(
            errors(&p),
            vec!["line 2: is not valid UTF-8 at column 41 (byte 0xFF)"]
        );
        // A sequence cut short at the end of the line is located at its first byte.
        let p = parse_ndjson(b"{\"ticker\":\"A\xc3");
        assert_eq!(
            errors(&p),
            vec!["line 1: is not valid UTF-8 at column 13 (byte 0xC3)"]
        );
    }

    #[test]
    fn long_lines_are_refused_unparsed() {
        let base = line(1);
        let fits = format!("{base}{}", " ".repeat(LINE_LEN_MAX - base.len()));
        assert_eq!(fits.len(), LINE_LEN_MAX);
        let too_long = format!("{fits} ");
        let input = format!("{fits}\r\n{too_long}\n{}\n", line(3));
        let p = parse_ndjson(input.as_bytes());
        assert_eq!(lines_of(&p), vec![1, 3]);
        assert_eq!(
            errors(&p),
            vec!["line 2: is 1048577 bytes, longer than the 1048576-byte limit"]
        );
        // Even invalid UTF-8 is not looked at.
        let mut junk = vec![0xffu8; LINE_LEN_MAX + 10];
        junk.push(b'\n');
        let p = parse_ndjson(&junk);
        assert_eq!(
            errors(&p),
            vec!["line 1: is 1048586 bytes, longer than the 1048576-byte limit"]
        );
    }

    #[test]
    fn errors_and_signals_keep_order_across_pieces() {
        // ~3.5 MB: many pieces. Every 97th line is bad, every 89th blank.
        let n = 10_000u64;
        let mut input = String::new();
        let mut want_ok = Vec::new();
        let mut want_err = Vec::new();
        for i in 1..=n {
            if i % 89 == 0 {
                input.push_str("   ");
            } else if i % 97 == 0 {
                input.push_str(&line(i).replace("\"long\"", "\"up\""));
                want_err.push(format!(
                    "line {i}: field direction: \"up\" is not one of long, short, neutral"
                ));
            } else {
                input.push_str(&line(i));
                want_ok.push(i);
            }
            input.push('\n');
        }
        assert!(input.len() > 4 * PIECE_LEN);
        let p = parse_ndjson(input.as_bytes());
        assert_eq!(lines_of(&p), want_ok);
        assert_eq!(errors(&p), want_err);
        for (n, s) in p.lines.iter().zip(&p.signals) {
            assert_eq!(s.signal_id, format!("sig-{n:08}"));
        }
        // Same answer line by line.
        for (n, s) in p.lines.iter().zip(&p.signals).take(50) {
            let text = input.lines().nth(usize::try_from(*n).unwrap() - 1).unwrap();
            assert_eq!(&super::super::parse_signal_line(text).unwrap(), s.signal());
        }
    }

    #[test]
    fn find_newline_agrees_with_a_plain_search() {
        let mut buf = vec![b'a'; 40];
        assert_eq!(find_newline(&buf), None);
        assert_eq!(find_newline(b""), None);
        for at in 0..40 {
            buf[at] = b'\n';
            for start in 0..=at {
                assert_eq!(find_newline(&buf[start..]), Some(at - start));
            }
            buf[at] = 0x8a; // '\n' | 0x80: must not match
            assert_eq!(find_newline(&buf), None);
            buf[at] = 0x0b;
            assert_eq!(find_newline(&buf), None);
            buf[at] = b'a';
        }
        let two = b"0123456789\n\n\n";
        assert_eq!(find_newline(two), Some(10));
        let bytes: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        for start in 0..300 {
            let want = bytes[start..].iter().position(|&c| c == b'\n');
            assert_eq!(find_newline(&bytes[start..]), want);
        }
    }

    #[test]
    fn pieces_cover_the_input_on_line_boundaries() {
        let input = format!("{}\n", line(0)).repeat(3000);
        let ps = pieces(input.as_bytes());
        assert!(ps.len() > 1);
        assert_eq!(ps.iter().map(|p| p.len()).sum::<usize>(), input.len());
        for p in &ps {
            assert_eq!(p.last(), Some(&b'\n'));
        }
        assert!(pieces(b"").is_empty());
        assert_eq!(pieces(b"x"), vec![&b"x"[..]]);
    }

    #[test]
    fn last_line_without_newline() {
        let input = format!("{}\n{}", line(1), line(2));
        let p = parse_ndjson(input.as_bytes());
        assert_eq!(lines_of(&p), vec![1, 2]);
        let p = parse_ndjson(format!("{}\n{{", line(1)).as_bytes());
        assert_eq!(
            errors(&p),
            vec!["line 2: invalid JSON: EOF while parsing an object at column 1"]
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let p = parse_ndjson(&bytes);
            let lines = p.signals.len() + p.errors.len();
            proptest::prop_assert!(lines <= bytes.split(|&b| b == b'\n').count());
        }

        #[test]
        fn never_panics_on_mangled_lines(cut in 0usize..400, junk in "[\\{}\\[\\]\",:0-9a-z\\\\ .eE+-]{0,8}") {
            let good = line(3);
            let cut = cut.min(good.len());
            let mangled = format!("{}{junk}{}", &good[..cut], &good[cut..]);
            let p = parse_ndjson(mangled.as_bytes());
            proptest::prop_assert_eq!(p.signals.len() + p.errors.len(), 1);
        }
    }
}
