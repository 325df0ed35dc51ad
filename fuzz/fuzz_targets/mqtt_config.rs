//! A remote configuration on the `config` topic: decoded, then merged into
//! the embedded defaults with every check the daemon makes before it
//! applies one; where the redaction settings changed, the redactor is
//! built from them as the daemon does. Nothing panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use slmd::config::{Config, RemoteConfig};

fuzz_target!(|data: &[u8]| {
    static BASE: OnceLock<Config> = OnceLock::new();
    let base = BASE.get_or_init(Config::default_config);
    let Ok(msg) = serde_json::from_slice::<RemoteConfig>(data) else {
        return;
    };
    if let Ok(new) = base.with_remote(&msg) {
        if new.escalation.redact != base.escalation.redact {
            let _ = slmd::redact::Redactor::new(&new.escalation.redact);
        }
    }
});
