//! The redactor on any text: it never panics, and putting the originals
//! back into the redacted text gives the text it was given: exactly, or,
//! where names were found, up to the case of names (two spellings of one
//! name share a placeholder and come back as the first).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use slmd::redact::{fold_case, Redactor};

fuzz_target!(|data: &[u8]| {
    static R: OnceLock<Redactor> = OnceLock::new();
    let r = R.get_or_init(|| {
        Redactor::new(&slmd::config::Config::default_config().escalation.redact).unwrap()
    });
    let text = String::from_utf8_lossy(data);
    let red = r.redact(&text);
    let back = red.rehydrate(&red.text);
    if red.map.iter().any(|(p, _)| p.starts_with("[NAME_")) {
        assert_eq!(fold_case(&back), fold_case(&text));
    } else {
        assert_eq!(back, text);
    }
});
