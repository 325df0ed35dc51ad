//! Configuration: a raw serde form read from TOML, validated into
//! [`Config`]. The embedded default file documents every key.

mod remote;

pub use remote::RemoteConfig;

use crate::triage::TriageConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default configuration, with a comment on every key.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// Keys fleet operators may change on a running daemon (over the retained
/// `config` topic); `*` ends a prefix.
pub const RUNTIME_KEYS: &[&str] = &[
    "policy.local_threshold",
    "policy.in_scope_min",
    "policy.escalate_critical",
    "policy.thresholds.*",
    "escalation.max_per_hour",
    "redact.names",
    "redact.patterns",
    "triage.similarity_floor",
    "triage.similarity_strong",
    "triage.retrieval_weight",
    "triage.vote_temperature",
    "triage.hazard_similarity",
    "triage.answer_steps",
];

/// A configuration that cannot be used; names the key and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("config {origin}: `{key}` {why}")]
    Invalid {
        origin: String,
        key: &'static str,
        why: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[allow(dead_code)]
    board: RawBoard,
    paths: RawPaths,
    engine: RawEngine,
    api: RawApi,
    triage: RawTriage,
    policy: RawPolicy,
    escalation: RawEscalation,
    outbox: RawOutbox,
    redact: crate::redact::RedactConfig,
    uplink: RawUplink,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUplink {
    broker: String,
    client_id: String,
    keep_alive_s: u64,
    session_expiry_s: u64,
    connect_timeout_s: u64,
    telemetry_interval_s: u64,
    backoff_min_ms: u64,
    backoff_max_ms: u64,
    ca_file: String,
    client_cert: String,
    client_key: String,
    username: String,
    password_file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEscalation {
    device_id: String,
    ttl_s: u64,
    passages: usize,
    max_per_hour: u32,
    answer_timeout_s: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutbox {
    max_bytes: u64,
    max_attempts: u32,
}

/// `[board]`: read before validation (the profile lies beneath the file);
/// kept here so the key is known and typed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RawBoard {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    socket: String,
    state_dir: String,
    model_dir: String,
    kb_index: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    threads: usize,
    queue_depth: usize,
    f16_weights: bool,
    model: String,
    max_seq_len: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    max_frame_bytes: usize,
    max_connections: usize,
    max_in_flight_per_connection: usize,
    first_byte_timeout_ms: u64,
    frame_timeout_ms: u64,
    idle_timeout_ms: u64,
    request_timeout_ms: u64,
    socket_mode: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTriage {
    top_k: usize,
    similarity_floor: f32,
    similarity_strong: f32,
    vote_temperature: f32,
    retrieval_weight: f32,
    hazard_similarity: f32,
    answer_steps: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    local_threshold: f32,
    in_scope_min: f32,
    escalate_critical: bool,
    #[serde(default)]
    thresholds: RawThresholds,
}

/// Per-category overrides of `policy.local_threshold`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    electrical: Option<f32>,
    mechanical: Option<f32>,
    fluid: Option<f32>,
    hvac: Option<f32>,
    controls: Option<f32>,
    network: Option<f32>,
    general: Option<f32>,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Explicit socket path; `None` picks the per-user default.
    pub socket: Option<PathBuf>,
    /// Explicit state directory; `None` picks the per-user default.
    pub state_dir: Option<PathBuf>,
    /// Explicit model directory; `None` uses the bundled model.
    pub model_dir: Option<PathBuf>,
    /// Explicit index file; `None` uses the bundled index.
    pub kb_index: Option<PathBuf>,
    pub engine: EngineConfig,
    pub api: ApiConfig,
    pub triage: TriageConfig,
    pub top_k: usize,
    pub escalation: EscalationConfig,
    pub uplink: crate::uplink::UplinkConfig,
    /// The operator's own keys (the file overlaid on the defaults), kept so
    /// a remote change can be applied on top of them.
    pub overlay: toml::Table,
    /// The board profile in use (its `[config]` lies beneath the file).
    pub board: Option<crate::board::Board>,
}

/// `[escalation]`, `[outbox]` and `[redact]`.
#[derive(Debug, Clone)]
pub struct EscalationConfig {
    /// Explicit device id; `None` uses the host name.
    pub device_id: Option<String>,
    pub ttl: Duration,
    pub passages: usize,
    /// Escalations allowed per sliding hour (0: no limit).
    pub max_per_hour: u32,
    /// Sent but unanswered for this long: publish again.
    pub answer_timeout: Duration,
    pub outbox: crate::outbox::OutboxConfig,
    pub redact: crate::redact::RedactConfig,
}

impl EscalationConfig {
    /// The configured device id, else the host name, else `slmd`.
    pub fn device_id(&self) -> String {
        self.device_id.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| valid_device_id(h))
                .unwrap_or_else(|| "slmd".to_string())
        })
    }
}

