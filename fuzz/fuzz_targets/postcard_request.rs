//! A postcard request body: decoded or refused with an error frame, and a
//! decoded request encodes back to a body that decodes to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slmd::api::server;

fuzz_target!(|data: &[u8]| {
    match server::decode_postcard(data) {
        Ok(req) => {
            let again = postcard::to_allocvec(&req).expect("a decoded request encodes");
            assert_eq!(
                server::decode_postcard(&again).expect("and decodes again"),
                req
            );
        }
        Err(bad) => assert!(!bad.msg.message.is_empty()),
    }
});
