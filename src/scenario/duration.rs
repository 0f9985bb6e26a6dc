//! Durations and rates in scenario files: `"90s"`, `"1h30m"`, `"250ms"`, `"1.5s"`, `"2d"`,
//! `"800/s"`.
//!
//! # Grammar
//!
//! Go's `time.ParseDuration` (golang/go `src/time/format.go`), which Kubernetes uses for every
//! `metav1.Duration` field, plus a day unit:
//!
//! ```text
//! duration ::= "0" | "+0" | "-0" | [+]? component+
//! component ::= number unit
//! number   ::= digits | digits "." digits? | "." digits
//! unit     ::= "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h" | "d"
//! ```
//!
//! Components may repeat and come in any order, as in Go (`"1h15m30.5s"`, `"30m1h"`). A
//! fraction is exact; whatever falls below one nanosecond is truncated, as Go does
//! (`"1.5ns"` is 1 ns). `d` is 24 h (humantime's day; Go has no day unit). Units are
//! case-sensitive (`"1H"` is an error). No whitespace anywhere.
//!
//! # Differences from Go
//!
//! - Negative durations are errors (kubesim has no use for them); `"-0s"` is zero.
//! - The result is `u64` nanoseconds (about 584 years), not Go's `i64`; overflow is an error,
//!   never a wrap.
//! - A bare number other than `"0"` is an error here ("missing unit"); a YAML *number* (such as
//!   `terminationGracePeriodSeconds: 30`) is converted by the caller with [`secs_to_nanos`] or
//!   [`whole_secs_to_nanos`].

use std::fmt::Write as _;

/// What a valid duration looks like, appended to every duration error.
const EXPECTED: &str = "expected a number followed by a unit (ns, us, ms, s, m, h, d), \
                        e.g. \"90s\", \"1h30m\", \"250ms\"";

/// What a valid rate looks like, appended to every rate error.
const EXPECTED_RATE: &str = "expected a number of events per time unit, e.g. \"800/s\", \
                             \"30/m\", \"5/h\", \"12.5/s\" (a bare number means per second)";

/// Nanoseconds per second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// The units and their length in nanoseconds.
const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),  // µ MICRO SIGN, as Go
    ("\u{3bc}s", 1_000), // μ GREEK SMALL LETTER MU, as Go
    ("ms", 1_000_000),
    ("s", NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("h", 3_600 * NANOS_PER_SEC),
    ("d", 86_400 * NANOS_PER_SEC),
];