/// A device id usable as one MQTT topic level: 1 to 64 of `A-Z a-z 0-9 - _ .`.
pub fn valid_device_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `[engine]`.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub threads: usize,
    pub queue_depth: usize,
    pub f16_weights: bool,
    /// Bundled model to load (a directory name under `models/`).
    pub model: String,
    /// Longest input in tokens; `None` keeps the model's own limit.
    pub max_seq_len: Option<usize>,
}

impl EngineConfig {
    /// The engine's own options.
    pub fn options(&self) -> crate::engine::EngineOptions {
        crate::engine::EngineOptions {
            f16_weights: self.f16_weights,
            max_seq_len: self.max_seq_len,
        }
    }
}

/// `[api]`.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub max_frame_bytes: usize,
    pub max_connections: usize,
    pub max_in_flight_per_connection: usize,
    pub first_byte_timeout: Duration,
    pub frame_timeout: Duration,
    pub idle_timeout: Duration,
    pub request_timeout: Duration,
    pub socket_mode: u32,
}

fn parse_table(text: &str, origin: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| ConfigError::Parse {
        origin: origin.to_string(),
        message: e.message().to_string(),
    })
}

/// Recursively overlays `over` onto `base` (tables merge, values replace).
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (Some(slot), v) => *slot = v,
            (None, v) => {
                base.insert(k, v);
            }
        }
    }
}

impl Config {
    /// The built-in defaults.
    pub fn default_config() -> Config {
        // No overlay: the operator has set nothing.
        Config::build(toml::Table::new(), "defaults", None).expect("embedded defaults are valid")
    }

