//! `[uplink]` settings and the broker URL.

use std::path::PathBuf;
use std::time::Duration;

/// Where the broker is: `mqtt://host:port` or, with TLS, `mqtts://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl Broker {
    /// Parses `mqtt://host[:port]` (port 1883) or `mqtts://host[:port]`
    /// (port 8883).
    pub fn parse(url: &str) -> Result<Broker, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("mqtt://") {
            (false, r)
        } else {
            return Err(format!(
                "broker {url:?} must start with mqtt:// or mqtts://"
            ));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| format!("broker {url:?} has a bad port {p:?}"))?;
                (h, port)
            }
            _ => (rest, if tls { 8883 } else { 1883 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') {
            return Err(format!("broker {url:?} has no host"));
        }
        Ok(Broker {
            host: host.to_string(),
            port,
            tls,
        })
    }
}

/// Validated `[uplink]` table.
#[derive(Debug, Clone)]
pub struct UplinkConfig {
    /// The broker; `None` runs the daemon offline.
    pub broker: Option<String>,
    /// MQTT client id; `None` uses `slmd-<device>`.
    pub client_id: Option<String>,
    pub keep_alive: Duration,
    /// How long the broker keeps the session (and queued answers) while the
    /// device is away.
    pub session_expiry: Duration,
    pub connect_timeout: Duration,
    pub telemetry_interval: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// PEM file of the CA that signed the broker's certificate (required
    /// for `mqtts://`).
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key (PEM) for brokers that require them.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub username: Option<String>,
    /// File holding the password (so it stays out of the config).
    pub password_file: Option<PathBuf>,
}

impl UplinkConfig {
    /// Username and password, the password read from its file.
    pub fn credentials(&self) -> anyhow::Result<Option<(String, String)>> {
        use anyhow::Context;
        let Some(user) = &self.username else {
            return Ok(None);
        };
        let password = match &self.password_file {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("cannot read uplink.password_file {}", p.display()))?
                .trim()
                .to_string(),
            None => String::new(),
        };
        Ok(Some((user.clone(), password)))
    }

    /// TLS transport from the configured files.
    pub fn transport(&self) -> anyhow::Result<rumqttc::Transport> {
        use anyhow::Context;
        let read = |p: &PathBuf, what: &str| {
            std::fs::read(p).with_context(|| format!("cannot read uplink.{what} {}", p.display()))
        };
        let client_auth = match (&self.client_cert, &self.client_key) {
            (Some(c), Some(k)) => Some((read(c, "client_cert")?, read(k, "client_key")?)),
            (None, None) => None,
            _ => anyhow::bail!("uplink.client_cert and uplink.client_key go together"),
        };
        match &self.ca_file {
            Some(ca) => Ok(rumqttc::Transport::tls(
                read(ca, "ca_file")?,
                client_auth,
                None,
            )),
            None => anyhow::bail!("an mqtts:// broker needs uplink.ca_file (the CA's PEM)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_parse_with_default_ports_and_bad_ones_are_named() {
        assert_eq!(
            Broker::parse("mqtt://broker.local").unwrap(),
            Broker {
                host: "broker.local".into(),
                port: 1883,
                tls: false
            }
        );
        let b = Broker::parse("mqtts://10.0.0.5:8884").unwrap();
        assert_eq!((b.host.as_str(), b.port, b.tls), ("10.0.0.5", 8884, true));
        assert!(Broker::parse("http://x").unwrap_err().contains("mqtt://"));
        assert!(Broker::parse("mqtt://x:99999")
            .unwrap_err()
            .contains("port"));
        assert!(Broker::parse("mqtt://").unwrap_err().contains("no host"));
    }
}
