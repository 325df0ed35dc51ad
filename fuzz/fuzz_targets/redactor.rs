//! The redactor on any text: it never panics, and putting the originals
//! back into the redacted text gives the text it was given.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use slmd::redact::Redactor;

fuzz_target!(|data: &[u8]| {
    static R: OnceLock<Redactor> = OnceLock::new();
    let r = R.get_or_init(|| {
        Redactor::new(&slmd::config::Config::default_config().escalation.redact).unwrap()
    });
    let text = String::from_utf8_lossy(data);
    let red = r.redact(&text);
    assert_eq!(red.rehydrate(&red.text), text);
});
