//! RFC 3339 timestamps <-> nanoseconds since the Unix epoch (UTC), as stored in the ledger.
//!
//! The parser is strict RFC 3339 (section 5.6): `YYYY-MM-DD`, `T` or `t`, `HH:MM:SS`, an optional
//! fraction of 1 to 9 digits, then a zone (`Z`, `z` or `±HH:MM`). Leap seconds (second 60) and
//! instants outside what an `i64` of nanoseconds holds (1677-09-21..2262-04-11) are refused.
//! The formatter prints UTC with `Z` and the shortest of 0, 3, 6 or 9 fractional digits that is
//! exact, so every `i64` round-trips through [`parse_rfc3339_ns`].
//!
//! Both are hand-written (no allocation on the success path of the parser) because ingest parses
//! millions of timestamps.

/// Nanoseconds per second.
const NS_PER_SEC: i64 = 1_000_000_000;
/// Seconds per day.
const SECS_PER_DAY: i64 = 86_400;
/// The range phrase used when an instant does not fit an `i64` of nanoseconds.
const RANGE: &str = "1677-09-21..2262-04-11";
/// Longest part of the input quoted back in an error message, in characters.
const QUOTE_MAX_CHARS: usize = 40;

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d` (`m` in 1..=12, `d` in 1..=31).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // 0..=399
    let mp = i64::from((m + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // 0..=365
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // 0..=146096
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(year, month, day)` that is `z` days after 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365
    let mp = (5 * doy + 2) / 153; // 0..=11
    let d = doy - (153 * mp + 2) / 5 + 1; // 1..=31
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // 1..=12
    let y = if m <= 2 { y + 1 } else { y };
    // Both are small and positive by construction; the fallbacks are unreachable.
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

fn is_leap_year(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// `n` ASCII digits of `b` starting at `at`, as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(n)?)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn byte_is(b: &[u8], at: usize, want: u8) -> bool {
    b.get(at) == Some(&want)
}

/// `text` quoted (escaped) for an error message, cut to a readable length.
pub(crate) fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_MAX_CHARS) {
        Some((cut, _)) => format!("{:?}...", text.get(..cut).unwrap_or(text)),
        None => format!("{text:?}"),
    }
}

/// Parses a strict RFC 3339 timestamp with a zone into nanoseconds since the Unix epoch (UTC).
///
/// Errors are short phrases naming the problem, e.g.
/// `"2024-01-01 10:00:00" is not an RFC 3339 timestamp with a zone`.
pub fn parse_rfc3339_ns(text: &str) -> Result<i64, String> {
    let b = text.as_bytes();
    let syntax = || format!("{} is not an RFC 3339 timestamp with a zone", quote(text));

    // Year: RFC 3339 has exactly four digits. A longer run of digits is a year past 9999, which
    // is well-formed enough to deserve the range message once the rest parses.
    let year_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if year_len < 4 {
        return Err(syntax());
    }
    let p = year_len - 4; // shift of every later position
    let year = if year_len == 4 {
        digits(b, 0, 4)
    } else {
        Some(0)
    };
    let (Some(year), true, Some(month), true, Some(day)) = (
        year,
        byte_is(b, p + 4, b'-'),
        digits(b, p + 5, 2),
        byte_is(b, p + 7, b'-'),
        digits(b, p + 8, 2),
    ) else {
        return Err(syntax());
    };
    if !matches!(b.get(p + 10), Some(b'T' | b't')) {
        return Err(syntax());
    }
    let (Some(hour), true, Some(minute), true, Some(second)) = (
        digits(b, p + 11, 2),
        byte_is(b, p + 13, b':'),
        digits(b, p + 14, 2),
        byte_is(b, p + 16, b':'),
        digits(b, p + 17, 2),
    ) else {
        return Err(syntax());
    };

    // Fraction: '.' then 1..=9 digits.
    let mut at = p + 19;
    let mut frac_ns: i64 = 0;
    if byte_is(b, at, b'.') {
        let frac = b.get(at + 1..).unwrap_or_default();
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(syntax());
        }
        if n > 9 {
            return Err(format!(
                "{} has more than 9 fractional-second digits",
                quote(text)
            ));
        }
        let v = digits(b, at + 1, n).ok_or_else(syntax)?;
        frac_ns = i64::from(v) * 10_i64.pow(9 - u32::try_from(n).unwrap_or(9));
        at += 1 + n;
    }

    // Zone: 'Z' / 'z' / ±HH:MM, then the end of the text.
    let offset_secs: i64 = match b.get(at) {
        Some(b'Z' | b'z') if b.len() == at + 1 => 0,
        Some(&sign @ (b'+' | b'-')) if b.len() == at + 6 => {
            let (Some(oh), true, Some(om)) = (
                digits(b, at + 1, 2),
                byte_is(b, at + 3, b':'),
                digits(b, at + 4, 2),
            ) else {
                return Err(syntax());
            };
            if oh > 23 || om > 59 {
                return Err(format!("{} has an invalid zone offset", quote(text)));
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return Err(syntax()),
    };

    if year_len > 4 {
        return Err(format!(
            "{} is outside the representable range {RANGE}",
            quote(text)
        ));
    }
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(format!("{} is not a valid date", quote(text)));
    }
    if second == 60 {
        return Err(format!(
            "{} has a leap second, which is not supported",
            quote(text)
        ));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!("{} is not a valid time of day", quote(text)));
    }

    // Years 0..=9999 keep every product here far inside i64.
    let secs = days_from_civil(year, month, day) * SECS_PER_DAY
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset_secs;
    let ns = i128::from(secs) * i128::from(NS_PER_SEC) + i128::from(frac_ns);
    i64::try_from(ns)
        .map_err(|_| format!("{} is outside the representable range {RANGE}", quote(text)))
}

