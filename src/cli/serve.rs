//! `slmd serve`: load the pipeline, bind the socket, serve until SIGTERM.

use crate::api::server::{self, Server, ServerInfo};
use crate::config::{Config, RemoteConfig};
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
    std::fs::create_dir_all(&opts.state_dir)
        .with_context(|| format!("cannot create state directory {}", opts.state_dir.display()))?;
    let (config, remote) = with_stored_remote(&opts.config, &opts.state_dir);
    let cfg = &config;
    if let Some(board) = &cfg.board {
        let seen = crate::board::Observed::this_machine();
        let differences = board.differences(&seen);
        if differences.is_empty() {
            tracing::info!(board = %board.name, "board profile matches this machine");
        }
        for d in differences {
            tracing::warn!(board = %board.name, "this machine does not look like the board: {d}");
        }
    }

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

    let device = cfg.escalation.device_id();
    let (state_dir, esc_cfg, dev) = (
        opts.state_dir.clone(),
        cfg.escalation.clone(),
        device.clone(),
    );
    let escalations = tokio::task::spawn_blocking(move || {
        crate::escalations::Escalations::open(&state_dir, &dev, &esc_cfg)
    })
    .await
    .context("outbox task failed")?
    .context("cannot open the escalation outbox")?;
    let escalations = Arc::new(escalations);
    tracing::info!(
        device = %device,
        outbox_depth = escalations.depth(),
        "outbox open; without an uplink, escalations wait in it"
    );

    // A socket passed by systemd (socket activation) wins over binding one.
    let (listener, socket_path, owns_socket) = match activated_socket()? {
        Some((l, path)) => (l, path, false),
        None => (
            bind(&opts.socket, cfg.api.socket_mode).await?,
            opts.socket.clone(),
            true,
        ),
    };
    let stats = Arc::new(Stats::default());
    let pipeline_ref = pipeline.clone();
    let budget = Arc::new(crate::policy::Budget::new(cfg.escalation.max_per_hour));
    pipeline_ref.attach_budget(budget.clone());
    let (pool, workers) =
        WorkerPool::start(pipeline, cfg.engine.threads, cfg.engine.queue_depth, stats)
            .context("cannot start inference threads")?;
    let server = Arc::new(
        Server::new(pool, cfg.api.clone(), info.clone())
            .with_escalations(escalations.clone())
            .with_budget(budget.clone()),
    );
    let uplink = match &cfg.uplink.broker {
        Some(url) => {
            let broker = crate::uplink::Broker::parse(url).map_err(anyhow::Error::msg)?;
            let link = Arc::new(crate::uplink::Link {
                state: server.uplink_state(),
                ..Default::default()
            });
            pipeline_ref.attach_uplink(link.connected.clone());
            let report = Arc::new(DaemonReport {
                server: server.clone(),
                info,
                device: device.clone(),
                link: link.clone(),
                pipeline: pipeline_ref.clone(),
                config: std::sync::Mutex::new((cfg.clone(), remote.clone())),
                kb_index: opts.kb_index.clone(),
                state_dir: opts.state_dir.clone(),
                budget: budget.clone(),
                escalations: escalations.clone(),
            });
            tracing::info!(broker = %url, device = %device, "uplink on");
            Some(tokio::spawn(crate::uplink::run(
                cfg.uplink.clone(),
                broker,
                escalations.clone(),
                report,
                link,
                shutdown.clone(),
            )))
        }
        None => None,
    };
    let expiry = {
        let (esc, stop) = (escalations.clone(), shutdown.clone());
        let answer_timeout = cfg.escalation.answer_timeout;
        let every = (answer_timeout / 2).clamp(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(60),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let esc = esc.clone();
                let swept = tokio::task::spawn_blocking(move || {
                    (esc.expire(), esc.resend_unanswered(answer_timeout))
                })
                .await;
                let Ok((expired, resent)) = swept else {
                    continue;
                };
                if let Err(e) = expired {
                    tracing::warn!(error = %e, "outbox expiry failed");
                }
                if let Err(e) = resent {
                    tracing::warn!(error = %e, "cannot queue unanswered escalations again");
                }
            }
        })
    };
    tracing::info!(
        socket = %socket_path.display(),
        activated = !owns_socket,
        state_dir = %opts.state_dir.display(),
        ready_ms = started.elapsed().as_millis() as u64,
        "accepting queries"
    );
    println!("slmd: socket {}", socket_path.display());
    println!("slmd: state   {}", opts.state_dir.display());
    // Under systemd (Type=notify): ready now, then watchdog pings and
    // memory-budget checks for as long as the daemon serves.
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("accepting queries"),
    ]);
    let keeper = tokio::spawn(keep_alive(
        cfg.board
            .as_ref()
            .map(|b| (b.name.clone(), b.budget.memory_mib)),
        shutdown.clone(),
    ));

    if signals {
        let token = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down: no new connections, finishing queries in flight");
            token.cancel();
        });
    }
    server::run(listener, server, shutdown).await;
    notify(&[sd_notify::NotifyState::Stopping]);
    keeper.abort();
    expiry.abort();
    if let Some(u) = uplink {
        // It says goodbye on the retained status topic, briefly.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), u).await;
    }
    if owns_socket {
        let _ = std::fs::remove_file(&socket_path);
    }
    // Dropping the last pool handle lets the workers drain and exit.
    for w in workers {
        let _ = tokio::task::spawn_blocking(move || w.join()).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Tells systemd (when it started us with `$NOTIFY_SOCKET`) how we are.
fn notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(false, state) {
        tracing::warn!(error = %e, "cannot notify the service manager");
    }
}

