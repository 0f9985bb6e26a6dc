//! The scenario loader on arbitrary text: it may refuse the input, but never panics, and a
//! refusal is always one line (`file:line:col: path: message`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = kubesim::scenario::load_str("fuzz.yaml", text) {
        let msg = e.to_string();
        assert!(
            !msg.contains('\n') && !msg.contains('\r'),
            "message is not one line: {msg:?}"
        );
        assert!(msg.starts_with("fuzz.yaml:"), "{msg}");
    }
});
