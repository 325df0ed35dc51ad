//! The knowledge-base index: every procedure with the embeddings of its
//! passages, tied to the model that made them.
//!
//! File layout: 7-byte magic `SLMDKB\0` and a format version byte (2: the
//! procedures carry their `hazards`), the sha256 of the payload (32 bytes),
//! then the payload as postcard. A flipped bit anywhere fails the
//! checksum; an index from another model is refused by hash.

use super::doc::Procedure;
use crate::engine::{Engine, EngineError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The first bytes of an index file.
pub const MAGIC: &[u8; 7] = b"SLMDKB\0";
/// The payload format this build writes and reads.
pub const FORMAT: u8 = 2;
/// Largest index file accepted; a real one is a few hundred KiB.
const MAX_INDEX_BYTES: u64 = 64 * 1024 * 1024;

/// Why an index cannot be built, read or used.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a usable knowledge-base index: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "{path} was built by model {built_by} but the loaded model is {loaded}; \
         rebuild it with `slmd kb build`"
    )]
    ModelMismatch {
        path: PathBuf,
        built_by: String,
        loaded: String,
    },
    #[error("embedding procedure {id} failed: {source}")]
    Embed {
        id: String,
        #[source]
        source: EngineError,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Payload {
    model_name: String,
    model_sha256: String,
    dim: u32,
    docs: Vec<Procedure>,
    /// For each embedded passage, the index of its procedure.
    entry_doc: Vec<u32>,
    /// Passage embeddings, row-major, `entry_doc.len() × dim`.
    vectors: Vec<f32>,
}

/// A procedure found by a search, with its best passage score.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    pub doc: &'a Procedure,
    /// Cosine similarity of the query to the closest passage of the procedure.
    pub score: f32,
}

/// An in-memory knowledge-base index.
#[derive(Debug, Clone)]
pub struct Index {
    payload: Payload,
}

impl Index {
    /// Embeds every passage of every procedure with the engine.
    pub fn build(engine: &Engine, docs: Vec<Procedure>) -> Result<Index, IndexError> {
        let dim = engine.dim();
        let mut entry_doc = Vec::new();
        let mut vectors = Vec::new();
        for (i, doc) in docs.iter().enumerate() {
            for passage in doc.passages() {
                let e = engine.embed(&passage).map_err(|source| IndexError::Embed {
                    id: doc.id.clone(),
                    source,
                })?;
                entry_doc.push(i as u32);
                vectors.extend_from_slice(&e.vector);
            }
        }
        Ok(Index {
            payload: Payload {
                model_name: engine.manifest().name.clone(),
                model_sha256: engine.model_sha256().to_string(),
                dim: dim as u32,
                docs,
                entry_doc,
                vectors,
            },
        })
    }

