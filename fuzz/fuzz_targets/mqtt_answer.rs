//! A central answer on the `answer` topic: decoded and checked, or refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = slmd::uplink::parse_answer(data) {
        // What was accepted passes its own checks again.
        msg.validate().expect("an accepted answer is valid");
    }
});
