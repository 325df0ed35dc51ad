//! Default locations: the bundled model and index, the per-user socket and
//! state directory.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// Directory name of the bundled model.
pub const MODEL_NAME: &str = "triage-student-int8";
/// Bundled index, relative to the data root.
const INDEX_REL: &str = "kb/index.slmkb";

/// Where bundled data may live, most specific first: `$SLMD_DATA_DIR`, the
/// install prefix next to the binary (`../share/slmd`), the source tree.
fn data_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(d) = std::env::var_os("SLMD_DATA_DIR") {
        roots.push(PathBuf::from(d));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(bin) = exe.parent() {
            roots.push(bin.join("../share/slmd"));
        }
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
}

fn first_existing(rel: &str) -> PathBuf {
    let roots = data_roots();
    roots
        .iter()
        .map(|r| r.join(rel))
        .find(|p| p.exists())
        .unwrap_or_else(|| roots.last().expect("source tree root").join(rel))
}

/// The bundled model directory.
pub fn bundled_model_dir() -> PathBuf {
    bundled_model_named(MODEL_NAME)
}

/// A bundled model by directory name (`engine.model`).
pub fn bundled_model_named(name: &str) -> PathBuf {
    first_existing(&format!("models/{name}"))
}

/// An installed or source-tree board profile `boards/NAME.toml`, if any.
pub fn installed_board(name: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    data_roots()
        .into_iter()
        .map(|r| r.join("boards").join(format!("{name}.toml")))
        .find(|p| p.is_file())
}

/// The first directory of a systemd `*_DIRECTORY` variable (colon-separated).
fn systemd_dir(var: &str) -> Option<PathBuf> {
    let v = std::env::var(var).ok()?;
    let first = v.split(':').next()?.trim();
    (!first.is_empty()).then(|| PathBuf::from(first))
}

/// The bundled knowledge-base index.
pub fn bundled_kb_index() -> PathBuf {
    first_existing(INDEX_REL)
}

/// The bundled procedures directory (source of the index).
pub fn bundled_kb_dir() -> PathBuf {
    first_existing("kb/procedures")
}

fn euid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// `$RUNTIME_DIRECTORY/slmd.sock` under systemd, `$XDG_RUNTIME_DIR/slmd.sock`,
/// `/run/slmd/slmd.sock` for root, else `/tmp/slmd-<uid>/slmd.sock`.
pub fn default_socket() -> PathBuf {
    if let Some(d) = systemd_dir("RUNTIME_DIRECTORY") {
        return d.join("slmd.sock");
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("slmd.sock");
    }
    match euid() {
        Some(0) => PathBuf::from("/run/slmd/slmd.sock"),
        Some(uid) => PathBuf::from(format!("/tmp/slmd-{uid}/slmd.sock")),
        None => PathBuf::from("/tmp/slmd/slmd.sock"),
    }
}

/// `$STATE_DIRECTORY` under systemd, `$XDG_STATE_HOME/slmd`, `/var/lib/slmd`
/// for root, else `~/.local/state/slmd`.
pub fn default_state_dir() -> PathBuf {
    if let Some(d) = systemd_dir("STATE_DIRECTORY") {
        return d;
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("slmd");
    }
    if euid() == Some(0) {
        return PathBuf::from("/var/lib/slmd");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/state/slmd"),
        None => std::env::temp_dir().join("slmd-state"),
    }
}
