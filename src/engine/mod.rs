//! The on-device encoder: loads a model directory (manifest, tokenizer,
//! int8 ONNX graph), verifies it, and turns text into a pooled, normalised
//! embedding and, when the graph has them, each head's calibrated
//! probabilities, all from one tract pass.
//!
//! Pure computation: no sockets, no configuration beyond the manifest. The
//! optimised plan is built once and shared; each call gets its own state, so
//! one [`Engine`] serves any number of worker threads.

mod manifest;

pub use manifest::{Head, Inputs, Manifest, Outputs};

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokenizers::Tokenizer;
use tract_onnx::prelude::*;

/// What can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("model manifest {path} is invalid: {reason}")]
    Manifest { path: PathBuf, reason: String },
    #[error(
        "{path} does not match its manifest (sha256 {actual}, expected {expected}): \
         the file is corrupt or belongs to another model"
    )]
    HashMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("tokenizer {path} cannot be loaded: {reason}")]
    Tokenizer { path: PathBuf, reason: String },
    #[error("model {path} cannot be loaded: {reason}")]
    Model { path: PathBuf, reason: String },
    #[error("tokenizing failed: {0}")]
    Tokenize(String),
    #[error("inference failed: {0}")]
    Inference(String),
}

/// Result of encoding one text.
#[derive(Debug, Clone)]
pub struct Embedding {
    /// The pooled, L2-normalised vector.
    pub vector: Vec<f32>,
    /// Tokens fed to the encoder (after truncation).
    pub tokens: usize,
    /// Whether the text was longer than the model's window.
    pub truncated: bool,
    /// One entry per manifest head, in manifest order.
    pub heads: Vec<HeadOutput>,
}

/// One window of a text longer than the model's window: the bytes it
/// covers and the encoder's pass over them.
#[derive(Debug, Clone)]
pub struct Window {
    /// Byte range of the text the window's tokens come from.
    pub start: usize,
    pub end: usize,
    pub embedding: Embedding,
}

/// The byte range of the text that tokens with these offsets cover.
fn span(offsets: &[(usize, usize)], len: usize) -> (usize, usize) {
    let a = offsets.iter().map(|o| o.0).min().unwrap_or(0);
    let b = offsets.iter().map(|o| o.1).max().unwrap_or(0);
    (a.min(len), b.min(len))
}

/// Tokens each window shares with the one before it.
fn window_overlap(max_length: usize) -> usize {
    (max_length / 8).clamp(1, 16)
}

/// What one classification head said about a text.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadOutput {
    /// Raw logits, one per label.
    pub logits: Vec<f32>,
    /// Softmax of the logits divided by the head's temperature: calibrated
    /// probabilities that sum to 1.
    pub probs: Vec<f32>,
}

/// Softmax of `logits / temperature`, computed stably.
pub fn softmax(logits: &[f32], temperature: f32) -> Vec<f32> {
    let t = if temperature > 0.0 { temperature } else { 1.0 };
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|l| ((l - max) / t).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// How the engine lays out a model in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// Keep matmul weights as f16 (half the memory); the kernels widen them
    /// to f32 as they load them, so results stay within f16 rounding of the
    /// f32 weights. Int8 weights are dequantized at load time, so this is
    /// where their memory saving is kept.
    pub f16_weights: bool,
    /// Cut inputs to this many tokens (never beyond the model's own limit).
    pub max_seq_len: Option<usize>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            f16_weights: true,
            max_seq_len: None,
        }
    }
}

/// A loaded, verified model ready to run.
pub struct Engine {
    manifest: Manifest,
    tokenizer: Tokenizer,
    /// Longest token sequence the model reads at once, special tokens included.
    max_length: usize,
    plan: Arc<TypedRunnableModel>,
    /// For each graph input slot, which tensor feeds it.
    input_roles: Vec<InputRole>,
    embedding: EmbeddingSlot,
    /// Output slot of each manifest head, in manifest order.
    head_slots: Vec<usize>,
    model_sha256: String,
    dir: PathBuf,
    load_time: Duration,
}

