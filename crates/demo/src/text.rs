//! Small, allocation-free writers: integers, fixed-point decimals, JSON strings, RFC 3339 times.
//!
//! Hand-written (rather than `format!`) because they run several times per signal and 1M signals
//! must be generated and serialized in well under a second.

use std::fmt::Write as _;

/// Nanoseconds per second.
pub(crate) const NS_PER_SEC: i64 = 1_000_000_000;
/// Nanoseconds per day.
pub(crate) const NS_PER_DAY: i64 = 86_400 * NS_PER_SEC;

const POW10: [f64; 10] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// Appends ASCII bytes (callers only pass ASCII; anything else would be dropped).
#[inline]
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
}

/// Appends the decimal digits of `n`.
#[inline]
pub(crate) fn push_u64(out: &mut String, n: u64) {
    push_padded(out, n, 1);
}

/// Appends `n` zero-padded to at least `width` digits (at most 20).
pub(crate) fn push_padded(out: &mut String, mut n: u64, width: u32) {
    let mut buf = [b'0'; 20];
    let mut used = 0usize;
    for slot in buf.iter_mut().rev() {
        if n == 0 && used >= width as usize && used > 0 {
            break;
        }
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        used += 1;
    }
    push_ascii(out, buf.get(buf.len() - used..).unwrap_or_default());
}

/// Appends `v` rounded to `decimals` places (at most 9) as a JSON number such as `-2.31`.
///
/// Non-finite values are written as `0` so the output is always valid JSON; huge values fall back
/// to Rust's shortest round-trip formatting.
pub(crate) fn push_fixed(out: &mut String, v: f64, decimals: usize) {
    // One instance per scale, so the divisions below are by constants (multiplications).
    match decimals {
        0 => push_fixed_scaled::<1>(out, v, 0),
        1 => push_fixed_scaled::<10>(out, v, 1),
        2 => push_fixed_scaled::<100>(out, v, 2),
        3 => push_fixed_scaled::<1_000>(out, v, 3),
        4 => push_fixed_scaled::<10_000>(out, v, 4),
        5 => push_fixed_scaled::<100_000>(out, v, 5),
        6 => push_fixed_scaled::<1_000_000>(out, v, 6),
        7 => push_fixed_scaled::<10_000_000>(out, v, 7),
        8 => push_fixed_scaled::<100_000_000>(out, v, 8),
        _ => push_fixed_scaled::<1_000_000_000>(out, v, 9),
    }
}

fn push_fixed_scaled<const SCALE: u64>(out: &mut String, v: f64, decimals: u32) {
    if !v.is_finite() {
        out.push('0');
        return;
    }
    let scaled = (v.abs() * SCALE as f64).round();
    if scaled >= 9.0e18 {
        let _ = write!(out, "{v}");
        return;
    }
    let scaled = scaled as u64;
    if v < 0.0 && scaled != 0 {
        out.push('-');
    }
    // Digits from the right: `decimals` fraction digits, the point, then at least one more.
    let decimals = decimals as usize;
    let point = usize::from(decimals > 0);
    let mut buf = [b'0'; 32];
    let mut n = scaled;
    let mut used = 0;
    for slot in buf.iter_mut().rev() {
        if point == 1 && used == decimals {
            *slot = b'.';
        } else {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        used += 1;
        if n == 0 && used > decimals + point {
            break;
        }
    }
    push_ascii(out, buf.get(buf.len() - used..).unwrap_or_default());
}

/// Appends a finite `v` as a JSON number that parses back to exactly `v`.
///
/// Values with at most six decimals (prices, convictions) take a fast fixed-point path with
/// trailing zeros removed; anything else uses Rust's shortest round-trip formatting, which never
/// uses an exponent. Non-finite values are written as `null`.
pub(crate) fn push_f64(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str("null");
        return;
    }
    if v.abs() < 1e9 {
        for (decimals, scale) in [(2usize, 1e2), (4, 1e4), (6, 1e6)] {
            // `k / scale` is the correctly rounded f64 of the decimal k·10^-d, so when it equals
            // `v`, that decimal parses back to `v`.
            let k = (v * scale).round();
            if k / scale == v {
                let start = out.len();
                push_fixed(out, v, decimals);
                if let Some(dot) = out.get(start..).and_then(|t| t.find('.')) {
                    let trimmed = out.trim_end_matches('0').len();
                    let keep = if trimmed == start + dot + 1 {
                        trimmed - 1 // drop the bare '.'
                    } else {
                        trimmed
                    };
                    out.truncate(keep);
                }
                return;
            }
        }
    }
    let _ = write!(out, "{v}");
}

/// `v` rounded to `decimals` places (at most 9), as an `f64`.
pub(crate) fn round_to(v: f64, decimals: usize) -> f64 {
    let scale = POW10.get(decimals).copied().unwrap_or(1e9);
    (v * scale).round() / scale
}