    /// Writes the index atomically (temp file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), IndexError> {
        let io = |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        };
        let body = postcard::to_allocvec(&self.payload).map_err(|e| IndexError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("cannot encode: {e}"),
        })?;
        let mut bytes = Vec::with_capacity(40 + body.len());
        bytes.extend_from_slice(MAGIC);
        bytes.push(FORMAT);
        bytes.extend_from_slice(&Sha256::digest(&body));
        bytes.extend_from_slice(&body);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads an index and checks it was built by the model with
    /// `model_sha256`.
    pub fn load(path: &Path, model_sha256: &str) -> Result<Index, IndexError> {
        let corrupt = |reason: String| IndexError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let io = |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_INDEX_BYTES {
            return Err(corrupt(format!(
                "{len} bytes is over the {MAX_INDEX_BYTES}-byte limit"
            )));
        }
        let bytes = std::fs::read(path).map_err(io)?;
        Self::from_bytes(&bytes, path, model_sha256)
    }

    /// Decodes an index file's bytes (`path` names it in errors) and checks
    /// it was built by the model with `model_sha256`.
    pub fn from_bytes(bytes: &[u8], path: &Path, model_sha256: &str) -> Result<Index, IndexError> {
        let corrupt = |reason: String| IndexError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() as u64 > MAX_INDEX_BYTES {
            return Err(corrupt(format!(
                "{} bytes is over the {MAX_INDEX_BYTES}-byte limit",
                bytes.len()
            )));
        }
        if bytes.len() < 40 || &bytes[..7] != MAGIC {
            return Err(corrupt("wrong magic number or truncated header".into()));
        }
        if bytes[7] != FORMAT {
            return Err(corrupt(format!(
                "index format {} but this slmd reads format {FORMAT}; rebuild it with `slmd kb build`",
                bytes[7]
            )));
        }
        let body = &bytes[40..];
        if Sha256::digest(body).as_slice() != &bytes[8..40] {
            return Err(corrupt(
                "checksum mismatch (truncated or corrupted file)".into(),
            ));
        }
        let payload: Payload =
            postcard::from_bytes(body).map_err(|e| corrupt(format!("cannot decode: {e}")))?;
        let n = payload.entry_doc.len();
        if payload.dim == 0
            || payload.vectors.len() != n * payload.dim as usize
            || payload
                .entry_doc
                .iter()
                .any(|&d| d as usize >= payload.docs.len())
        {
            return Err(corrupt("inconsistent sizes".into()));
        }
        if !payload.model_sha256.eq_ignore_ascii_case(model_sha256) {
            return Err(IndexError::ModelMismatch {
                path: path.to_path_buf(),
                built_by: format!("{} ({})", payload.model_name, short(&payload.model_sha256)),
                loaded: short(model_sha256).to_string(),
            });
        }
        Ok(Index { payload })
    }

    /// The procedures in the index.
    pub fn docs(&self) -> &[Procedure] {
        &self.payload.docs
    }

    /// sha256 of the model that built the index.
    pub fn model_sha256(&self) -> &str {
        &self.payload.model_sha256
    }

    /// Number of embedded passages.
    pub fn passages(&self) -> usize {
        self.payload.entry_doc.len()
    }

    /// A short fingerprint of the indexed content, for status reports.
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        for d in &self.payload.docs {
            h.update(d.source_sha256.as_bytes());
        }
        hex::encode(&h.finalize()[..6])
    }

    /// Length of the vectors (the embedding dimension).
    pub fn dim(&self) -> usize {
        self.payload.dim as usize
    }

    /// The `k` procedures closest to a normalised query vector, best first,
    /// each scored by its closest passage.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<Hit<'_>> {
        let dim = self.payload.dim as usize;
        if query.len() != dim || k == 0 {
            return Vec::new();
        }
        let mut best = vec![f32::NEG_INFINITY; self.payload.docs.len()];
        for (row, &doc) in self
            .payload
            .vectors
            .chunks_exact(dim)
            .zip(&self.payload.entry_doc)
        {
            let s: f32 = row.iter().zip(query).map(|(a, b)| a * b).sum();
            let slot = &mut best[doc as usize];
            if s > *slot {
                *slot = s;
            }
        }
        let mut ranked: Vec<(usize, f32)> = best.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked
            .into_iter()
            .take(k)
            .map(|(i, score)| Hit {
                doc: &self.payload.docs[i],
                score,
            })
            .collect()
    }
}

/// The first 12 characters of a hash for messages. The hash may come from
/// a file another party wrote, so it is cut at a character, never inside
/// one.
fn short(hash: &str) -> &str {
    hash.char_indices()
        .nth(12)
        .map_or(hash, |(i, _)| &hash[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_shortened_at_a_character() {
        assert_eq!(short("0123456789abcdef"), "0123456789ab");
        assert_eq!(short("abc"), "abc");
        assert_eq!(short("25 cal/cm² and more"), "25 cal/cm² a");
    }

    /// Found by the `kb_index` fuzz target: an index whose model hash has a
    /// multi-byte character across byte 12 took the daemon down while the
    /// mismatch error was written.
    #[test]
    fn an_index_whose_model_hash_is_not_hex_is_refused_not_a_panic() {
        let data: &[u8] = &[
            19, 116, 114, 105, 97, 103, 101, 45, 115, 116, 117, 100, 101, 110, 116, 45, 105, 110,
            116, 51, 32, 61, 32, 50, 53, 32, 99, 97, 108, 47, 99, 109, 194, 178, 44, 32, 67, 65,
            84, 32, 52, 32, 61, 32, 52, 48, 32, 99, 97, 108, 47, 99, 109, 194, 178, 55, 0, 0, 0, 0,
            64, 51, 49, 50, 53, 102, 98, 50, 50, 102, 100, 54, 98, 55, 55, 52, 55, 53, 97, 54, 53,
            102, 98, 97, 49, 97, 102, 50, 55, 49, 50, 54, 101, 101, 99, 51, 51, 56, 52, 53, 50,
            101, 99, 49, 57, 97, 55, 56, 57, 56, 50, 51, 51, 48, 52, 102, 101, 48, 48, 49, 40, 80,
            101, 114, 109, 105, 116, 32, 116, 111, 32, 119, 111, 114, 107, 32, 97, 110, 100, 32,
            108, 111, 99, 107, 111, 117, 116, 47, 116, 97, 103, 111, 117, 116, 32, 98, 97, 115, 0,
            0, 0, 0, 0, 0, 0, 129, 114, 103, 0, 0, 0, 1, 97, 112, 79, 224, 140, 139, 132, 104, 101,
            101, 112, 32, 115, 32, 91,
        ];
        let mut framed = MAGIC.to_vec();
        framed.push(FORMAT);
        framed.extend_from_slice(&Sha256::digest(data));
        framed.extend_from_slice(data);
        let sha = "0".repeat(64);
        assert!(Index::from_bytes(&framed, Path::new("fuzz.idx"), &sha).is_err());
    }
}
