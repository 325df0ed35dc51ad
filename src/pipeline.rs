//! The request path without I/O: encode, retrieve, triage. Shared by the
//! daemon's workers and by `slmd triage --in-process`, so both give exactly
//! the same decisions.

use crate::engine::{Embedding, Engine, EngineError, HeadOutput, Manifest, Window};
use crate::kb::{Index, IndexError};
use crate::labels::{Category, Urgency};
use crate::triage::{self, Decision, HeadSignals, RequestOptions, TriageConfig, WindowNote};
use std::path::Path;

/// Most encoder windows read from one text: enough for a text of the
/// protocol's limit ([`crate::limits::MAX_TEXT`]) even at one token a byte
/// (16 384 tokens, 110 new ones a window), so every text the socket takes
/// is read whole. The hazard rules read all of any text.
pub const MAX_WINDOWS: usize = 150;

/// Which window of a long text asks the question: the one with the most
/// question marks and question words, else the one most like prose (a
/// pasted log or register dump is mostly digits and symbols), else the
/// first.
pub fn question_window(spans: &[&str]) -> usize {
    let score = |s: &str| -> f32 {
        let low = s.to_lowercase();
        let asks = low.matches('?').count()
            + QUESTION_WORDS
                .iter()
                .map(|w| {
                    low.split(['.', '\n', '!', ';'])
                        .filter(|sentence| {
                            let t = sentence.trim_start();
                            t.starts_with(w)
                                && t[w.len()..].starts_with(|c: char| !c.is_alphanumeric())
                        })
                        .count()
                })
                .sum::<usize>();
        let letters = s.chars().filter(|c| c.is_alphabetic()).count();
        let visible = s.chars().filter(|c| !c.is_whitespace()).count().max(1);
        asks as f32 + letters as f32 / visible as f32
    };
    let mut best = (0, f32::NEG_INFINITY);
    for (i, s) in spans.iter().enumerate() {
        let v = score(s);
        if v > best.1 + 1e-6 {
            best = (i, v);
        }
    }
    best.0
}

const QUESTION_WORDS: &[&str] = &[
    "how", "what", "why", "where", "which", "when", "can", "could", "should", "is", "are", "does",
    "do", "any idea", "help", "please", "pls", "anyone",
];

/// Why the pipeline could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("model {model} has heads slmd cannot use: {reason}")]
    Heads { model: String, reason: String },
}

/// Where each label of the triage heads sits in the model's outputs.
#[derive(Debug, Clone)]
struct HeadLayout {
    category: (usize, [usize; 7]),
    urgency: (usize, [usize; 4]),
    in_scope: (usize, usize),
}

