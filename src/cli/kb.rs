//! `slmd kb build | check | search`.

use crate::engine::Engine;
use crate::kb::{self, Index};
use anyhow::{bail, Context};
use std::path::Path;

/// Embeds the procedures of `kb_dir` and writes the index.
pub fn build(model_dir: &Path, kb_dir: &Path, out: &Path) -> anyhow::Result<()> {
    let engine = Engine::load(model_dir)?;
    let docs = kb::load_dir(kb_dir)?;
    let n = docs.len();
    let index = Index::build(&engine, docs)?;
    index.save(out)?;
    println!(
        "wrote {} ({n} procedures, {} passages, model {} {})",
        out.display(),
        index.passages(),
        engine.manifest().name,
        &engine.model_sha256()[..12]
    );
    Ok(())
}

/// Fails unless the index matches the model and every procedure file.
pub fn check(model_dir: &Path, kb_dir: &Path, index_path: &Path) -> anyhow::Result<()> {
    let engine = Engine::load(model_dir)?;
    let index = Index::load(index_path, engine.model_sha256())?;
    let docs = kb::load_dir(kb_dir)?;
    let stale: Vec<&str> = docs
        .iter()
        .filter(|d| {
            !index
                .docs()
                .iter()
                .any(|i| i.id == d.id && i.source_sha256 == d.source_sha256)
        })
        .map(|d| d.id.as_str())
        .collect();
    if !stale.is_empty() || docs.len() != index.docs().len() {
        bail!(
            "{} is stale ({} procedures on disk, {} indexed; changed: {}); run `slmd kb build`",
            index_path.display(),
            docs.len(),
            index.docs().len(),
            stale.join(", ")
        );
    }
    println!(
        "{}: {} procedures, up to date",
        index_path.display(),
        docs.len()
    );
    Ok(())
}

/// Prints the nearest procedures for a text.
pub fn search(model_dir: &Path, index_path: &Path, text: &str, k: usize) -> anyhow::Result<()> {
    let engine = Engine::load(model_dir)?;
    let index = Index::load(index_path, engine.model_sha256())
        .with_context(|| format!("loading {}", index_path.display()))?;
    let e = engine.embed(text)?;
    for hit in index.search(&e.vector, k) {
        println!(
            "{:.3}  {:<10} {:<11} {}",
            hit.score, hit.doc.id, hit.doc.category, hit.doc.title
        );
    }
    Ok(())
}
