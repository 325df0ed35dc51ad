//! `manifest.toml`: what a model directory contains and how to run it.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Parsed `manifest.toml` of a model directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Model name, also the directory name.
    pub name: String,
    /// Version of the artifacts.
    pub version: String,
    /// Width of the pooled embedding.
    pub embedding_dim: usize,
    /// Longest token sequence fed to the encoder; longer inputs are truncated.
    pub max_seq_len: usize,
    /// Pooling of the token states into one vector (only `mean` today).
    pub pooling: String,
    /// Whether the pooled vector is L2-normalised.
    pub normalize: bool,
    /// Which int8 form the graph uses.
    pub quantization: String,
    /// Classification heads carried by the graph, computed in the same pass
    /// as the embedding.
    #[serde(default)]
    pub heads: Vec<Head>,
    /// Graph input names.
    pub inputs: Inputs,
    /// Graph output names.
    pub outputs: Outputs,
    /// sha256 of every file in the directory, by file name.
    pub files: BTreeMap<String, String>,
    /// Where the weights came from and what built the artifacts.
    #[serde(default)]
    pub provenance: BTreeMap<String, toml::Value>,
}

/// Names of the graph inputs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    pub input_ids: String,
    pub attention_mask: String,
    #[serde(default)]
    pub token_type_ids: Option<String>,
}

/// Names of the graph outputs. Exactly one of `hidden` and `pooled` names
/// where the embedding comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// Token states `[1, S, embedding_dim]`, mean-pooled by the engine.
    #[serde(default)]
    pub hidden: Option<String>,
    /// An embedding already pooled by the graph, `[1, embedding_dim]`.
    #[serde(default)]
    pub pooled: Option<String>,
}

/// A classification head: an output of logits over labels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// Head name, e.g. `category`.
    pub name: String,
    /// Graph output carrying the logits `[1, labels.len()]`.
    pub output: String,
    /// Label of each logit, in order.
    pub labels: Vec<String>,
    /// Calibration temperature applied to the logits before softmax.
    #[serde(default = "one")]
    pub temperature: f32,
}

fn one() -> f32 {
    1.0
}

impl Manifest {
    /// Parses and checks a manifest's TOML text.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks what serde cannot: supported pooling, sane sizes, required files.
    pub fn validate(&self) -> Result<(), String> {
        if self.pooling != "mean" {
            return Err(format!(
                "pooling {:?} is not supported (only \"mean\")",
                self.pooling
            ));
        }
        if self.embedding_dim == 0 || self.embedding_dim > 4096 {
            return Err(format!(
                "embedding_dim {} is out of range 1..=4096",
                self.embedding_dim
            ));
        }
        if self.max_seq_len < 8 || self.max_seq_len > 512 {
            return Err(format!(
                "max_seq_len {} is out of range 8..=512",
                self.max_seq_len
            ));
        }
        for required in ["model.onnx", "tokenizer.json"] {
            if !self.files.contains_key(required) {
                return Err(format!("[files] has no sha256 for {required}"));
            }
        }
        for (file, hash) in &self.files {
            if file.contains('/') || file.contains("..") {
                return Err(format!("[files] entry {file:?} must be a plain file name"));
            }
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("[files] sha256 of {file} is not 64 hex digits"));
            }
        }
        match (&self.outputs.hidden, &self.outputs.pooled) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return Err(
                    "[outputs] must name exactly one of `hidden` (token states) and `pooled`"
                        .into(),
                )
            }
        }
        for (i, head) in self.heads.iter().enumerate() {
            if self.heads[..i].iter().any(|h| h.name == head.name) {
                return Err(format!("head {} is listed twice", head.name));
            }
            if head.labels.is_empty() {
                return Err(format!("head {} has no labels", head.name));
            }
            if !(head.temperature.is_finite() && head.temperature > 0.0) {
                return Err(format!("head {} has a non-positive temperature", head.name));
            }
        }
        Ok(())
    }
}