    /// Reads a file and overlays it on the defaults.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        Config::from_file_on(path, None)
    }

    /// Parses TOML text overlaid on the defaults and validates it. A board
    /// named in its `[board]` table lays its defaults beneath the text.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        Config::from_toml_on(text, origin, None)
    }

    /// Reads a file on a board profile (`board` overrides the file's own
    /// `[board] name`).
    pub fn from_file_on(path: &Path, board: Option<&str>) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml_on(&text, &path.display().to_string(), board)
    }

    /// As [`Config::from_toml`], on the board profile `board` (a name or a
    /// `.toml` path) when given, else on the one the text names.
    pub fn from_toml_on(
        text: &str,
        origin: &str,
        board: Option<&str>,
    ) -> Result<Config, ConfigError> {
        let overlay = parse_table(text, origin)?;
        let named = overlay
            .get("board")
            .and_then(|b| b.get("name"))
            .and_then(|n| n.as_str())
            .filter(|n| !n.trim().is_empty())
            .map(str::to_string);
        let board = match board.map(str::to_string).or(named) {
            Some(name) => {
                Some(
                    crate::board::Board::load(&name).map_err(|e| ConfigError::Parse {
                        origin: origin.to_string(),
                        message: e.to_string(),
                    })?,
                )
            }
            None => None,
        };
        Config::build(overlay, origin, board)
    }

    fn build(
        overlay: toml::Table,
        origin: &str,
        board: Option<crate::board::Board>,
    ) -> Result<Config, ConfigError> {
        let mut value = parse_table(DEFAULT_TOML, "defaults")?;
        if let Some(b) = &board {
            let mut named = toml::Table::new();
            named.insert("name".into(), toml::Value::String(b.name.clone()));
            let mut t = b.config.clone();
            t.insert("board".into(), toml::Value::Table(named));
            merge(&mut value, t);
        }
        // The embedded per-category thresholds were tuned together with the
        // embedded `local_threshold`: an operator who sets their own
        // `local_threshold` gets it for every category they do not list.
        let own_threshold = overlay
            .get("policy")
            .and_then(|p| p.as_table())
            .is_some_and(|p| p.contains_key("local_threshold"));
        if own_threshold {
            if let Some(p) = value.get_mut("policy").and_then(|p| p.as_table_mut()) {
                p.remove("thresholds");
            }
        }
        merge(&mut value, overlay.clone());
        let raw: Raw = toml::Value::Table(value)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                origin: origin.to_string(),
                message: e.message().to_string(),
            })?;
        let mut c = Config::validate(raw, origin)?;
        c.overlay = overlay;
        c.board = board;
        Ok(c)
    }

    /// Applies a remote change: dotted `key = value` pairs, only among
    /// [`RUNTIME_KEYS`], over this configuration's own keys. The result is
    /// validated whole; an error names the key and changes nothing.
    pub fn with_runtime_changes(
        &self,
        set: &std::collections::BTreeMap<String, toml::Value>,
        origin: &str,
    ) -> Result<Config, ConfigError> {
        let mut overlay = self.overlay.clone();
        for (key, value) in set {
            let allowed = RUNTIME_KEYS.iter().any(|k| match k.strip_suffix('*') {
                Some(prefix) => key.starts_with(prefix) && key.len() > prefix.len(),
                None => k == key,
            });
            if !allowed {
                return Err(ConfigError::Parse {
                    origin: origin.to_string(),
                    message: format!("`{key}` cannot be changed at runtime"),
                });
            }
            // `a.b.c = v` becomes `{a = {b = {c = v}}}`, merged over the overlay.
            let (parents, leaf) = key.rsplit_once('.').unwrap_or(("", key));
            let mut change = toml::Table::from_iter([(leaf.to_string(), value.clone())]);
            for part in parents.rsplit('.').filter(|p| !p.is_empty()) {
                change = toml::Table::from_iter([(part.to_string(), toml::Value::Table(change))]);
            }
            merge(&mut overlay, change);
        }
        Config::build(overlay, origin, self.board.clone())
    }

    fn validate(raw: Raw, origin: &str) -> Result<Config, ConfigError> {
        let bad = |key: &'static str, why: String| ConfigError::Invalid {
            origin: origin.to_string(),
            key,
            why,
        };
        let path = |s: &str| (!s.trim().is_empty()).then(|| PathBuf::from(s));
        let range = |key: &'static str, v: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(bad(key, format!("is {v}; must be within {lo}..={hi}")))
            }
        };
        let ms = |key: &'static str, v: u64| {
            if (1..=3_600_000).contains(&v) {
                Ok(Duration::from_millis(v))
            } else {
                Err(bad(key, format!("is {v}; must be 1..=3600000 ms")))
            }
        };
        let unit = |key: &'static str, v: f32| {
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(bad(key, format!("is {v}; must be within 0..=1")))
            }
        };
        let socket_mode = u32::from_str_radix(raw.api.socket_mode.trim_start_matches("0o"), 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .ok_or_else(|| {
                bad(
                    "api.socket_mode",
                    format!(
                        "{:?} is not an octal mode like \"0660\"",
                        raw.api.socket_mode
                    ),
                )
            })?;
        let p = &raw.policy;
        let base = unit("policy.local_threshold", p.local_threshold)?;
        let th = &p.thresholds;
        let per = [
            ("policy.thresholds.electrical", th.electrical),
            ("policy.thresholds.mechanical", th.mechanical),
            ("policy.thresholds.fluid", th.fluid),
            ("policy.thresholds.hvac", th.hvac),
            ("policy.thresholds.controls", th.controls),
            ("policy.thresholds.network", th.network),
            ("policy.thresholds.general", th.general),
        ];
        let mut category_thresholds = [base; 7];
        for (slot, (key, v)) in category_thresholds.iter_mut().zip(per) {
            if let Some(v) = v {
                *slot = unit(key, v)?;
            }
        }
        let t = &raw.triage;
        let similarity_floor = unit("triage.similarity_floor", t.similarity_floor)?;
        let triage = TriageConfig {
            similarity_floor,
            similarity_strong: unit("triage.similarity_strong", t.similarity_strong)?,
            vote_temperature: if t.vote_temperature > 0.0 && t.vote_temperature <= 10.0 {
                t.vote_temperature
            } else {
                return Err(bad(
                    "triage.vote_temperature",
                    format!("is {}; must be in (0, 10]", t.vote_temperature),
                ));
            },
            retrieval_weight: unit("triage.retrieval_weight", t.retrieval_weight)?,
            hazard_similarity: unit("triage.hazard_similarity", t.hazard_similarity)?,
            answer_steps: range("triage.answer_steps", t.answer_steps, 1, 20)?,
            max_fields: crate::limits::MAX_FIELDS,
            policy: crate::policy::PolicyConfig {
                category_thresholds,
                in_scope_min: unit("policy.in_scope_min", p.in_scope_min)?,
                similarity_floor,
                escalate_critical: p.escalate_critical,
            },
        };
        if triage.similarity_strong <= triage.similarity_floor {
            return Err(bad(
                "triage.similarity_strong",
                "must be above triage.similarity_floor".into(),
            ));
        }
        Ok(Config {
            socket: path(&raw.paths.socket),
            state_dir: path(&raw.paths.state_dir),
            model_dir: path(&raw.paths.model_dir),
            kb_index: path(&raw.paths.kb_index),
            engine: EngineConfig {
                threads: range("engine.threads", raw.engine.threads, 1, 64)?,
                queue_depth: range("engine.queue_depth", raw.engine.queue_depth, 1, 4096)?,
                f16_weights: raw.engine.f16_weights,
                model: {
                    let m = raw.engine.model.trim();
                    if m.is_empty()
                        || !m
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                        || m.starts_with('.')
                    {
                        return Err(bad(
                            "engine.model",
                            format!("{m:?} must name a model directory (A-Z a-z 0-9 - _ .)"),
                        ));
                    }
                    m.to_string()
                },
                max_seq_len: match raw.engine.max_seq_len {
                    0 => None,
                    n => Some(range("engine.max_seq_len", n, 8, 512)?),
                },
            },
            api: ApiConfig {
                max_frame_bytes: range(
                    "api.max_frame_bytes",
                    raw.api.max_frame_bytes,
                    1024,
                    16 * 1024 * 1024,
                )?,
                max_connections: range("api.max_connections", raw.api.max_connections, 1, 65536)?,
                max_in_flight_per_connection: range(
                    "api.max_in_flight_per_connection",
                    raw.api.max_in_flight_per_connection,
                    1,
                    1024,
                )?,
                first_byte_timeout: ms("api.first_byte_timeout_ms", raw.api.first_byte_timeout_ms)?,
                frame_timeout: ms("api.frame_timeout_ms", raw.api.frame_timeout_ms)?,
                idle_timeout: ms("api.idle_timeout_ms", raw.api.idle_timeout_ms)?,
                request_timeout: ms("api.request_timeout_ms", raw.api.request_timeout_ms)?,
                socket_mode,
            },
            top_k: range("triage.top_k", t.top_k, 1, 50)?,
            overlay: toml::Table::new(),
            board: None,
            triage,
            uplink: {
                let u = &raw.uplink;
                let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
                let broker = text(&u.broker);
                if let Some(b) = &broker {
                    crate::uplink::Broker::parse(b).map_err(|e| bad("uplink.broker", e))?;
                }
                let secs = |key: &'static str, v: u64, lo: u64, hi: u64| {
                    if (lo..=hi).contains(&v) {
                        Ok(Duration::from_secs(v))
                    } else {
                        Err(bad(key, format!("is {v}; must be within {lo}..={hi}")))
                    }
                };
                let backoff_min = ms("uplink.backoff_min_ms", u.backoff_min_ms)?;
                let backoff_max = ms("uplink.backoff_max_ms", u.backoff_max_ms)?;
                if backoff_max < backoff_min {
                    return Err(bad(
                        "uplink.backoff_max_ms",
                        "must not be below uplink.backoff_min_ms".into(),
                    ));
                }
                crate::uplink::UplinkConfig {
                    broker,
                    client_id: text(&u.client_id),
                    keep_alive: secs("uplink.keep_alive_s", u.keep_alive_s, 5, 3600)?,
                    session_expiry: secs(
                        "uplink.session_expiry_s",
                        u.session_expiry_s,
                        0,
                        30 * 86400,
                    )?,
                    connect_timeout: secs("uplink.connect_timeout_s", u.connect_timeout_s, 1, 300)?,
                    telemetry_interval: secs(
                        "uplink.telemetry_interval_s",
                        u.telemetry_interval_s,
                        1,
                        86400,
                    )?,
                    backoff_min,
                    backoff_max,
                    ca_file: path(&u.ca_file),
                    client_cert: path(&u.client_cert),
                    client_key: path(&u.client_key),
                    username: text(&u.username),
                    password_file: path(&u.password_file),
                }
            },
            escalation: {
                let e = &raw.escalation;
                let device_id = match e.device_id.trim() {
                    "" => None,
                    id if valid_device_id(id) => Some(id.to_string()),
                    id => {
                        return Err(bad(
                            "escalation.device_id",
                            format!("{id:?} must be 1 to 64 of A-Z a-z 0-9 - _ ."),
                        ))
                    }
                };
                if !(60..=30 * 86400).contains(&e.ttl_s) {
                    return Err(bad(
                        "escalation.ttl_s",
                        format!("is {}; must be within 60..=2592000", e.ttl_s),
                    ));
                }
                let outbox = crate::outbox::OutboxConfig {
                    max_bytes: raw.outbox.max_bytes,
                    max_attempts: raw.outbox.max_attempts,
                    ..crate::outbox::OutboxConfig::default()
                };
                outbox
                    .validate()
                    .map_err(|e| bad("outbox", e.to_string()))?;
                crate::redact::Redactor::new(&raw.redact)
                    .map_err(|e| bad("redact", e.to_string()))?;
                EscalationConfig {
                    device_id,
                    ttl: Duration::from_secs(e.ttl_s),
                    passages: range("escalation.passages", e.passages, 0, 3)?,
                    max_per_hour: range(
                        "escalation.max_per_hour",
                        e.max_per_hour as usize,
                        0,
                        crate::policy::MAX_PER_HOUR as usize,
                    )? as u32,
                    answer_timeout: if (1..=86400).contains(&e.answer_timeout_s) {
                        Duration::from_secs(e.answer_timeout_s)
                    } else {
                        return Err(bad(
                            "escalation.answer_timeout_s",
                            format!("is {}; must be within 1..=86400", e.answer_timeout_s),
                        ));
                    },
                    outbox,
                    redact: raw.redact,
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_are_valid_and_documented() {
        let c = Config::default_config();
        assert_eq!(c.api.max_frame_bytes, crate::limits::DEFAULT_MAX_FRAME);
        assert_eq!(c.api.socket_mode, 0o660);
        assert!(c.socket.is_none());
        // Every key line is preceded by a comment line.
        let lines: Vec<&str> = DEFAULT_TOML.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.contains(" = ") {
                assert!(lines[i - 1].starts_with('#'), "key without comment: {l}");
            }
        }
    }

    #[test]
    fn runtime_changes_apply_over_the_file_and_refuse_other_keys() {
        let c = Config::from_toml("[triage]\ntop_k = 7\n", "t.toml").unwrap();
        let mut set = std::collections::BTreeMap::new();
        set.insert(
            "policy.thresholds.network".to_string(),
            toml::Value::Float(0.8),
        );
        set.insert(
            "policy.local_threshold".to_string(),
            toml::Value::Float(0.6),
        );
        let n = c.with_runtime_changes(&set, "remote").unwrap();
        assert_eq!(n.top_k, 7, "the file's own keys stay");
        let i = crate::labels::Category::Network.index();
        assert!((n.triage.policy.category_thresholds[i] - 0.8).abs() < 1e-6);
        assert!((n.triage.policy.category_thresholds[0] - 0.6).abs() < 1e-6);
        set.insert(
            "policy.local_threshold".to_string(),
            toml::Value::Float(7.0),
        );
        let e = c.with_runtime_changes(&set, "remote").unwrap_err();
        assert!(e.to_string().contains("policy.local_threshold"), "{e}");
        let mut other = std::collections::BTreeMap::new();
        other.insert("paths.socket".to_string(), toml::Value::String("/x".into()));
        let e = c.with_runtime_changes(&other, "remote").unwrap_err();
        assert!(
            e.to_string().contains("cannot be changed at runtime"),
            "{e}"
        );
    }

    #[test]
    fn an_own_local_threshold_replaces_the_tuned_per_category_ones() {
        let d = Config::default_config();
        let c = Config::from_toml("[policy]\nlocal_threshold = 0.75\n", "t.toml").unwrap();
        assert_eq!(c.triage.policy.category_thresholds, [0.75; 7]);
        // Listing a category keeps that one.
        let c = Config::from_toml(
            "[policy]\nlocal_threshold = 0.75\n[policy.thresholds]\ngeneral = 0.5\n",
            "t.toml",
        )
        .unwrap();
        let th = c.triage.policy.category_thresholds;
        assert_eq!((th[0], th[6]), (0.75, 0.5));
        // A file that leaves local_threshold alone keeps the tuned values.
        let c = Config::from_toml("[engine]\nthreads = 2\n", "t.toml").unwrap();
        assert_eq!(
            c.triage.policy.category_thresholds,
            d.triage.policy.category_thresholds
        );
    }

    #[test]
    fn a_partial_file_overlays_the_defaults() {
        let c = Config::from_toml("[engine]\nthreads = 2\n", "t.toml").unwrap();
        assert_eq!(c.engine.threads, 2);
        assert_eq!(c.engine.queue_depth, 16);
    }

    #[test]
    fn invalid_values_name_the_key() {
        let e = Config::from_toml("[engine]\nthreads = 0\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("engine.threads"), "{e}");
        let e = Config::from_toml("[api]\nsocket_mode = \"rw\"\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("api.socket_mode"), "{e}");
        let e = Config::from_toml("[policy]\nlocal_threshold = 1.5\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("policy.local_threshold"), "{e}");
        let e = Config::from_toml("[policy.thresholds]\nhvac = -1\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("policy.thresholds.hvac"), "{e}");
        let c = Config::from_toml(
            "[policy]\nlocal_threshold = 0.6\n[policy.thresholds]\nnetwork = 0.8\n",
            "t.toml",
        )
        .unwrap();
        let th = &c.triage.policy.category_thresholds;
        assert_eq!((th[0], th[5]), (0.6, 0.8));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = Config::from_toml("[engine]\nthreadz = 2\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("threadz"), "{e}");
    }
}