/// An error from parsing a duration or a rate. Messages name the input and say what was
/// expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The input was empty.
    #[error("empty duration: {}", EXPECTED)]
    Empty,
    /// The input does not follow the grammar.
    #[error("invalid duration {input:?}: {reason}; {}", EXPECTED)]
    Invalid {
        /// The text as given.
        input: String,
        /// What is wrong with it, with a suggested fix where there is one.
        reason: String,
    },
    /// A unit that is not one of ns, us, ms, s, m, h, d.
    #[error("invalid duration {input:?}: unknown unit {unit:?}{}; {}", hint(.suggestion.as_deref()), EXPECTED)]
    UnknownUnit {
        /// The text as given.
        input: String,
        /// The unknown unit.
        unit: String,
        /// A likely fix, e.g. `did you mean "5m"?`.
        suggestion: Option<String>,
    },
    /// A negative duration.
    #[error("invalid duration {input:?}: durations cannot be negative")]
    Negative {
        /// The text as given.
        input: String,
    },
    /// More than `u64::MAX` nanoseconds (about 584 years).
    #[error(
        "duration {input:?} is too long: the longest is 18446744073709551615ns (about 584 years)"
    )]
    Overflow {
        /// The text as given.
        input: String,
    },
    /// A number of seconds given as a YAML number that is not a finite, non-negative value
    /// that fits.
    #[error("invalid number of seconds {value}: {reason}")]
    InvalidSeconds {
        /// The number as written by Rust.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A rate that does not follow `number[/unit]` or `number/duration`.
    #[error("invalid rate {input:?}: {reason}; {}", EXPECTED_RATE)]
    InvalidRate {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Formats an optional suggestion as ` (suggestion)`.
fn hint(suggestion: Option<&str>) -> String {
    suggestion.map(|s| format!(" ({s})")).unwrap_or_default()
}

/// Parses a duration (see the module docs for the grammar) into nanoseconds.
///
/// ```
/// use kubesim::scenario::duration::parse_duration;
/// assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
/// assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
/// assert!(parse_duration("5 minutes").is_err());
/// ```
pub fn parse_duration(input: &str) -> Result<u64, DurationError> {
    if input.is_empty() {
        return Err(DurationError::Empty);
    }
    if input.chars().any(char::is_whitespace) {
        let reason = match fix_duration(input) {
            Some(fixed) => format!("spaces are not allowed (did you mean {fixed:?}?)"),
            None => "spaces are not allowed".to_string(),
        };
        return Err(invalid(input, reason));
    }
    let (negative, body) = match input.as_bytes()[0] {
        b'-' => (true, &input[1..]),
        b'+' => (false, &input[1..]),
        _ => (false, input),
    };
    if body == "0" {
        return Ok(0);
    }
    if body.is_empty() {
        return Err(invalid(
            input,
            "expected a number after the sign".to_string(),
        ));
    }
    let mut total: u128 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let before = rest;
        let (component, after) = split_component(rest);
        rest = after;
        let Component { int, frac, unit } = component;
        if int.is_empty() && frac.is_none_or(str::is_empty) {
            let reason = match unit.chars().next() {
                Some(c) if frac.is_none() && c.is_alphabetic() => {
                    format!("the unit {unit:?} needs a number before it, e.g. \"1{unit}\"")
                }
                Some(c) if frac.is_none() => format!("expected a number, found {c:?}"),
                _ => "expected a number".to_string(),
            };
            return Err(invalid(input, reason));
        }
        if unit.is_empty() {
            // Without a unit, the component is just the number.
            let number = &before[..before.len() - rest.len()];
            let reason = if rest.starts_with('.') {
                "more than one decimal point".to_string()
            } else if number == body {
                format!("missing unit after {number:?} (did you mean \"{number}s\"?)")
            } else {
                format!("missing unit after {number:?}")
            };
            return Err(invalid(input, reason));
        }
        let Some(unit_nanos) = unit_nanos(unit) else {
            return Err(DurationError::UnknownUnit {
                input: input.to_string(),
                unit: unit.to_string(),
                suggestion: fix_duration(input)
                    .map(|fixed| format!("did you mean {fixed:?}?"))
                    .or_else(|| unit_suggestion(unit).map(str::to_string)),
            });
        };
        let overflow = || DurationError::Overflow {
            input: input.to_string(),
        };
        let nanos = component_nanos(int, frac.unwrap_or(""), unit_nanos).ok_or_else(overflow)?;
        total += nanos;
        if total > u128::from(u64::MAX) {
            return Err(overflow());
        }
    }
    if negative && total > 0 {
        return Err(DurationError::Negative {
            input: input.to_string(),
        });
    }
    Ok(total as u64)
}

/// Builds a [`DurationError::Invalid`].
fn invalid(input: &str, reason: String) -> DurationError {
    DurationError::Invalid {
        input: input.to_string(),
        reason,
    }
}

/// One `number unit` piece of a duration.
struct Component<'a> {
    /// Digits before the decimal point (possibly empty).
    int: &'a str,
    /// Digits after the decimal point, if there was one.
    frac: Option<&'a str>,
    /// Everything up to the next digit or '.' (possibly empty).
    unit: &'a str,
}

