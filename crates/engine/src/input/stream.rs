//! NDJSON from a reader (a file, stdin), a block at a time: the input is never held whole, so a
//! large ingest needs memory for its signals only.
//!
//! Each block is cut after its last line break and parsed like [`parse_ndjson`] input; the rest
//! of the line waits for the next block. Results and line numbers are the same as
//! [`parse_ndjson`] over the whole input.
//!
//! [`parse_ndjson`]: super::parse_ndjson

use std::io::{self, Read};

use super::ndjson::{parse_lines_into, raw_text, BOM};
use super::{InputError, ParsedInput, LINE_LEN_MAX};

/// Bytes read before a block is parsed (16 MiB).
pub const READ_BLOCK_LEN: usize = 16 * 1024 * 1024;
const _: () = assert!(READ_BLOCK_LEN > LINE_LEN_MAX + 2);

/// Reads `reader` to its end and parses it as NDJSON, calling `progress` with the bytes parsed
/// so far. Only I/O errors are errors; bad lines are in [`ParsedInput::errors`], with their
/// text. A line longer than [`LINE_LEN_MAX`] is skipped without being held in memory.
pub fn parse_ndjson_stream(
    reader: &mut dyn Read,
    progress: &(dyn Fn(u64) + Sync),
) -> io::Result<ParsedInput> {
    let mut out = ParsedInput::default();
    let mut lines_before = 0u64;
    let mut buf: Vec<u8> = Vec::with_capacity(READ_BLOCK_LEN);
    let mut parsed_bytes = 0u64;
    let mut at_start = true;
    let mut overlong: Option<Overlong> = None;
    loop {
        let eof = fill(reader, &mut buf)?;
        if at_start && (buf.len() >= BOM.len() || eof) {
            if buf.starts_with(BOM) {
                buf.drain(..BOM.len());
                parsed_bytes += BOM.len() as u64;
            }
            at_start = false;
        }
        if let Some(skip) = &mut overlong {
            // Skipping a line too long to keep: drop bytes up to its line break.
            let end = buf.iter().position(|&b| b == b'\n');
            let take = end.map_or(buf.len(), |i| i + 1);
            skip.bytes += end.unwrap_or(buf.len()) as u64;
            parsed_bytes += take as u64;
            buf.drain(..take);
            if end.is_some() || eof {
                lines_before += 1;
                out.errors.push(skip.error(lines_before));
                overlong = None;
            }
        }
        let cut = if eof {
            Some(buf.len())
        } else {
            buf.iter().rposition(|&b| b == b'\n').map(|i| i + 1)
        };
        match cut {
            Some(cut) => {
                let block = buf.get(..cut).unwrap_or_default();
                parse_lines_into(&mut out, &mut lines_before, block, &|_| {});
                parsed_bytes += cut as u64;
                buf.drain(..cut);
            }
            None if overlong.is_none() && buf.len() > LINE_LEN_MAX => {
                // A whole block without a line break: the line is over the limit.
                let head = buf.get(..super::ERROR_INPUT_LEN_MAX).unwrap_or(&buf);
                overlong = Some(Overlong {
                    head: raw_text(head),
                    bytes: buf.len() as u64,
                });
                parsed_bytes += buf.len() as u64;
                buf.clear();
            }
            None => {}
        }
        progress(parsed_bytes);
        if eof {
            return Ok(out);
        }
    }
}

/// A line being skipped because it is longer than [`LINE_LEN_MAX`].
struct Overlong {
    head: String,
    bytes: u64,
}

impl Overlong {
    fn error(&self, line: u64) -> InputError {
        InputError {
            line,
            field: None,
            problem: format!(
                "is {} bytes, longer than the {LINE_LEN_MAX}-byte limit",
                self.bytes
            ),
            input: self.head.clone(),
        }
    }
}

/// Reads until `buf` holds [`READ_BLOCK_LEN`] bytes or the reader ends; true at the end.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>) -> io::Result<bool> {
    while buf.len() < READ_BLOCK_LEN {
        let want = (READ_BLOCK_LEN - buf.len()) as u64;
        match reader.take(want).read_to_end(buf) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::parse_ndjson;

    /// A reader that hands out at most `step` bytes per read, to cut blocks anywhere.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            let (head, tail) = self.data.split_at(n);
            out.get_mut(..n).unwrap_or_default().copy_from_slice(head);
            self.data = tail;
            Ok(n)
        }
    }

    fn line(i: usize) -> String {
        format!(
            r#"{{"signal_id":"s-{i}","source_module":"m","ticker":"AAPL","direction":"long","conviction":0.5,"signal_type":"entry","timestamp":"2026-01-05T14:30:00Z"}}"#
        )
    }

    #[test]
    fn same_result_as_whole_input_parsing() {
        let mut input = String::from("\u{feff}");
        for i in 0..2000 {
            match i % 7 {
                0 => input.push_str("{\"bad\":1}"),
                1 => input.push_str("   "),
                _ => input.push_str(&line(i)),
            }
            input.push_str(if i % 3 == 0 { "\r\n" } else { "\n" });
        }
        input.push_str(&line(9999)); // no final line break
        let whole = parse_ndjson(input.as_bytes());
        for step in [1usize, 7, 4096, 1 << 20] {
            let mut r = Trickle {
                data: input.as_bytes(),
                step,
            };
            let streamed = parse_ndjson_stream(&mut r, &|_| {}).expect("in-memory reader");
            assert_eq!(streamed.signals, whole.signals, "step {step}");
            assert_eq!(streamed.lines, whole.lines, "step {step}");
            assert_eq!(streamed.errors, whole.errors, "step {step}");
        }
        assert!(whole.errors.iter().all(|e| e.input == "{\"bad\":1}"));
    }

    #[test]
    fn an_overlong_line_is_skipped_and_reported() {
        let mut input = line(1);
        input.push('\n');
        input.push_str(&"x".repeat(READ_BLOCK_LEN + 10));
        input.push('\n');
        input.push_str(&line(3));
        let mut r = Trickle {
            data: input.as_bytes(),
            step: 1 << 20,
        };
        let p = parse_ndjson_stream(&mut r, &|_| {}).expect("in-memory reader");
        assert_eq!(p.lines, vec![1, 3]);
        assert_eq!(p.errors.len(), 1);
        let e = p
            .errors
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert_eq!(
            e,
            format!(
                "line 2: is {} bytes, longer than the {LINE_LEN_MAX}-byte limit",
                READ_BLOCK_LEN + 10
            )
        );
    }
}
