//! The socket's postcard framing: a byte stream read frame by frame, each
//! body decoded as a request. Frames stay within the limit; nothing panics.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use slmd::api::{codec, server};

const MAX: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut rd = tokio::io::BufReader::with_capacity(64, data);
        let second = Duration::from_secs(1);
        while let Ok(body) = codec::read_frame(&mut rd, MAX, second, second).await {
            assert!(body.len() <= MAX);
            let _ = server::decode_postcard(&body);
        }
    });
});