/// Splits the first component off `s`, as Go's scanner does: digits, an optional fraction,
/// then the unit is everything up to the next digit or '.'.
fn split_component(s: &str) -> (Component<'_>, &str) {
    let digits_end = |t: &str| t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let int_end = digits_end(s);
    let int = &s[..int_end];
    let mut pos = int_end;
    let mut frac = None;
    if s[pos..].starts_with('.') {
        let f = &s[pos + 1..];
        let frac_end = digits_end(f);
        frac = Some(&f[..frac_end]);
        pos += 1 + frac_end;
    }
    let tail = &s[pos..];
    // Non-empty unless `int` or `frac` consumed something, so every call makes progress.
    let unit_end = tail
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(tail.len());
    (
        Component {
            int,
            frac,
            unit: &tail[..unit_end],
        },
        &tail[unit_end..],
    )
}

/// The length of `unit` in nanoseconds, if it is a unit.
fn unit_nanos(unit: &str) -> Option<u64> {
    UNITS.iter().find(|(u, _)| *u == unit).map(|&(_, n)| n)
}

/// `(int.frac) * unit` in nanoseconds, the fraction truncated below one nanosecond; `None` if
/// it exceeds `u64::MAX`.
fn component_nanos(int: &str, frac: &str, unit: u64) -> Option<u128> {
    let unit = u128::from(unit);
    let int = int.trim_start_matches('0');
    // More than 20 digits is at least 10^20 > u64::MAX.
    if int.len() > 20 {
        return None;
    }
    let whole = if int.is_empty() {
        0
    } else {
        int.parse::<u128>().ok()? * unit
    };
    // Digits beyond 24 places are below 10^-24 of a unit, far below a nanosecond for every unit
    // (a day is 8.64e13 ns); F < 10^24 and unit < 10^14, so F * unit fits in a u128.
    let frac = &frac[..frac.len().min(24)];
    let part = if frac.is_empty() {
        0
    } else {
        frac.parse::<u128>().ok()? * unit / 10u128.pow(frac.len() as u32)
    };
    let total = whole + part;
    (total <= u128::from(u64::MAX)).then_some(total)
}

/// The usual spelling of a unit someone wrote another way, as a hint.
fn unit_suggestion(unit: &str) -> Option<&'static str> {
    Some(match unit_alias(unit)? {
        "w" => "weeks are not supported: use days, e.g. \"7d\"",
        "s" => "did you mean \"s\"?",
        "m" => "did you mean \"m\"?",
        "h" => "did you mean \"h\"?",
        "d" => "did you mean \"d\"?",
        "ms" => "did you mean \"ms\"?",
        "us" => "did you mean \"us\"?",
        "ns" => "did you mean \"ns\"?",
        _ => return None,
    })
}

/// Maps common spellings of units to the accepted one (`"minutes"` -> `"m"`).
fn unit_alias(unit: &str) -> Option<&'static str> {
    let lower = unit.to_lowercase();
    Some(match lower.as_str() {
        "sec" | "secs" | "second" | "seconds" => "s",
        "min" | "mins" | "minute" | "minutes" => "m",
        "hr" | "hrs" | "hour" | "hours" => "h",
        "day" | "days" => "d",
        "msec" | "msecs" | "milli" | "millis" | "millisecond" | "milliseconds" => "ms",
        "usec" | "usecs" | "micro" | "micros" | "microsecond" | "microseconds" => "us",
        "nsec" | "nsecs" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => "ns",
        "w" | "wk" | "wks" | "week" | "weeks" => "w",
        // Go's units are case-sensitive: "1H", "10S", "5MS".
        "s" | "m" | "h" | "d" | "ms" | "us" | "ns" if lower != unit => {
            return UNITS.iter().find(|(u, _)| *u == lower).map(|&(u, _)| u);
        }
        _ => return None,
    })
}

