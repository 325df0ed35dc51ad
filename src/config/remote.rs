//! Configuration changed by fleet operators over MQTT: the retained
//! `config` message, and the changes applied so far, kept in the state
//! directory so that they survive a restart with or without a broker.

use super::{Config, ConfigError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file in the state directory holding the applied changes.
pub const FILE: &str = "remote-config.json";

/// Largest stored file read back; far above any real set of runtime keys.
const MAX_FILE_BYTES: u64 = 256 * 1024;

/// A retained `config` message, `{"version": N, "set": {"policy.local_threshold": 0.6, …}}`,
/// and also what is stored: the newest version with every key set so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    pub version: u64,
    #[serde(default)]
    pub set: BTreeMap<String, serde_json::Value>,
}

impl RemoteConfig {
    /// The changes as TOML values; names the first key whose value TOML
    /// cannot hold (`null`, or `null` inside an array or object).
    pub fn toml_set(&self) -> Result<BTreeMap<String, toml::Value>, String> {
        self.set
            .iter()
            .map(|(k, v)| match toml_value(v) {
                Some(t) => Ok((k.clone(), t)),
                None => Err(format!("`{k}` has an unsupported value")),
            })
            .collect()
    }

    /// These changes with `newer`'s over them, at `newer`'s version.
    pub fn merged(&self, newer: &RemoteConfig) -> RemoteConfig {
        let mut set = self.set.clone();
        set.extend(newer.set.clone());
        RemoteConfig {
            version: newer.version,
            set,
        }
    }

    /// The changes stored in `state_dir`; `None` when there are none.
    pub fn load(state_dir: &Path) -> Result<Option<RemoteConfig>, ConfigError> {
        let path = state_dir.join(FILE);
        let io = |source| ConfigError::Io {
            path: path.clone(),
            source,
        };
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let len = file.metadata().map_err(io)?.len();
        let parse = |message: String| ConfigError::Parse {
            origin: path.display().to_string(),
            message,
        };
        if len > MAX_FILE_BYTES {
            return Err(parse(format!(
                "{len} bytes; at most {MAX_FILE_BYTES} are read"
            )));
        }
        let r: RemoteConfig = serde_json::from_reader(std::io::BufReader::new(file))
            .map_err(|e| parse(e.to_string()))?;
        Ok(Some(r))
    }

    /// Stores these changes in `state_dir`, replacing the file whole: a
    /// power cut leaves either the old file or the new one.
    pub fn save(&self, state_dir: &Path) -> std::io::Result<PathBuf> {
        let path = state_dir.join(FILE);
        let tmp = state_dir.join(format!("{FILE}.new"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        if let Ok(dir) = std::fs::File::open(state_dir) {
            let _ = dir.sync_all();
        }
        Ok(path)
    }
}

impl Config {
    /// This configuration with the remote changes `r` over it, validated
    /// whole as [`Config::with_runtime_changes`] does.
    pub fn with_remote(&self, r: &RemoteConfig) -> Result<Config, ConfigError> {
        let origin = format!("remote config v{}", r.version);
        let set = r.toml_set().map_err(|message| ConfigError::Parse {
            origin: origin.clone(),
            message,
        })?;
        self.with_runtime_changes(&set, &origin)
    }
}

/// A JSON value as TOML: TOML has no null.
fn toml_value(v: &serde_json::Value) -> Option<toml::Value> {
    Some(match v {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => toml::Value::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        serde_json::Value::String(s) => toml::Value::String(s.clone()),
        serde_json::Value::Array(a) => {
            toml::Value::Array(a.iter().map(toml_value).collect::<Option<_>>()?)
        }
        serde_json::Value::Object(o) => toml::Value::Table(
            o.iter()
                .map(|(k, v)| Some((k.clone(), toml_value(v)?)))
                .collect::<Option<_>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn remote(version: u64, set: serde_json::Value) -> RemoteConfig {
        serde_json::from_value(json!({"version": version, "set": set})).unwrap()
    }

    #[test]
    fn changes_accumulate_and_survive_a_round_trip_through_the_state_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(RemoteConfig::load(dir.path()).unwrap(), None);
        let first = remote(
            1,
            json!({"policy.local_threshold": 0.7, "redact.names": ["Ann Example"]}),
        );
        let second = first.merged(&remote(2, json!({"policy.local_threshold": 0.8})));
        assert_eq!(second.version, 2);
        assert_eq!(second.set["policy.local_threshold"], json!(0.8));
        assert_eq!(second.set["redact.names"], json!(["Ann Example"]));
        second.save(dir.path()).unwrap();
        assert_eq!(
            RemoteConfig::load(dir.path()).unwrap(),
            Some(second.clone())
        );

        let c = Config::default_config().with_remote(&second).unwrap();
        assert!((c.triage.policy.category_thresholds[0] - 0.8).abs() < 1e-6);
        assert_eq!(c.escalation.redact.names, vec!["Ann Example".to_string()]);
    }

    #[test]
    fn patterns_arrive_as_tables_and_bad_ones_are_refused_whole() {
        let ok = remote(
            3,
            json!({"redact.patterns": [{"label": "WORK_ORDER", "regex": "WO-[0-9]{6}"}],
                   "escalation.max_per_hour": 5}),
        );
        let c = Config::default_config().with_remote(&ok).unwrap();
        assert_eq!(c.escalation.max_per_hour, 5);
        assert_eq!(c.escalation.redact.patterns.len(), 1);

        for bad in [
            json!({"redact.patterns": [{"label": "x y", "regex": "a"}]}),
            json!({"redact.patterns": [{"label": "OK", "regex": "("}]}),
            json!({"escalation.max_per_hour": 1_000_000}),
            json!({"redact.names": [null]}),
            json!({"paths.socket": "/tmp/x"}),
        ] {
            let r = remote(4, bad.clone());
            assert!(Config::default_config().with_remote(&r).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_damaged_or_oversized_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        for bytes in [
            &b"{\"version\": 1, \"set\": "[..],
            b"\xff\xfe",
            b"{\"version\": \"x\"}",
        ] {
            std::fs::write(&path, bytes).unwrap();
            let e = RemoteConfig::load(dir.path()).unwrap_err().to_string();
            assert!(e.contains(FILE), "{e}");
        }
        std::fs::write(&path, vec![b' '; MAX_FILE_BYTES as usize + 1]).unwrap();
        let e = RemoteConfig::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("at most"), "{e}");
    }
}