/// Formats nanoseconds since the Unix epoch as RFC 3339 UTC with `Z`, with the shortest of 0, 3,
/// 6 or 9 fractional digits that is exact (`2026-01-05T14:30:00Z`, `2026-01-05T14:30:00.123Z`).
///
/// Defined for every `i64`; the output parses back to the same value with [`parse_rfc3339_ns`].
pub fn format_rfc3339_ns(ns: i64) -> String {
    let mut out = String::with_capacity(30);
    push_rfc3339_ns(&mut out, ns);
    out
}

/// [`format_rfc3339_ns`] appended to `out` (no allocation when `out` has room).
pub fn push_rfc3339_ns(out: &mut String, ns: i64) {
    let secs = ns.div_euclid(NS_PER_SEC);
    // rem_euclid is in 0..1e9, so the conversion never fails.
    let nanos = u32::try_from(ns.rem_euclid(NS_PER_SEC)).unwrap_or(0);
    let (year, month, day) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
    let sod = u32::try_from(secs.rem_euclid(SECS_PER_DAY)).unwrap_or(0);

    // Formatted on the stack and appended once: this runs for every time of every export.
    // An i64 of nanoseconds spans years 1677..=2262: always four digits.
    let mut text = *b"0000-00-00T00:00:00.000000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for d in text.iter_mut().skip(at).take(width).rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, u32::try_from(year).unwrap_or(0));
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, sod / 3600);
    put(14, 2, sod / 60 % 60);
    put(17, 2, sod % 60);
    let end = if nanos == 0 {
        19
    } else if nanos % 1_000_000 == 0 {
        put(20, 3, nanos / 1_000_000);
        23
    } else if nanos % 1_000 == 0 {
        put(20, 6, nanos / 1_000);
        26
    } else {
        put(20, 9, nanos);
        29
    };
    out.push_str(std::str::from_utf8(text.get(..end).unwrap_or_default()).unwrap_or_default());
    out.push('Z');
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> i64 {
        parse_rfc3339_ns(s).unwrap()
    }

    fn err(s: &str) -> String {
        parse_rfc3339_ns(s).unwrap_err()
    }

    #[test]
    fn epoch_and_simple_values() {
        assert_eq!(p("1970-01-01T00:00:00Z"), 0);
        assert_eq!(p("1970-01-01T00:00:01Z"), 1_000_000_000);
        assert_eq!(p("1969-12-31T23:59:59.999999999Z"), -1);
        assert_eq!(p("2026-01-05T14:30:00Z"), 1_767_623_400_000_000_000);
        assert_eq!(p("2026-01-05t14:30:00z"), 1_767_623_400_000_000_000);
        assert_eq!(p("2026-01-05T14:30:00.5Z"), 1_767_623_400_500_000_000);
        assert_eq!(
            p("2026-01-05T14:30:00.000000001Z"),
            1_767_623_400_000_000_001
        );
    }

    #[test]
    fn matches_the_time_crate() {
        use time::format_description::well_known::Rfc3339;
        for s in [
            "2000-02-29T12:00:00Z",
            "1900-03-01T00:00:00Z",
            "2024-12-31T23:59:59.123456789+05:30",
            "1999-01-01T00:00:00-11:45",
            "1700-06-15T08:09:10.1Z",
            "2262-04-11T23:47:16.854775807Z",
            "1677-09-21T00:12:43.145224192Z",
        ] {
            let want = time::OffsetDateTime::parse(s, &Rfc3339)
                .unwrap()
                .unix_timestamp_nanos();
            assert_eq!(i128::from(p(s)), want, "{s}");
        }
    }

    #[test]
    fn offsets_are_applied() {
        assert_eq!(p("2026-01-01T00:00:00+02:00"), p("2025-12-31T22:00:00Z"));
        assert_eq!(p("2025-12-31T20:30:00-01:30"), p("2025-12-31T22:00:00Z"));
        assert_eq!(p("2026-01-01T00:00:00-00:00"), p("2026-01-01T00:00:00Z"));
        assert_eq!(p("2026-01-01T00:00:00+23:59"), p("2025-12-31T00:01:00Z"));
    }

    #[test]
    fn extremes() {
        assert_eq!(p("2262-04-11T23:47:16.854775807Z"), i64::MAX);
        assert_eq!(p("1677-09-21T00:12:43.145224192Z"), i64::MIN);
        assert_eq!(
            format_rfc3339_ns(i64::MAX),
            "2262-04-11T23:47:16.854775807Z"
        );
        assert_eq!(
            format_rfc3339_ns(i64::MIN),
            "1677-09-21T00:12:43.145224192Z"
        );
        assert!(err("2262-04-11T23:47:16.854775808Z")
            .ends_with("is outside the representable range 1677-09-21..2262-04-11"));
        assert!(err("1677-09-21T00:12:43.145224191Z")
            .ends_with("is outside the representable range 1677-09-21..2262-04-11"));
        // In range once the offset is applied.
        assert_eq!(p("2262-04-12T00:47:16.854775807+01:00"), i64::MAX);
    }

    #[test]
    fn formats_shortest_exact_fraction() {
        let base = p("2026-01-05T14:30:00Z");
        assert_eq!(format_rfc3339_ns(base), "2026-01-05T14:30:00Z");
        assert_eq!(
            format_rfc3339_ns(base + 123_000_000),
            "2026-01-05T14:30:00.123Z"
        );
        assert_eq!(
            format_rfc3339_ns(base + 100_000_000),
            "2026-01-05T14:30:00.100Z"
        );
        assert_eq!(
            format_rfc3339_ns(base + 123_456_000),
            "2026-01-05T14:30:00.123456Z"
        );
        assert_eq!(
            format_rfc3339_ns(base + 123_456_789),
            "2026-01-05T14:30:00.123456789Z"
        );
        assert_eq!(
            format_rfc3339_ns(base + 1),
            "2026-01-05T14:30:00.000000001Z"
        );
        assert_eq!(format_rfc3339_ns(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(format_rfc3339_ns(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn refusals() {
        assert_eq!(
            err("2024-01-01 10:00:00"),
            "\"2024-01-01 10:00:00\" is not an RFC 3339 timestamp with a zone"
        );
        assert_eq!(
            err("2024-01-01T10:00:00"),
            "\"2024-01-01T10:00:00\" is not an RFC 3339 timestamp with a zone"
        );
        for bad in [
            "",
            "2024",
            "2024-01-01",
            "2024-01-01T10:00Z",
            "2024-1-01T10:00:00Z",
            "2024-01-01T10:00:00.Z",
            "2024-01-01T10:00:00+0200",
            "2024-01-01T10:00:00+02",
            "2024-01-01T10:00:00 Z",
            "2024-01-01T10:00:00Zjunk",
            "2024-01-01T10:00:00ZZ",
            " 2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00,5Z",
            "+2024-01-01T10:00:00Z",
            "-0001-01-01T10:00:00Z",
            "2024-01-01X10:00:00Z",
            "２０２４-01-01T10:00:00Z",
            "1700000000",
        ] {
            assert!(
                err(bad).ends_with("is not an RFC 3339 timestamp with a zone"),
                "{bad}: {}",
                err(bad)
            );
        }
        assert_eq!(
            err("2024-01-01T10:00:00.1234567891Z"),
            "\"2024-01-01T10:00:00.1234567891Z\" has more than 9 fractional-second digits"
        );
        assert_eq!(
            err("2023-02-29T10:00:00Z"),
            "\"2023-02-29T10:00:00Z\" is not a valid date"
        );
        for bad in [
            "2024-00-01T10:00:00Z",
            "2024-13-01T10:00:00Z",
            "2024-04-31T10:00:00Z",
            "2024-01-00T10:00:00Z",
        ] {
            assert!(err(bad).ends_with("is not a valid date"), "{bad}");
        }
        assert_eq!(
            p("2024-02-29T10:00:00Z"),
            p("2024-03-01T10:00:00Z") - 86_400_000_000_000
        );
        for bad in [
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:60:00Z",
            "2024-01-01T10:00:61Z",
        ] {
            assert!(err(bad).ends_with("is not a valid time of day"), "{bad}");
        }
        assert_eq!(
            err("2016-12-31T23:59:60Z"),
            "\"2016-12-31T23:59:60Z\" has a leap second, which is not supported"
        );
        assert_eq!(
            err("2024-01-01T10:00:00+24:00"),
            "\"2024-01-01T10:00:00+24:00\" has an invalid zone offset"
        );
        assert!(err("2024-01-01T10:00:00+02:60").ends_with("has an invalid zone offset"));
        assert_eq!(
            err("10000-01-01T00:00:00Z"),
            "\"10000-01-01T00:00:00Z\" is outside the representable range 1677-09-21..2262-04-11"
        );
        assert!(err("0000-01-01T00:00:00Z").ends_with("representable range 1677-09-21..2262-04-11"));
        assert!(err("9999-12-31T23:59:59Z").ends_with("representable range 1677-09-21..2262-04-11"));
        assert!(err("99999999999999999999999-01-01T00:00:00Z")
            .ends_with("representable range 1677-09-21..2262-04-11"));
    }

    #[test]
    fn long_or_odd_input_is_quoted_briefly() {
        let long = "x".repeat(10_000);
        let e = err(&long);
        assert!(e.len() < 120, "{e}");
        assert!(e.starts_with("\"xxxx"));
        assert!(
            e.contains("...\" is not") || e.contains("\"... is not"),
            "{e}"
        );
        let e = err("2024-01-01T10:00:00\n");
        assert!(e.starts_with("\"2024-01-01T10:00:00\\n\""), "{e}");
        // Multi-byte characters are not split.
        let e = err(&"é".repeat(100));
        assert!(e.starts_with('"'), "{e}");
    }

    #[test]
    fn round_trips_fixed_values() {
        for ns in [
            i64::MIN,
            i64::MIN + 1,
            -86_400_000_000_000,
            -1_000_000_000,
            -1_000_001,
            -1,
            0,
            1,
            999,
            1_000,
            1_000_000,
            1_767_623_400_123_456_789,
            i64::MAX - 1,
            i64::MAX,
        ] {
            let s = format_rfc3339_ns(ns);
            assert_eq!(p(&s), ns, "{s}");
        }
    }

    proptest! {
        #[test]
        fn round_trips_any_i64(ns in any::<i64>()) {
            let s = format_rfc3339_ns(ns);
            prop_assert_eq!(parse_rfc3339_ns(&s), Ok(ns), "{}", s);
        }

        #[test]
        fn round_trips_whole_millis(ms in (i64::MIN / 1_000_000)..=(i64::MAX / 1_000_000)) {
            let ns = ms * 1_000_000;
            let s = format_rfc3339_ns(ns);
            prop_assert!(s.len() == 20 || s.len() == 24, "{}", s);
            prop_assert_eq!(parse_rfc3339_ns(&s), Ok(ns), "{}", s);
        }

        #[test]
        fn agrees_with_the_time_crate(ns in any::<i64>(), off_min in -1439i32..=1439) {
            use time::format_description::well_known::Rfc3339;
            let offset = time::UtcOffset::from_whole_seconds(off_min * 60).unwrap();
            let dt = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
                .unwrap()
                .to_offset(offset);
            if let Ok(s) = dt.format(&Rfc3339) {
                prop_assert_eq!(parse_rfc3339_ns(&s), Ok(ns), "{}", s);
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse_rfc3339_ns(&s);
        }

        #[test]
        fn never_panics_near_valid(s in "[0-9]{4,6}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,11})?([Zz]|[+-][0-9]{2}:[0-9]{2})?") {
            let _ = parse_rfc3339_ns(&s);
        }
    }
}