/// A corrected spelling of a duration that fails only because of whitespace or long unit
/// names (`"5 minutes"` -> `"5m"`, `"1 h 30 m"` -> `"1h30m"`), if the correction parses.
fn fix_duration(input: &str) -> Option<String> {
    let compact: String = input.split_whitespace().collect();
    let mut fixed = String::new();
    let mut rest = compact.as_str();
    if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    while !rest.is_empty() {
        let (c, after) = split_component(rest);
        if c.unit.is_empty() {
            return None;
        }
        let unit = match unit_nanos(c.unit) {
            Some(_) => c.unit,
            None => unit_alias(c.unit).filter(|u| *u != "w")?,
        };
        fixed.push_str(c.int);
        if let Some(f) = c.frac {
            let _ = write!(fixed, ".{f}");
        }
        fixed.push_str(unit);
        rest = after;
    }
    (fixed != input && parse_duration(&fixed).is_ok()).then_some(fixed)
}

/// Converts a number of seconds given as a YAML/JSON number (e.g. `timeout: 2.5`) to
/// nanoseconds. The number is read as the shortest decimal that round-trips (what the user
/// wrote), so `0.1` is exactly 100 ms; below a nanosecond it truncates, like
/// [`parse_duration`]. Errors for NaN, infinities, negative values and more than `u64::MAX`
/// nanoseconds.
pub fn secs_to_nanos(secs: f64) -> Result<u64, DurationError> {
    let bad = |reason: &str| DurationError::InvalidSeconds {
        value: secs.to_string(),
        reason: reason.to_string(),
    };
    if !secs.is_finite() {
        return Err(bad("expected a finite number"));
    }
    if secs < 0.0 {
        return Err(bad("durations cannot be negative"));
    }
    // Rust's Display for f64 writes the shortest round-trip decimal, without an exponent.
    parse_duration(&format!("{}s", secs.abs()))
        .map_err(|_| bad("longer than 18446744073709551615ns (about 584 years)"))
}

/// Converts a whole number of seconds (e.g. `terminationGracePeriodSeconds: 30`) to
/// nanoseconds. Errors for negative values and more than `u64::MAX` nanoseconds.
pub fn whole_secs_to_nanos(secs: i64) -> Result<u64, DurationError> {
    let bad = |reason: &str| DurationError::InvalidSeconds {
        value: secs.to_string(),
        reason: reason.to_string(),
    };
    let secs = u64::try_from(secs).map_err(|_| bad("durations cannot be negative"))?;
    secs.checked_mul(NANOS_PER_SEC)
        .ok_or_else(|| bad("longer than 18446744073709551615ns (about 584 years)"))
}

/// Formats nanoseconds as the shortest duration string that [`parse_duration`] reads back
/// exactly: `"0s"`, `"250ms"`, `"1.5s"`, `"1m30s"`, `"1h30m"`, `"2d"`, `"1h0m0.001s"` is written
/// `"1h0.001s"`.
pub fn format_duration(nanos: u64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let with_fraction = |n: u64, unit: u64, suffix: &str| {
        let (whole, frac) = (n / unit, n % unit);
        if frac == 0 {
            format!("{whole}{suffix}")
        } else {
            let width = unit.ilog10() as usize;
            let digits = format!("{frac:0width$}");
            format!("{whole}.{}{suffix}", digits.trim_end_matches('0'))
        }
    };
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return with_fraction(nanos, 1_000, "us");
    }
    if nanos < NANOS_PER_SEC {
        return with_fraction(nanos, 1_000_000, "ms");
    }
    let mut out = String::new();
    let mut rest = nanos;
    for (suffix, unit) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        let unit = unit * NANOS_PER_SEC;
        if rest >= unit {
            let _ = write!(out, "{}{suffix}", rest / unit);
            rest %= unit;
        }
    }
    if rest > 0 {
        out.push_str(&with_fraction(rest, NANOS_PER_SEC, "s"));
    }
    out
}