/// The listening socket systemd passed (`LISTEN_FDS`), if any; it must be
/// a Unix stream socket.
fn activated_socket() -> anyhow::Result<Option<(tokio::net::UnixListener, PathBuf)>> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Ok(None);
    }
    let std_listener = fds
        .take_unix_listener(0)
        .context("the socket passed by the service manager is not a Unix stream socket")?
        .context("the service manager passed no socket at index 0")?;
    std_listener
        .set_nonblocking(true)
        .context("cannot make the passed socket non-blocking")?;
    let path = std_listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("(passed by the service manager)"));
    let listener =
        tokio::net::UnixListener::from_std(std_listener).context("cannot use the passed socket")?;
    Ok(Some((listener, path)))
}

/// Pings the systemd watchdog at half its interval (when one is set), and
/// warns when resident memory goes over the board's budget.
async fn keep_alive(budget: Option<(String, u64)>, stop: CancellationToken) {
    let mut usec = 0u64;
    let watchdog = sd_notify::watchdog_enabled(false, &mut usec);
    let ping = std::time::Duration::from_micros(usec / 2);
    let every = if watchdog {
        ping.clamp(
            std::time::Duration::from_millis(50),
            std::time::Duration::from_secs(30),
        )
    } else {
        std::time::Duration::from_secs(30)
    };
    let mut tick = tokio::time::interval(every);
    let mut last_check = Instant::now() - std::time::Duration::from_secs(3600);
    let mut over = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if watchdog {
            notify(&[sd_notify::NotifyState::Watchdog]);
        }
        let Some((board, budget_mib)) = &budget else {
            continue;
        };
        if last_check.elapsed() < std::time::Duration::from_secs(30) {
            continue;
        }
        last_check = Instant::now();
        let Some(rss_mib) = crate::board::rss_kib().map(|k| k / 1024) else {
            continue;
        };
        if rss_mib > *budget_mib && !over {
            tracing::warn!(board = %board, rss_mib, budget_mib, "resident memory is over the board's budget");
        } else if rss_mib <= *budget_mib && over {
            tracing::info!(board = %board, rss_mib, budget_mib, "resident memory is back within the board's budget");
        }
        over = rss_mib > *budget_mib;
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// The file configuration with the remote changes of earlier runs over it.
/// Stored changes that cannot be read or no longer validate (after an
/// upgrade, say) are set aside with a warning: the daemon starts on its
/// file configuration, and the next retained message applies again.
fn with_stored_remote(file: &Config, state_dir: &Path) -> (Config, RemoteConfig) {
    let stored = match RemoteConfig::load(state_dir) {
        Ok(Some(r)) => r,
        Ok(None) => return (file.clone(), RemoteConfig::default()),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring the stored remote configuration");
            return (file.clone(), RemoteConfig::default());
        }
    };
    match file.with_remote(&stored) {
        Ok(c) => {
            tracing::info!(
                version = stored.version,
                keys = stored.set.len(),
                "remote configuration of an earlier run applied"
            );
            (c, stored)
        }
        Err(e) => {
            tracing::warn!(version = stored.version, error = %e, "ignoring the stored remote configuration");
            (file.clone(), RemoteConfig::default())
        }
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

/// What the uplink's status and telemetry report about this daemon.
struct DaemonReport {
    server: Arc<Server>,
    info: ServerInfo,
    device: String,
    link: Arc<crate::uplink::Link>,
    pipeline: Arc<Pipeline>,
    /// The configuration in force, remote changes included, and those
    /// changes as stored in the state directory (their version is the one
    /// applied last; 0: none).
    config: std::sync::Mutex<(Config, RemoteConfig)>,
    /// The index file, read again on `reload`.
    kb_index: PathBuf,
    state_dir: PathBuf,
    budget: Arc<crate::policy::Budget>,
    escalations: Arc<crate::escalations::Escalations>,
}

impl crate::uplink::Report for DaemonReport {
    fn reload_kb(&self) -> Result<serde_json::Value, String> {
        let before = self.pipeline.index().content_hash();
        match self.pipeline.reload_index(&self.kb_index) {
            Ok(index) => {
                tracing::info!(
                    path = %self.kb_index.display(),
                    procedures = index.docs().len(),
                    changed = index.content_hash() != before,
                    "knowledge base reloaded"
                );
                Ok(serde_json::json!({
                    "procedures": index.docs().len(),
                    "kb_hash": index.content_hash(),
                    "changed": index.content_hash() != before,
                }))
            }
            Err(e) => {
                tracing::warn!(path = %self.kb_index.display(), error = %e, "knowledge base not reloaded; the index in use is kept");
                Err(e.to_string())
            }
        }
    }

    fn status(&self) -> serde_json::Value {
        let (board, config_version) = {
            let applied = self.config.lock().unwrap_or_else(|p| p.into_inner());
            let board = applied.0.board.as_ref().map(|b| b.name.clone());
            (board, applied.1.version)
        };
        serde_json::json!({
            "v": 1,
            "device": self.device,
            "online": true,
            "version": env!("CARGO_PKG_VERSION"),
            "model": self.info.model,
            "model_sha256": self.info.model_sha256,
            "kb_procedures": self.pipeline.index().docs().len(),
            "kb_hash": self.pipeline.index().content_hash(),
            "config_version": config_version,
            "board": board,
            "capabilities": ["triage", "escalate", "telemetry", "cmd"],
        })
    }

    fn apply_config(&self, payload: &[u8]) -> serde_json::Value {
        let mut applied = self.config.lock().unwrap_or_else(|p| p.into_inner());
        let current = applied.1.version;
        let refuse = |version: Option<u64>, why: String| {
            tracing::warn!(error = %why, "remote configuration refused");
            serde_json::json!({"ok": false, "version": version, "applied_version": current, "error": why})
        };
        let msg: RemoteConfig = match serde_json::from_slice(payload) {
            Ok(m) => m,
            Err(e) => return refuse(None, format!("bad config message: {e}")),
        };
        if msg.version == current && current > 0 {
            // The retained message again, as after every reconnect: nothing
            // to do, and nothing wrong with it.
            return serde_json::json!({"ok": true, "version": msg.version,
                "applied_version": current, "unchanged": true});
        }
        if msg.version <= current {
            return refuse(
                Some(msg.version),
                format!(
                    "version {} is not newer than the applied {current}",
                    msg.version
                ),
            );
        }
        // Everything is checked and stored before anything changes.
        let new = match applied.0.with_remote(&msg) {
            Ok(new) => new,
            Err(e) => return refuse(Some(msg.version), e.to_string()),
        };
        // Rebuilt only when its settings changed: building one compiles
        // every pattern and numbering plan again.
        let redactor = if new.escalation.redact == applied.0.escalation.redact {
            None
        } else {
            match crate::redact::Redactor::new(&new.escalation.redact) {
                Ok(r) => Some(r),
                Err(e) => return refuse(Some(msg.version), format!("redact: {e}")),
            }
        };
        let stored = applied.1.merged(&msg);
        if let Err(e) = stored.save(&self.state_dir) {
            return refuse(
                Some(msg.version),
                format!("cannot store it in {}: {e}", self.state_dir.display()),
            );
        }
        self.pipeline.set_triage_config(new.triage.clone());
        self.budget.set_per_hour(new.escalation.max_per_hour);
        if let Some(redactor) = redactor {
            self.escalations.set_redactor(redactor);
        }
        *applied = (new, stored);
        tracing::info!(
            version = msg.version,
            keys = msg.set.len(),
            "remote configuration applied"
        );
        serde_json::json!({"ok": true, "version": msg.version, "applied_version": msg.version})
    }

    fn telemetry(&self) -> serde_json::Value {
        use std::sync::atomic::Ordering;
        let s = self.server.status();
        let (routes, escalated) = self.server.route_mix();
        serde_json::json!({
            "routes": {"local": routes[0], "escalate": routes[1], "human": routes[2]},
            "escalated": escalated,
            "v": 1,
            "device": self.device,
            "at_ms": crate::escalations::now_ms(),
            "uptime_s": s.uptime_s,
            "answered": s.answered,
            "busy": s.busy,
            "cancelled": s.cancelled,
            "errors": s.errors,
            "p50_us": s.p50_us,
            "p95_us": s.p95_us,
            "queue_depth": s.queue_depth,
            "connections": s.connections,
            "outbox_depth": s.outbox_depth,
            "uplink_connects": self.link.connects.load(Ordering::Relaxed),
            "rejected_messages": self.link.rejected.load(Ordering::Relaxed),
            "last_ack_ms": self.link.last_ack_ms.load(Ordering::Relaxed),
            "rss_kib": crate::board::rss_kib().unwrap_or(0),
        })
    }
}
