//! The socket's JSON lines: a byte stream read line by line, each decoded
//! as a request. Lines stay within the limit; nothing panics.
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
        let mut n = 0;
        while let Ok(line) = codec::read_line(&mut rd, MAX, second, second).await {
            assert!(line.len() <= MAX);
            if let Err(bad) = server::decode_json_line(&line, || {
                n += 1;
                n
            }) {
                assert!(!bad.msg.message.is_empty());
            }
        }
    });
});
