//! A command on the `cmd` topic: decoded or refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = slmd::uplink::parse_command(data) {
        let _ = c.cmd.len();
    }
});