/// Parses an event rate into events per second: `"800/s"` -> 800, `"30/m"` -> 0.5, `"5/h"`,
/// `"12.5/s"`, `"3/d"`, `"100/10s"` (per a duration) -> 10; a bare number means per second
/// (`"800"` -> 800). Errors for negative numbers, a zero interval, or anything else.
pub fn parse_rate_per_second(input: &str) -> Result<f64, DurationError> {
    let bad = |reason: String| DurationError::InvalidRate {
        input: input.to_string(),
        reason,
    };
    if input.is_empty() {
        return Err(bad("empty".to_string()));
    }
    if input.chars().any(char::is_whitespace) {
        let compact: String = input.split_whitespace().collect();
        let reason = if parse_rate_per_second(&compact).is_ok() {
            format!("spaces are not allowed (did you mean {compact:?}?)")
        } else {
            "spaces are not allowed".to_string()
        };
        return Err(bad(reason));
    }
    let (count, per) = match input.split_once('/') {
        Some((count, per)) => (count, Some(per)),
        None => (input, None),
    };
    if count.starts_with('-') {
        return Err(bad("a rate cannot be negative".to_string()));
    }
    let count_digits = count.strip_prefix('+').unwrap_or(count);
    let (int, frac) = match count_digits.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (count_digits, ""),
    };
    let is_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !is_digits(int) || !is_digits(frac) {
        let reason = match per {
            Some(_) => format!("expected a non-negative number before '/', found {count:?}"),
            None => format!("expected a non-negative number, found {count:?}"),
        };
        return Err(bad(reason));
    }
    let interval_nanos = match per {
        None => NANOS_PER_SEC,
        Some("") => return Err(bad("missing time unit after '/'".to_string())),
        Some(per) if per.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
            parse_duration(per).map_err(|e| bad(format!("after '/': {}", short_reason(&e))))?
        }
        Some(per) => match unit_nanos(per) {
            Some(n) => n,
            None => {
                let reason = match unit_alias(per).filter(|u| *u != "w") {
                    Some(u) => format!("unknown time unit {per:?} (did you mean \"{count}/{u}\"?)"),
                    None => {
                        format!("unknown time unit {per:?}; expected one of ns, us, ms, s, m, h, d")
                    }
                };
                return Err(bad(reason));
            }
        },
    };
    if interval_nanos == 0 {
        return Err(bad("the time interval must be longer than zero".to_string()));
    }
    // Both conversions are correctly rounded, so the result is deterministic.
    let events: f64 = count_digits
        .parse()
        .map_err(|_| bad(format!("expected a non-negative number, found {count:?}")))?;
    Ok(events * NANOS_PER_SEC as f64 / interval_nanos as f64)
}

