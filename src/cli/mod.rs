//! The subcommands. `anyhow` lives here and in `main`, nowhere else.

pub mod bench;
pub mod client_cmds;
pub mod eval;
pub mod fleet;
pub mod kb;
pub mod load;
pub mod serve;
pub mod soak;

use crate::config::Config;
use std::path::{Path, PathBuf};

/// Loads `--config FILE` or the embedded defaults.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    load_config_on(path, None)
}

/// Loads `--config FILE` or the embedded defaults, on a board profile
/// (`--board` wins over the file's `[board] name`).
pub fn load_config_on(path: Option<&Path>, board: Option<&str>) -> anyhow::Result<Config> {
    Ok(match path {
        Some(p) => Config::from_file_on(p, board)?,
        None => Config::from_toml_on("", "defaults", board)?,
    })
}

/// Model directory: flag, then config (`paths.model_dir`, else the bundled
/// `engine.model`).
pub fn model_dir(flag: Option<PathBuf>, cfg: &Config) -> PathBuf {
    flag.or_else(|| cfg.model_dir.clone())
        .unwrap_or_else(|| crate::paths::bundled_model_named(&cfg.engine.model))
}

/// Index file: flag, then config, then bundled.
pub fn kb_index(flag: Option<PathBuf>, cfg: &Config) -> PathBuf {
    flag.or_else(|| cfg.kb_index.clone())
        .unwrap_or_else(crate::paths::bundled_kb_index)
}

/// Socket: flag, then config, then the per-user default.
/// Connects to a daemon that may still be starting, retrying for up to
/// two minutes (model load under an emulator takes a while).
pub(crate) async fn connect_when_up(
    sock: &Path,
    agent: &str,
) -> anyhow::Result<crate::api::client::Client> {
    let t = std::time::Instant::now();
    loop {
        match crate::api::client::Client::connect(sock, agent, std::time::Duration::from_secs(60))
            .await
        {
            Ok(c) => return Ok(c),
            Err(e) if t.elapsed() > std::time::Duration::from_secs(120) => {
                anyhow::bail!("daemon not accepting after 120 s: {e}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
}

/// Starts `slmd serve` (this executable) on `dir/d.sock` with its state in
/// `dir/state`, the configuration file `conf`, the given model and index,
/// and `extra` arguments, logging errors only. Returns the child and
/// the socket path.
pub(crate) fn serve_child(
    dir: &Path,
    conf: &Path,
    model_dir: &Path,
    kb_index: &Path,
    extra: &[&str],
) -> anyhow::Result<(std::process::Child, PathBuf)> {
    use anyhow::Context;
    let sock = dir.join("d.sock");
    let child = std::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--socket"])
        .arg(&sock)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--config")
        .arg(conf)
        .args(extra)
        .arg("--model-dir")
        .arg(model_dir)
        .arg("--kb-index")
        .arg(kb_index)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("starting slmd serve")?;
    Ok((child, sock))
}

/// A fresh directory under the temp dir named for `what` and this process.
pub(crate) fn scratch_dir(what: &str) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    let dir = std::env::temp_dir().join(format!("slmd-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

pub fn socket(flag: Option<PathBuf>, cfg: &Config) -> PathBuf {
    flag.or_else(|| cfg.socket.clone())
        .unwrap_or_else(crate::paths::default_socket)
}

/// Targets whose finer levels spell out the text being processed, and the
/// most they may log whatever `RUST_LOG` says: the tokenizer's normalizer
/// traces every character of a query it rewrites.
const TEXT_SPELLING_TARGETS: &[&str] = &["tokenizers=info"];

/// Logs to stderr; `RUST_LOG` overrides the level (default `info`), except
/// for [`TEXT_SPELLING_TARGETS`], which never log below `info`: no level
/// puts query text in the log.
pub fn init_logging() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for d in TEXT_SPELLING_TARGETS {
        filter = filter.add_directive(d.parse().expect("built-in log directive"));
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // No colour codes in the journal or a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