/// Where the embedding is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmbeddingSlot {
    /// Token states to mean-pool.
    Hidden(usize),
    /// A vector the graph pooled itself.
    Pooled(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputRole {
    Ids,
    Mask,
    TypeIds,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("model", &self.manifest.name)
            .field("dir", &self.dir)
            .field("model_sha256", &self.model_sha256)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, EngineError> {
    std::fs::read(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Lowercase hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Engine {
    /// Loads `dir/manifest.toml`, checks every file's sha256, then loads the
    /// tokenizer and builds one optimised tract plan with a symbolic sequence
    /// length.
    pub fn load(dir: &Path) -> Result<Engine, EngineError> {
        Engine::load_with(dir, &EngineOptions::default())
    }

    /// [`Engine::load`] with explicit options.
    pub fn load_with(dir: &Path, opts: &EngineOptions) -> Result<Engine, EngineError> {
        let started = Instant::now();
        let manifest_path = dir.join("manifest.toml");
        let manifest = Self::read_manifest(&manifest_path)?;
        let verified = Self::verify_files(dir, &manifest)?;

        let tok_path = dir.join("tokenizer.json");
        let tok_bytes = verified.get("tokenizer.json").expect("validated");
        let mut tokenizer =
            Tokenizer::from_bytes(tok_bytes).map_err(|e| EngineError::Tokenizer {
                path: tok_path.clone(),
                reason: e.to_string(),
            })?;
        tokenizer.with_padding(None);
        let max_length = opts
            .max_seq_len
            .map_or(manifest.max_seq_len, |n| n.min(manifest.max_seq_len));
        // The whole text is tokenized, and cut into the model's windows
        // here ([`Engine::windows`]): with truncation set, the tokenizer
        // stops early and its overflowing parts do not reach the text's end.
        tokenizer
            .with_truncation(None)
            .map_err(|e| EngineError::Tokenizer {
                path: tok_path,
                reason: e.to_string(),
            })?;

        steer_kernels(&manifest);
        let model_path = dir.join("model.onnx");
        let model_bytes = verified.get("model.onnx").expect("validated");
        let (plan, input_roles, embedding, head_slots) = build_plan(model_bytes, &manifest, opts)
            .map_err(|e| EngineError::Model {
            path: model_path.clone(),
            reason: format!("{e:#}"),
        })?;
        let model_sha256 = manifest.files["model.onnx"].clone();
        let engine = Engine {
            manifest,
            tokenizer,
            plan,
            input_roles,
            embedding,
            head_slots,
            model_sha256,
            max_length,
            dir: dir.to_path_buf(),
            load_time: Duration::ZERO,
        };
        // A first run catches graphs that load but cannot execute.
        engine.embed("warm up").map_err(|e| EngineError::Model {
            path: model_path,
            reason: format!("test inference failed: {e}"),
        })?;
        Ok(Engine {
            load_time: started.elapsed(),
            ..engine
        })
    }

    fn read_manifest(path: &Path) -> Result<Manifest, EngineError> {
        let text = String::from_utf8(read(path)?).map_err(|_| EngineError::Manifest {
            path: path.to_path_buf(),
            reason: "not valid UTF-8".into(),
        })?;
        Manifest::parse(&text).map_err(|reason| EngineError::Manifest {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Reads every file named by the manifest and checks its hash. Returns the
    /// bytes of the files the engine needs so they are read once.
    fn verify_files(
        dir: &Path,
        manifest: &Manifest,
    ) -> Result<std::collections::HashMap<&'static str, Vec<u8>>, EngineError> {
        let mut kept = std::collections::HashMap::new();
        for (name, expected) in &manifest.files {
            let path = dir.join(name);
            let bytes = read(&path)?;
            let actual = sha256_hex(&bytes);
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(EngineError::HashMismatch {
                    path,
                    expected: expected.clone(),
                    actual,
                });
            }
            match name.as_str() {
                "model.onnx" => {
                    kept.insert("model.onnx", bytes);
                }
                "tokenizer.json" => {
                    kept.insert("tokenizer.json", bytes);
                }
                _ => {}
            }
        }
        Ok(kept)
    }

    /// The manifest this engine was loaded from.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// sha256 of `model.onnx`: the identity knowledge-base indexes are tied to.
    pub fn model_sha256(&self) -> &str {
        &self.model_sha256
    }

    /// The directory the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Time spent in [`Engine::load`], hashing and optimisation included.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// Width of the embedding.
    pub fn dim(&self) -> usize {
        self.manifest.embedding_dim
    }

    /// Token ids for a text, special tokens included, truncated to the window.
    pub fn tokenize(&self, text: &str) -> Result<(Vec<u32>, bool), EngineError> {
        let parts = self.windows(text)?;
        let truncated = parts.len() > 1;
        let first = parts.into_iter().next().map(|(ids, _, _)| ids);
        Ok((first.unwrap_or_default(), truncated))
    }

    /// The text's windows: each is the model's special tokens around at
    /// most `max_length - 2` of the text's tokens, the next window starting
    /// [`window_overlap`] tokens before the end of the one before; with the
    /// byte range of the text each covers.
    fn windows(&self, text: &str) -> Result<Vec<(Vec<u32>, usize, usize)>, EngineError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EngineError::Tokenize(e.to_string()))?;
        let ids = enc.get_ids();
        let special = enc.get_special_tokens_mask();
        let offsets = enc.get_offsets();
        // The special tokens around the text ([CLS] … [SEP]) and the text's own.
        let lead: Vec<u32> = ids
            .iter()
            .zip(special)
            .take_while(|(_, &m)| m == 1)
            .map(|(i, _)| *i)
            .collect();
        let trail_n = special.iter().rev().take_while(|&&m| m == 1).count();
        let body_end = ids.len().saturating_sub(trail_n).max(lead.len());
        let trail: Vec<u32> = ids[body_end..].to_vec();
        let body = lead.len()..body_end;
        let room = self
            .max_length
            .saturating_sub(lead.len() + trail.len())
            .max(1);
        if body.len() <= room {
            let (a, b) = span(&offsets[body.clone()], text.len());
            return Ok(vec![(ids.to_vec(), a, b)]);
        }
        let step = room.saturating_sub(window_overlap(self.max_length)).max(1);
        let mut out = Vec::new();
        let mut start = body.start;
        loop {
            let end = (start + room).min(body.end);
            let mut w = Vec::with_capacity(end - start + lead.len() + trail.len());
            w.extend_from_slice(&lead);
            w.extend_from_slice(&ids[start..end]);
            w.extend_from_slice(&trail);
            let (a, b) = span(&offsets[start..end], text.len());
            out.push((w, a, b));
            if end == body.end {
                break;
            }
            start += step;
        }
        Ok(out)
    }

    /// Tokenizes and encodes a text.
    pub fn embed(&self, text: &str) -> Result<Embedding, EngineError> {
        let (ids, truncated) = self.tokenize(text)?;
        let (vector, heads) = self.run_ids(&ids)?;
        Ok(Embedding {
            vector,
            tokens: ids.len(),
            truncated,
            heads,
        })
    }

    /// Encodes every window of `text`, in order: one window for a text that
    /// fits the model, more (each overlapping the one before) for a longer
    /// one, at most `max_windows` (the last ones are dropped beyond that,
    /// and the first window's `truncated` says so).
    pub fn embed_windows(
        &self,
        text: &str,
        max_windows: usize,
    ) -> Result<Vec<Window>, EngineError> {
        let parts = self.windows(text)?;
        let keep = max_windows.max(1);
        let dropped = parts.len() > keep;
        let mut out = Vec::with_capacity(parts.len().min(keep));
        for (ids, start, end) in parts.into_iter().take(keep) {
            let (vector, heads) = self.run_ids(&ids)?;
            out.push(Window {
                start,
                end,
                embedding: Embedding {
                    vector,
                    tokens: ids.len(),
                    truncated: false,
                    heads,
                },
            });
        }
        if let Some(first) = out.first_mut() {
            first.embedding.truncated = dropped;
        }
        Ok(out)
    }

    /// Runs the encoder on token ids and returns the pooled embedding.
    pub fn embed_ids(&self, ids: &[u32]) -> Result<Vec<f32>, EngineError> {
        Ok(self.run_ids(ids)?.0)
    }

    /// One pass over token ids: the pooled embedding and every head.
    pub fn run_ids(&self, ids: &[u32]) -> Result<(Vec<f32>, Vec<HeadOutput>), EngineError> {
        if ids.is_empty() {
            return Err(EngineError::Tokenize("no tokens".into()));
        }
        let s = ids.len();
        let as_i64: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        let mut inputs: TVec<TValue> = tvec!();
        for role in &self.input_roles {
            let t = match role {
                InputRole::Ids => tract_ndarray::Array2::from_shape_vec((1, s), as_i64.clone()),
                InputRole::Mask => Ok(tract_ndarray::Array2::from_elem((1, s), 1i64)),
                InputRole::TypeIds => Ok(tract_ndarray::Array2::from_elem((1, s), 0i64)),
            }
            .map_err(|e| EngineError::Inference(e.to_string()))?;
            inputs.push(Tensor::from(t).into());
        }
        let outputs = self
            .plan
            .run(inputs)
            .map_err(|e| EngineError::Inference(format!("{e:#}")))?;
        let dim = self.manifest.embedding_dim;
        let mut pooled = match self.embedding {
            EmbeddingSlot::Hidden(slot) => mean_pool(output(&outputs, slot)?, dim)?,
            EmbeddingSlot::Pooled(slot) => {
                let view = output(&outputs, slot)?;
                if view.shape() != [1, dim] {
                    return Err(EngineError::Inference(format!(
                        "pooled output has shape {:?}, expected [1, {dim}]",
                        view.shape()
                    )));
                }
                view.iter().copied().collect()
            }
        };
        if self.manifest.normalize {
            normalize(&mut pooled);
        }
        if pooled.iter().any(|v| !v.is_finite()) {
            return Err(EngineError::Inference("embedding is not finite".into()));
        }
        let mut heads = Vec::with_capacity(self.head_slots.len());
        for (head, &slot) in self.manifest.heads.iter().zip(&self.head_slots) {
            let view = output(&outputs, slot)?;
            let n = head.labels.len();
            if view.shape() != [1, n] {
                return Err(EngineError::Inference(format!(
                    "head {} has shape {:?}, expected [1, {n}]",
                    head.name,
                    view.shape()
                )));
            }
            let logits: Vec<f32> = view.iter().copied().collect();
            if logits.iter().any(|v| !v.is_finite()) {
                return Err(EngineError::Inference(format!(
                    "head {} gave a non-finite logit",
                    head.name
                )));
            }
            let probs = softmax(&logits, head.temperature);
            heads.push(HeadOutput { logits, probs });
        }
        Ok((pooled, heads))
    }
}

fn output(
    outputs: &TVec<TValue>,
    slot: usize,
) -> Result<tract_ndarray::ArrayViewD<'_, f32>, EngineError> {
    outputs
        .get(slot)
        .ok_or_else(|| EngineError::Inference(format!("graph output {slot} is missing")))?
        .to_plain_array_view::<f32>()
        .map_err(|e| EngineError::Inference(e.to_string()))
}

/// Mean of the token states `[1, S, dim]`.
fn mean_pool(
    view: tract_ndarray::ArrayViewD<'_, f32>,
    dim: usize,
) -> Result<Vec<f32>, EngineError> {
    let shape = view.shape();
    if shape.len() != 3 || shape[0] != 1 || shape[2] != dim {
        return Err(EngineError::Inference(format!(
            "hidden-state output has shape {shape:?}, expected [1, S, {dim}]"
        )));
    }
    let mut pooled = vec![0f32; dim];
    let n = shape[1].max(1) as f32;
    for row in view.outer_iter().next().expect("batch 1").outer_iter() {
        for (acc, v) in pooled.iter_mut().zip(row.iter()) {
            *acc += *v;
        }
    }
    pooled.iter_mut().for_each(|v| *v /= n);
    Ok(pooled)
}

/// Scales a vector to unit L2 norm (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// On x86_64, tract's AVX2 i8×i8→i32 matmul kernel runs an SSE-encoded
/// load inside a VEX loop, and the resulting state-transition stalls make
/// integer matmuls about 6× slower than its AVX kernel (measured in
/// `models/README.md`). For integer-matmul graphs, prefer the AVX kernels
/// unless the operator chose an ISA with `TRACT_CPU_ISA`. Kernel choice is
/// fixed at the first optimisation, so this runs before any plan is built.
fn steer_kernels(manifest: &Manifest) {
    if cfg!(target_arch = "x86_64")
        && manifest.quantization.starts_with("dynamic-int8")
        && std::env::var_os("TRACT_CPU_ISA").is_none()
    {
        tract_onnx::prelude::tract_data::knobs::set_str("TRACT_CPU_ISA", "-avx2");
    }
}

type BuiltPlan = (
    Arc<TypedRunnableModel>,
    Vec<InputRole>,
    EmbeddingSlot,
    Vec<usize>,
);

fn build_plan(bytes: &[u8], manifest: &Manifest, opts: &EngineOptions) -> TractResult<BuiltPlan> {
    let mut model = tract_onnx::onnx()
        .with_ignore_value_info(true)
        .with_ignore_output_shapes(true)
        .model_for_read(&mut std::io::Cursor::new(bytes))?;
    let seq = model.sym("S");
    let mut roles = Vec::new();
    for slot in 0..model.inputs.len() {
        let name = model.node(model.inputs[slot].node).name.clone();
        let role = if name == manifest.inputs.input_ids {
            InputRole::Ids
        } else if name == manifest.inputs.attention_mask {
            InputRole::Mask
        } else if Some(&name) == manifest.inputs.token_type_ids.as_ref() {
            InputRole::TypeIds
        } else {
            anyhow::bail!("graph input {name:?} is not named in the manifest");
        };
        model.set_input_fact(slot, i64::fact([1.to_dim(), seq.to_dim()]).into())?;
        roles.push(role);
    }
    if !roles.contains(&InputRole::Ids) {
        anyhow::bail!("graph has no input named {:?}", manifest.inputs.input_ids);
    }
    let outputs = model.output_outlets()?.to_vec();
    let slot_of = |name: &str| {
        outputs
            .iter()
            .position(|o| {
                model.node(o.node).name == name || model.outlet_label(*o).is_some_and(|l| l == name)
            })
            .ok_or_else(|| anyhow::anyhow!("graph has no output named {name:?}"))
    };
    let embedding = match (&manifest.outputs.hidden, &manifest.outputs.pooled) {
        (Some(h), _) => EmbeddingSlot::Hidden(slot_of(h)?),
        (None, Some(p)) => EmbeddingSlot::Pooled(slot_of(p)?),
        (None, None) => anyhow::bail!("the manifest names no embedding output"),
    };
    let head_slots = manifest
        .heads
        .iter()
        .map(|h| slot_of(&h.output))
        .collect::<TractResult<Vec<_>>>()?;
    let mut typed = model.into_typed()?.into_decluttered()?;
    if opts.f16_weights {
        let n = weights_to_f16(&mut typed)?;
        tracing::debug!(matrices = n, "matmul weights kept as f16");
    }
    let plan = typed.into_optimized()?.into_runnable()?;
    Ok((plan, roles, embedding, head_slots))
}

/// Stores every large constant f32 matrix that only feeds matmuls as f16;
/// the matmul kernels widen it to f32 as they load it.
fn weights_to_f16(model: &mut TypedModel) -> TractResult<usize> {
    use tract_onnx::tract_core::ops::einsum::EinSum;
    use tract_onnx::tract_core::ops::konst::Const;
    let mut converted = 0;
    for id in 0..model.nodes.len() {
        let node = &model.nodes[id];
        let Some(k) = node.op_as::<Const>() else {
            continue;
        };
        let t = k.val();
        let succ = &node.outputs[0].successors;
        if t.datum_type() != f32::datum_type()
            || t.rank() != 2
            || t.len() < 16 * 1024
            || succ.is_empty()
            || !succ.iter().all(|s| model.nodes[s.node].op_is::<EinSum>())
        {
            continue;
        }
        let half = Arc::new(t.cast_to::<f16>()?.into_owned());
        let node = &mut model.nodes[id];
        node.outputs[0].fact = TypedFact::try_from(half.clone())?;
        node.op = Box::new(Const::new(half)?);
        converted += 1;
    }
    Ok(converted)
}
