//! The quantity parser on arbitrary text: never panics; every accessor of a parsed quantity is
//! total; the canonical form parses back to an equal quantity.
#![no_main]

use kubesim::scenario::quantity::{parse_quantity, quantity_from_f64};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 8 {
        let f = f64::from_le_bytes(data[..8].try_into().unwrap_or([0; 8]));
        if let Ok(q) = quantity_from_f64(f) {
            let _ = (q.milli_value(), q.value(), q.as_f64(), q.to_string());
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(q) = parse_quantity(text) else {
        return;
    };
    let _ = (q.milli_value(), q.value(), q.as_f64(), q.is_zero(), q.is_negative());
    for scale in [-9, -3, 0, 3, 9] {
        let _ = q.scaled_value(scale);
    }
    let canonical = q.to_string();
    let back = parse_quantity(&canonical)
        .unwrap_or_else(|e| panic!("canonical form {canonical:?} of {text:?} does not parse: {e}"));
    assert_eq!(back, q, "{text:?} -> {canonical:?} -> a different quantity");
});
