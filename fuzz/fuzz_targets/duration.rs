//! The duration and rate parsers on arbitrary text: never panic; a parsed duration formats to
//! a string that parses back to the same number of nanoseconds.
#![no_main]

use kubesim::scenario::duration::{format_duration, parse_duration, parse_rate_per_second};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = parse_rate_per_second(text) {
        assert!(r.is_finite() && r >= 0.0, "{text:?} -> rate {r}");
    }
    let Ok(ns) = parse_duration(text) else {
        return;
    };
    let shown = format_duration(ns);
    let back = parse_duration(&shown)
        .unwrap_or_else(|e| panic!("{text:?} -> {ns}ns -> {shown:?} does not parse: {e}"));
    assert_eq!(back, ns, "{text:?} -> {shown:?}");
});