/// Appends `s` as a JSON string literal (quotes included), escaping `"`, `\` and control
/// characters; everything else, non-ASCII included, is copied as is (valid UTF-8 JSON).
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if !needs_escape(s.as_bytes()) {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.push_str("\\u00");
                    let n = c as u32;
                    out.push(hex_digit(n >> 4));
                    out.push(hex_digit(n & 0xf));
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// Whether `s` holds a byte JSON output should escape: `"`, `\\`, a control character or DEL.
/// Eight bytes at a time (SWAR): strings are scanned on every NDJSON line.
fn needs_escape(s: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Some byte of x is zero / below n (n <= 0x80): exact as an "any" test.
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI != 0;
    let has_below = |x: u64, n: u64| x.wrapping_sub(LO * n) & !x & HI != 0;
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        if has_below(x, 0x20)
            || has_zero(x ^ (LO * u64::from(b'"')))
            || has_zero(x ^ (LO * u64::from(b'\\')))
            || has_zero(x ^ (LO * 0x7f))
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f)
}

/// The lower-case hex digit for the low nibble of `n`.
#[inline]
pub(crate) fn hex_digit(n: u32) -> char {
    char::from_digit(n & 0xf, 16).unwrap_or('0')
}

/// Appends the low `nibbles` (at most 16) nibbles of `v` as lower-case hex, most significant
/// first.
pub(crate) fn push_hex(out: &mut String, mut v: u64, nibbles: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [b'0'; 16];
    let used = (nibbles as usize).min(buf.len());
    for slot in buf.iter_mut().rev().take(used) {
        *slot = HEX.get((v & 0xf) as usize).copied().unwrap_or(b'0');
        v >>= 4;
    }
    push_ascii(out, buf.get(buf.len() - used..).unwrap_or_default());
}

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d` (Hinnant's `days_from_civil`).
pub(crate) const fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of `days` since 1970-01-01 (Hinnant's
/// `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Writes `n` as exactly `width` digits (keeping the low ones) into `buf[at..at + width]`.
fn fill_digits(buf: &mut [u8], at: usize, width: usize, mut n: u64) {
    if let Some(dst) = buf.get_mut(at..at + width) {
        for d in dst.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
}

/// Appends `YYYY-MM-DD` for `days` since the epoch (years 0..=9999; others are clamped, which
/// never happens for dates an `i64` of nanoseconds can express).
pub(crate) fn push_date(out: &mut String, days: i64) {
    let (y, m, d) = civil_from_days(days);
    let mut buf = *b"0000-00-00";
    fill_digits(&mut buf, 0, 4, y.clamp(0, 9999) as u64);
    fill_digits(&mut buf, 5, 2, u64::from(m));
    fill_digits(&mut buf, 8, 2, u64::from(d));
    push_ascii(out, &buf);
}

/// Appends `ns` since the Unix epoch as RFC 3339 UTC with nanoseconds,
/// e.g. `2026-10-05T14:30:00.123456789Z`.
pub(crate) fn push_rfc3339_ns(out: &mut String, ns: i64) {
    let secs = ns.div_euclid(NS_PER_SEC);
    let nanos = ns.rem_euclid(NS_PER_SEC) as u64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u64;
    let (y, m, d) = civil_from_days(days);
    let mut buf = *b"0000-00-00T00:00:00.000000000Z";
    // An i64 of nanoseconds spans the years 1677..=2262: always four digits.
    fill_digits(&mut buf, 0, 4, y.clamp(0, 9999) as u64);
    fill_digits(&mut buf, 5, 2, u64::from(m));
    fill_digits(&mut buf, 8, 2, u64::from(d));
    fill_digits(&mut buf, 11, 2, sod / 3600);
    fill_digits(&mut buf, 14, 2, sod / 60 % 60);
    fill_digits(&mut buf, 17, 2, sod % 60);
    fill_digits(&mut buf, 20, 9, nanos);
    push_ascii(out, &buf);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use rand_xoshiro::rand_core::{Rng as _, SeedableRng as _};
    use rand_xoshiro::SplitMix64;

    use super::*;

    fn s(f: impl FnOnce(&mut String)) -> String {
        let mut out = String::new();
        f(&mut out);
        out
    }

    #[test]
    fn integers() {
        assert_eq!(s(|o| push_u64(o, 0)), "0");
        assert_eq!(s(|o| push_u64(o, 7)), "7");
        assert_eq!(s(|o| push_u64(o, 1_000)), "1000");
        assert_eq!(s(|o| push_u64(o, u64::MAX)), u64::MAX.to_string());
        assert_eq!(s(|o| push_padded(o, 42, 6)), "000042");
        assert_eq!(s(|o| push_padded(o, 1_234_567, 3)), "1234567");
    }

    #[test]
    fn fixed_point() {
        assert_eq!(s(|o| push_fixed(o, 187.456, 2)), "187.46");
        assert_eq!(s(|o| push_fixed(o, -2.305, 1)), "-2.3");
        assert_eq!(s(|o| push_fixed(o, 0.05, 3)), "0.050");
        assert_eq!(s(|o| push_fixed(o, -0.0001, 2)), "0.00");
        assert_eq!(s(|o| push_fixed(o, 12.0, 0)), "12");
        assert_eq!(s(|o| push_fixed(o, f64::NAN, 2)), "0");
        assert_eq!(s(|o| push_fixed(o, 1e30, 2)), format!("{}", 1e30));
        for i in 0..10_000 {
            let v = (i as f64 - 5000.0) * 0.0137;
            let text = s(|o| push_fixed(o, v, 4));
            let back: f64 = text.parse().unwrap();
            assert!((back - v).abs() <= 0.00005 + 1e-12, "{v} -> {text}");
        }
        assert_eq!(round_to(1.23456, 2), 1.23);
    }

    #[test]
    fn shortest_numbers() {
        for (v, text) in [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (0.5, "0.5"),
            (0.6380, "0.638"),
            (187.25, "187.25"),
            (100.0, "100"),
            (-3.1, "-3.1"),
            (0.000_012_5, "0.0000125"),
            (67_850.13, "67850.13"),
        ] {
            assert_eq!(s(|o| push_f64(o, v)), text, "{v}");
        }
        assert_eq!(s(|o| push_f64(o, f64::INFINITY)), "null");
        let mut bits_of = SplitMix64::seed_from_u64(1);
        for i in 0..200_000u64 {
            let bits = bits_of.next_u64();
            let v = match i % 4 {
                0 => round_to((bits >> 11) as f64 / (1u64 << 53) as f64, 4),
                1 => round_to((bits % 10_000_000) as f64 / 100.0, 2),
                2 => f64::from_bits(bits),
                _ => (bits >> 11) as f64 / (1u64 << 40) as f64,
            };
            if !v.is_finite() {
                continue;
            }
            let text = s(|o| push_f64(o, v));
            let back: f64 = text.parse().unwrap();
            assert_eq!(back, v, "{v:?} -> {text}");
            assert!(!text.contains(['e', 'E']), "{text}");
        }
    }

    #[test]
    fn json_strings() {
        assert_eq!(s(|o| push_json_str(o, "abc")), "\"abc\"");
        assert_eq!(
            s(|o| push_json_str(o, "a\"b\\c\nd\u{1}\u{7f}é")),
            "\"a\\\"b\\\\c\\nd\\u0001\\u007fé\""
        );
        assert_eq!(s(|o| push_hex(o, 0xabc, 5)), "00abc");
    }

    #[test]
    fn escape_scan_matches_bytewise() {
        let slow = |s: &[u8]| {
            s.iter()
                .any(|&b| b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f)
        };
        let mut random = SplitMix64::seed_from_u64(5);
        let alphabet = b"aZ09 -./\"\\\x00\x1f\x7f\x80\xff~!";
        for len in 0..40 {
            for _ in 0..500 {
                let mut bytes = Vec::with_capacity(len);
                for _ in 0..len {
                    let r = random.next_u64();
                    // Mostly harmless bytes, sometimes one that needs escaping.
                    let b = if r & 15 == 0 {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    } else {
                        b'a' + (r >> 8) as u8 % 26
                    };
                    bytes.push(b);
                }
                assert_eq!(needs_escape(&bytes), slow(&bytes), "{bytes:?}");
            }
        }
        assert!(!needs_escape("plain ASCII and é ✓ text".as_bytes()));
    }

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn rfc3339() {
        assert_eq!(
            s(|o| push_rfc3339_ns(o, 0)),
            "1970-01-01T00:00:00.000000000Z"
        );
        assert_eq!(
            s(|o| push_rfc3339_ns(o, -1)),
            "1969-12-31T23:59:59.999999999Z"
        );
        // 2026-10-05T14:30:00.123456789Z
        let ns = (days_from_civil(2026, 10, 5) * 86_400 + 14 * 3600 + 30 * 60) * NS_PER_SEC
            + 123_456_789;
        assert_eq!(
            s(|o| push_rfc3339_ns(o, ns)),
            "2026-10-05T14:30:00.123456789Z"
        );
        assert_eq!(
            s(|o| push_rfc3339_ns(o, i64::MAX)),
            "2262-04-11T23:47:16.854775807Z"
        );
        assert_eq!(
            s(|o| push_rfc3339_ns(o, i64::MIN)),
            "1677-09-21T00:12:43.145224192Z"
        );
        assert_eq!(
            s(|o| push_date(o, days_from_civil(2024, 2, 29))),
            "2024-02-29"
        );
    }
}
