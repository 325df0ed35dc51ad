//! The request path without I/O: encode, retrieve, triage. Shared by the
//! daemon's workers and by `slmd triage --in-process`, so both give exactly
//! the same decisions.

use crate::engine::{Engine, EngineError};
use crate::kb::{Index, IndexError};
use crate::triage::{self, Decision, RequestOptions, TriageConfig};
use std::path::Path;

/// Why the pipeline could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// Model, knowledge base and triage settings, loaded once.
#[derive(Debug)]
pub struct Pipeline {
    engine: Engine,
    index: Index,
    triage: TriageConfig,
    top_k: usize,
}

impl Pipeline {
    /// Loads the model, then the index (refused if another model built it).
    pub fn load(
        model_dir: &Path,
        index_path: &Path,
        cfg: &crate::config::Config,
    ) -> Result<Pipeline, LoadError> {
        let engine = Engine::load_with(model_dir, &cfg.engine.options())?;
        let index = Index::load(index_path, engine.model_sha256())?;
        Ok(Pipeline::new(engine, index, cfg.triage.clone(), cfg.top_k))
    }

    pub fn new(engine: Engine, index: Index, triage: TriageConfig, top_k: usize) -> Pipeline {
        Pipeline {
            engine,
            index,
            triage,
            top_k: top_k.max(1),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Triage one text.
    pub fn decide(&self, text: &str, no_egress: bool) -> Result<Decision, EngineError> {
        let e = self.engine.embed(text)?;
        let hits = self.index.search(&e.vector, self.top_k);
        let opts = RequestOptions {
            no_egress,
            truncated: e.truncated,
            // No uplink yet: escalations are kept on the device.
            ..RequestOptions::default()
        };
        Ok(triage::triage(text, &hits, opts, &self.triage))
    }
}