impl HeadLayout {
    /// `None` for a model without heads; an error for heads that do not
    /// carry exactly the taxonomy's labels.
    fn from_manifest(m: &Manifest) -> Result<Option<HeadLayout>, String> {
        if m.heads.is_empty() {
            return Ok(None);
        }
        let find = |name: &str, labels: &[&str]| -> Result<(usize, Vec<usize>), String> {
            let (i, head) = m
                .heads
                .iter()
                .enumerate()
                .find(|(_, h)| h.name == name)
                .ok_or_else(|| format!("no {name:?} head"))?;
            if head.labels.len() != labels.len() {
                return Err(format!(
                    "head {name} has {} labels, expected {}",
                    head.labels.len(),
                    labels.len()
                ));
            }
            let at = labels
                .iter()
                .map(|l| {
                    head.labels
                        .iter()
                        .position(|x| x == l)
                        .ok_or_else(|| format!("head {name} has no label {l:?}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((i, at))
        };
        let cats: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        let urgs: Vec<&str> = Urgency::ALL.iter().map(|u| u.as_str()).collect();
        let (ci, c) = find("category", &cats)?;
        let (ui, u) = find("urgency", &urgs)?;
        let (si, s) = find("in_scope", &["out", "in"])?;
        Ok(Some(HeadLayout {
            category: (ci, c.try_into().expect("7 labels")),
            urgency: (ui, u.try_into().expect("4 labels")),
            in_scope: (si, s[1]),
        }))
    }

    fn signals(&self, heads: &[HeadOutput]) -> Option<HeadSignals> {
        let pick = |(h, at): (usize, &[usize]), out: &mut [f32]| -> Option<()> {
            let probs = &heads.get(h)?.probs;
            for (o, &i) in out.iter_mut().zip(at) {
                *o = *probs.get(i)?;
            }
            Some(())
        };
        let mut category = [0f32; 7];
        let mut urgency = [0f32; 4];
        pick((self.category.0, &self.category.1), &mut category)?;
        pick((self.urgency.0, &self.urgency.1), &mut urgency)?;
        let in_scope = *heads.get(self.in_scope.0)?.probs.get(self.in_scope.1)?;
        Some(HeadSignals {
            category,
            urgency,
            in_scope,
        })
    }
}

/// Model, knowledge base and triage settings, loaded once.
#[derive(Debug)]
pub struct Pipeline {
    engine: Engine,
    /// Swapped whole when an operator reloads the knowledge base.
    index: std::sync::RwLock<std::sync::Arc<Index>>,
    /// Swapped whole when an operator's config is applied.
    triage: std::sync::RwLock<std::sync::Arc<TriageConfig>>,
    top_k: usize,
    heads: Option<HeadLayout>,
    /// Set once the uplink runs: whether its session is up.
    online: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Set by the daemon: the escalation budget.
    budget: std::sync::OnceLock<std::sync::Arc<crate::policy::Budget>>,
}

impl Pipeline {
    /// Loads the model, then the index (refused if another model built it).
    pub fn load(
        model_dir: &Path,
        index_path: &Path,
        cfg: &crate::config::Config,
    ) -> Result<Pipeline, LoadError> {
        // The rules' patterns compile while the model loads.
        let warm = std::thread::Builder::new()
            .name("slmd-warm".into())
            .spawn(triage::warm);
        let engine = Engine::load_with(model_dir, &cfg.engine.options())?;
        let index = Index::load(index_path, engine.model_sha256())?;
        if let Ok(w) = warm {
            let _ = w.join();
        }
        Pipeline::new(engine, index, cfg.triage.clone(), cfg.top_k)
    }

    /// Puts the parts together; refused when the model's heads do not carry
    /// the taxonomy's labels.
    pub fn new(
        engine: Engine,
        index: Index,
        triage: TriageConfig,
        top_k: usize,
    ) -> Result<Pipeline, LoadError> {
        let heads =
            HeadLayout::from_manifest(engine.manifest()).map_err(|reason| LoadError::Heads {
                model: engine.manifest().name.clone(),
                reason,
            })?;
        Ok(Pipeline {
            engine,
            index: std::sync::RwLock::new(std::sync::Arc::new(index)),
            triage: std::sync::RwLock::new(std::sync::Arc::new(triage)),
            top_k: top_k.max(1),
            heads,
            online: std::sync::OnceLock::new(),
            budget: std::sync::OnceLock::new(),
        })
    }

    /// The triage settings decisions use now.
    pub fn triage_config(&self) -> std::sync::Arc<TriageConfig> {
        self.triage
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the triage settings at once: a decision sees the old ones
    /// or the new ones, never a mix.
    pub fn set_triage_config(&self, cfg: TriageConfig) {
        *self.triage.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(cfg);
    }

    /// Decisions from now on see the uplink's state through `online`
    /// (before this, and without an uplink, escalations count as offline).
    pub fn attach_uplink(&self, online: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        let _ = self.online.set(online);
    }

    /// Decisions from now on respect this escalation budget.
    pub fn attach_budget(&self, budget: std::sync::Arc<crate::policy::Budget>) {
        let _ = self.budget.set(budget);
    }

    /// Whether decisions come from the model's heads (or the retrieval vote).
    pub fn has_heads(&self) -> bool {
        self.heads.is_some()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn index(&self) -> std::sync::Arc<Index> {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the index at `path` again and, if it loads and belongs to this
    /// model, serves from it; on any error the index in use is kept.
    pub fn reload_index(&self, path: &Path) -> Result<std::sync::Arc<Index>, LoadError> {
        let fresh = std::sync::Arc::new(Index::load(path, self.engine.model_sha256())?);
        *self
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
        Ok(fresh)
    }

    /// Triage one text, read whole: every window of it goes through the
    /// encoder (see [`Pipeline::decide_windows`]).
    pub fn decide(&self, text: &str, no_egress: bool) -> Result<Decision, EngineError> {
        let w = self.embed(text)?;
        self.decide_windows(text, &w, no_egress, &self.triage_config())
    }

    /// The encoder's passes over `text`, one per window, for
    /// [`Pipeline::decide_windows`]: a caller that tries several settings
    /// on one text runs the model once.
    pub fn embed(&self, text: &str) -> Result<Vec<Window>, EngineError> {
        self.engine.embed_windows(text, MAX_WINDOWS)
    }

    /// The decision on `text` from its windows' passes, under the triage
    /// settings `cfg` (retrieval, rules and policy run again; the model
    /// does not). The window that asks the question gives the category,
    /// the scope and the procedure; the most urgent window gives the
    /// urgency; the hazard rules read the whole text.
    pub fn decide_windows(
        &self,
        text: &str,
        windows: &[Window],
        no_egress: bool,
        cfg: &TriageConfig,
    ) -> Result<Decision, EngineError> {
        let first = windows
            .first()
            .ok_or_else(|| EngineError::Tokenize("no tokens".into()))?;
        if windows.len() == 1 {
            return self.decide_embedded(text, &first.embedding, None, no_egress, cfg);
        }
        let spans: Vec<&str> = windows
            .iter()
            .map(|w| text.get(w.start..w.end).unwrap_or(""))
            .collect();
        let q = question_window(&spans);
        let mut note = WindowNote {
            count: windows.len(),
            question: (q, windows[q].start, windows[q].end),
            urgent: None,
            dropped: first.embedding.truncated,
        };
        let mut e = windows[q].embedding.clone();
        if let Some(layout) = &self.heads {
            // The most urgent window's urgency head stands for the text.
            let mut best: Option<(usize, Urgency, f32)> = None;
            for (i, w) in windows.iter().enumerate() {
                let Some(sig) = layout.signals(&w.embedding.heads) else {
                    continue;
                };
                let (u, p) = sig.top_urgency();
                if best.is_none_or(|(_, bu, bp)| u > bu || (u == bu && p > bp)) {
                    best = Some((i, u, p));
                }
            }
            if let Some((i, _, _)) = best {
                note.urgent = Some((i, windows[i].start, windows[i].end));
                let (uh, at) = (layout.urgency.0, &windows[i].embedding.heads);
                if let (Some(dst), Some(src)) = (e.heads.get_mut(uh), at.get(uh)) {
                    *dst = src.clone();
                }
            }
        }
        self.decide_embedded(text, &e, Some(note), no_egress, cfg)
    }

    /// The decision on `text` from one embedding `e` (the question window's
    /// when `windows` says the text had several).
    fn decide_embedded(
        &self,
        text: &str,
        e: &Embedding,
        windows: Option<WindowNote>,
        no_egress: bool,
        cfg: &TriageConfig,
    ) -> Result<Decision, EngineError> {
        let index = self.index();
        let ranked = index.search(&e.vector, index.docs().len());
        let hits = &ranked[..self.top_k.min(ranked.len())];
        let online = self
            .online
            .get()
            .is_some_and(|o| o.load(std::sync::atomic::Ordering::Relaxed));
        let opts = RequestOptions {
            no_egress,
            truncated: e.truncated,
            windows,
            connectivity: if online {
                crate::policy::Connectivity::Online
            } else {
                crate::policy::Connectivity::Offline
            },
            budget_left: self.budget.get().map_or(u32::MAX, |b| b.left()),
        };
        let heads = match &self.heads {
            Some(layout) => Some(layout.signals(&e.heads).ok_or_else(|| {
                EngineError::Inference("the model returned fewer head outputs than declared".into())
            })?),
            None => None,
        };
        Ok(triage::triage(
            text,
            hits,
            &ranked,
            heads.as_ref(),
            opts,
            cfg,
        ))
    }
}
