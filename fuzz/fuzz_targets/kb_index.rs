//! The knowledge-base index file: raw bytes, and bodies behind a valid
//! header and checksum (so the fuzzer reaches the decoder and the size
//! checks). Decoded or refused with a typed error; nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use slmd::kb::{Index, INDEX_FORMAT as FORMAT, INDEX_MAGIC as MAGIC};

const SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.idx");
    let _ = Index::from_bytes(data, path, SHA);
    let mut framed = MAGIC.to_vec();
    framed.push(FORMAT);
    framed.extend_from_slice(&Sha256::digest(data));
    framed.extend_from_slice(data);
    if let Ok(index) = Index::from_bytes(&framed, path, SHA) {
        let dim = index.dim();
        let _ = index.search(&vec![0.5; dim], 3);
    }
});
