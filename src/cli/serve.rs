//! `slmd serve`: load the pipeline, bind the socket, serve until SIGTERM.

use crate::api::server::{self, Server, ServerInfo};
use crate::config::Config;
use crate::pipeline::Pipeline;
use crate::workers::{Stats, WorkerPool};
use anyhow::{bail, Context};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Resolved paths and settings of one daemon run.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub config: Config,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    pub model_dir: PathBuf,
    pub kb_index: PathBuf,
}

/// Loads everything, binds, and serves until `shutdown` fires (or SIGINT /
/// SIGTERM when `signals` is set).
pub async fn serve(
    opts: ServeOptions,
    shutdown: CancellationToken,
    signals: bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let cfg = &opts.config;
    std::fs::create_dir_all(&opts.state_dir)
        .with_context(|| format!("cannot create state directory {}", opts.state_dir.display()))?;

    let (model_dir, kb_index, load_cfg) =
        (opts.model_dir.clone(), opts.kb_index.clone(), cfg.clone());
    let pipeline =
        tokio::task::spawn_blocking(move || Pipeline::load(&model_dir, &kb_index, &load_cfg))
            .await
            .context("model loading task failed")??;
    let pipeline = Arc::new(pipeline);
    let engine = pipeline.engine();
    tracing::info!(
        model = %engine.manifest().name,
        quantization = %engine.manifest().quantization,
        load_ms = engine.load_time().as_millis() as u64,
        procedures = pipeline.index().docs().len(),
        "model and knowledge base loaded"
    );
    let info = ServerInfo {
        model: engine.manifest().name.clone(),
        model_sha256: engine.model_sha256().to_string(),
        kb_procedures: pipeline.index().docs().len() as u32,
        kb_hash: pipeline.index().content_hash(),
    };

    let listener = bind(&opts.socket, cfg.api.socket_mode).await?;
    let stats = Arc::new(Stats::default());
    let (pool, workers) =
        WorkerPool::start(pipeline, cfg.engine.threads, cfg.engine.queue_depth, stats)
            .context("cannot start inference threads")?;
    let server = Arc::new(Server::new(pool, cfg.api.clone(), info));
    tracing::info!(
        socket = %opts.socket.display(),
        state_dir = %opts.state_dir.display(),
        ready_ms = started.elapsed().as_millis() as u64,
        "accepting queries"
    );
    println!("slmd: socket {}", opts.socket.display());
    println!("slmd: state   {}", opts.state_dir.display());

    if signals {
        let token = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down: no new connections, finishing queries in flight");
            token.cancel();
        });
    }
    server::run(listener, server, shutdown).await;
    let _ = std::fs::remove_file(&opts.socket);
    // Dropping the last pool handle lets the workers drain and exit.
    for w in workers {
        let _ = tokio::task::spawn_blocking(move || w.join()).await;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Binds the socket: refuses to steal one a live daemon answers on,
/// removes a stale file, sets the mode.
async fn bind(path: &Path, mode: u32) -> anyhow::Result<tokio::net::UnixListener> {
    if let Some(parent) = path.parent() {
        if !parent.exists() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create socket directory {}", parent.display()))?;
            let _ = std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700));
        }
    }
    if path.exists() {
        if tokio::net::UnixStream::connect(path).await.is_ok() {
            bail!("another daemon is already serving on {}", path.display());
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(path)
        .with_context(|| format!("cannot bind socket {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set mode of {}", path.display()))?;
    Ok(listener)
}
