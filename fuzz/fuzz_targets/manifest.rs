//! The model manifest (TOML): parsed and checked, or refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = slmd::engine::Manifest::parse(text);
    }
});