/// The reason part of a duration error, for embedding in a rate error.
fn short_reason(e: &DurationError) -> String {
    match e {
        DurationError::Invalid { reason, .. } => reason.clone(),
        DurationError::UnknownUnit {
            unit, suggestion, ..
        } => format!("unknown unit {unit:?}{}", hint(suggestion.as_deref())),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: u64 = NANOS_PER_SEC;

    const VALID: &[(&str, u64)] = &[
        ("0", 0),
        ("+0", 0),
        ("-0", 0),
        ("0s", 0),
        ("-0s", 0),
        ("90s", 90 * S),
        ("+90s", 90 * S),
        ("1h30m", 5_400 * S),
        ("250ms", 250_000_000),
        ("1.5s", 1_500_000_000),
        ("10m", 600 * S),
        ("2h", 7_200 * S),
        ("1d", 86_400 * S),
        ("1.5d", 129_600 * S),
        ("1h15m30.5s", 4_530 * S + 500_000_000),
        ("30m1h", 5_400 * S),
        ("1s1s", 2 * S),
        ("5us", 5_000),
        ("5\u{b5}s", 5_000),
        ("5\u{3bc}s", 5_000),
        ("7ns", 7),
        (".5s", 500_000_000),
        ("5.s", 5 * S),
        ("1.5ns", 1),
        ("0.1s", 100_000_000),
        ("1.000000001s", 1_000_000_001),
        ("1.0000000019s", 1_000_000_001),
        ("0.5h", 1_800 * S),
        ("000000000000000000000000000001s", S),
        ("18446744073709551615ns", u64::MAX),
        ("18446744073.709551615s", u64::MAX),
        ("213503d", 213_503 * 86_400 * S),
    ];

    #[test]
    fn valid_table() {
        for &(input, nanos) in VALID {
            assert_eq!(parse_duration(input), Ok(nanos), "{input:?}");
        }
    }

    /// (input, substring of the message).
    const INVALID: &[(&str, &str)] = &[
        ("", "empty duration"),
        ("5 minutes", "spaces are not allowed (did you mean \"5m\"?)"),
        ("1h 30m", "did you mean \"1h30m\"?"),
        (" 90s", "did you mean \"90s\"?"),
        (
            "5minutes",
            "unknown unit \"minutes\" (did you mean \"5m\"?)",
        ),
        ("1H", "unknown unit \"H\" (did you mean \"1h\"?)"),
        ("2w", "weeks are not supported"),
        ("90", "missing unit after \"90\" (did you mean \"90s\"?)"),
        ("1h30", "missing unit after \"30\""),
        ("-5s", "durations cannot be negative"),
        ("-", "expected a number after the sign"),
        ("+", "expected a number after the sign"),
        ("s", "the unit \"s\" needs a number before it"),
        (".s", "expected a number"),
        ("1..5s", "more than one decimal point"),
        ("1.5.5s", "more than one decimal point"),
        ("--5s", "expected a number, found '-'"),
        ("1x", "unknown unit \"x\""),
        ("18446744073709551616ns", "is too long"),
        ("213504d", "is too long"),
        ("100000000000000000000000h", "is too long"),
        ("ten seconds", "spaces are not allowed"),
        (".", "expected a number"),
    ];

    #[test]
    fn invalid_table() {
        for &(input, message) in INVALID {
            let err = parse_duration(input).expect_err(input).to_string();
            assert!(err.contains(message), "{input:?}: {err}");
        }
    }

    #[test]
    fn error_message_says_what_was_expected() {
        assert_eq!(
            parse_duration("5 minutes").unwrap_err().to_string(),
            "invalid duration \"5 minutes\": spaces are not allowed (did you mean \"5m\"?); \
             expected a number followed by a unit (ns, us, ms, s, m, h, d), e.g. \"90s\", \
             \"1h30m\", \"250ms\""
        );
    }

    #[test]
    fn seconds_from_numbers() {
        assert_eq!(secs_to_nanos(30.0), Ok(30 * S));
        assert_eq!(secs_to_nanos(0.1), Ok(100_000_000));
        assert_eq!(secs_to_nanos(2.5), Ok(2_500_000_000));
        assert_eq!(secs_to_nanos(1e-10), Ok(0));
        assert_eq!(secs_to_nanos(-0.0), Ok(0));
        assert!(secs_to_nanos(-1.0).is_err());
        assert!(secs_to_nanos(f64::NAN).is_err());
        assert!(secs_to_nanos(f64::INFINITY).is_err());
        assert!(secs_to_nanos(1e20).is_err());
        assert_eq!(
            secs_to_nanos(-1.0).unwrap_err().to_string(),
            "invalid number of seconds -1: durations cannot be negative"
        );
        assert_eq!(whole_secs_to_nanos(30), Ok(30 * S));
        assert!(whole_secs_to_nanos(-1).is_err());
        assert!(whole_secs_to_nanos(i64::MAX).is_err());
    }

    #[test]
    fn rates() {
        for (input, per_second) in [
            ("800/s", 800.0),
            ("800", 800.0),
            ("30/m", 0.5),
            ("5/h", 5.0 / 3600.0),
            ("12.5/s", 12.5),
            ("3/d", 3.0 / 86_400.0),
            ("100/10s", 10.0),
            ("1/500ms", 2.0),
            ("0/s", 0.0),
            (".5/s", 0.5),
            ("+2/s", 2.0),
        ] {
            assert_eq!(parse_rate_per_second(input), Ok(per_second), "{input:?}");
        }
        for (input, message) in [
            ("", "empty"),
            ("-5/s", "cannot be negative"),
            ("800/", "missing time unit"),
            ("800/sec", "did you mean \"800/s\"?"),
            ("800/fortnight", "unknown time unit \"fortnight\""),
            ("800/0s", "longer than zero"),
            ("abc/s", "expected a non-negative number before '/'"),
            ("1e3/s", "expected a non-negative number"),
            ("800 / s", "did you mean \"800/s\"?"),
            ("800/5x", "after '/': unknown unit \"x\""),
            ("inf", "expected a non-negative number"),
            ("NaN/s", "expected a non-negative number"),
            ("./s", "expected a non-negative number"),
        ] {
            let err = parse_rate_per_second(input).expect_err(input).to_string();
            assert!(err.contains(message), "{input:?}: {err}");
            assert!(err.contains("e.g. \"800/s\""), "{input:?}: {err}");
        }
    }

    #[test]
    fn formatting() {
        for (nanos, text) in [
            (0, "0s"),
            (7, "7ns"),
            (1_500, "1.5us"),
            (250_000_000, "250ms"),
            (1_500_000, "1.5ms"),
            (1_500_000_000, "1.5s"),
            (90 * S, "1m30s"),
            (5_400 * S, "1h30m"),
            (86_400 * S, "1d"),
            (3_600 * S + 1_000_000, "1h0.001s"),
            (u64::MAX, "213503d23h34m33.709551615s"),
        ] {
            assert_eq!(format_duration(nanos), text, "{nanos}");
            assert_eq!(parse_duration(text), Ok(nanos), "{text}");
        }
    }

    proptest! {
        /// "{h}h{m}m{s}s" is the arithmetic.
        #[test]
        fn hours_minutes_seconds(h in 0u64..1_000_000, m in 0u64..100_000, s in 0u64..100_000) {
            let want = ((h * 60 + m) * 60 + s) * S;
            prop_assert_eq!(parse_duration(&format!("{h}h{m}m{s}s")), Ok(want));
        }

        /// Fractional seconds with up to nine digits are exact.
        #[test]
        fn fractional_seconds(s in 0u64..1_000_000_000, frac in "[0-9]{1,9}") {
            let want = s * S + frac.parse::<u64>().unwrap() * 10u64.pow(9 - frac.len() as u32);
            prop_assert_eq!(parse_duration(&format!("{s}.{frac}s")), Ok(want));
        }

        /// format_duration output parses back exactly.
        #[test]
        fn format_round_trips(nanos: u64) {
            prop_assert_eq!(parse_duration(&format_duration(nanos)), Ok(nanos));
        }

        /// Parsing never panics on arbitrary strings.
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = parse_duration(&s);
            let _ = parse_rate_per_second(&s);
        }

        /// Same, over the alphabet durations are made of.
        #[test]
        fn never_panics_dense(s in "[-+0-9./ nuµsmhdHMSw]{0,24}") {
            if let Ok(n) = parse_duration(&s) {
                prop_assert_eq!(parse_duration(&format_duration(n)), Ok(n));
            }
            if let Ok(r) = parse_rate_per_second(&s) {
                prop_assert!(r.is_finite() && r >= 0.0);
            }
        }

        /// Seconds given as numbers are read as the decimal written: ms / 1000 is exact.
        #[test]
        fn secs_are_exact_decimals(ms in 0u64..10_000_000_000) {
            prop_assert_eq!(secs_to_nanos(ms as f64 / 1000.0), Ok(ms * 1_000_000));
        }
    }
}
