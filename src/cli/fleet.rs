//! `slmd fleet`: what fleet operators see and steer over MQTT.
//! `status` tabulates devices from their retained status and latest
//! telemetry; `watch` prints telemetry as it arrives; `config set`
//! publishes a new retained configuration version to one device and
//! waits for its acknowledgement.

use crate::escalation::device_topic;
use crate::uplink::Broker;
use anyhow::{bail, Context};
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn connect(broker: &Broker, role: &str) -> anyhow::Result<(AsyncClient, EventLoop)> {
    if broker.tls {
        bail!("slmd fleet speaks plain mqtt:// only; put it beside the broker or behind a tunnel");
    }
    let id = format!("slmd-fleet-{role}-{}", std::process::id());
    let mut o = MqttOptions::new(id, broker.host.clone(), broker.port);
    o.set_keep_alive(Duration::from_secs(30));
    Ok(AsyncClient::new(o, 64))
}

/// Polls until `until`, handing each publish (topic, payload) to `f`.
async fn collect(
    events: &mut EventLoop,
    until: Option<Instant>,
    mut f: impl FnMut(&str, &[u8]) -> bool,
) -> anyhow::Result<()> {
    loop {
        let ev = match until {
            Some(t) => match tokio::time::timeout_at(t.into(), events.poll()).await {
                Ok(ev) => ev,
                Err(_) => return Ok(()),
            },
            None => events.poll().await,
        };
        match ev.context("broker connection failed")? {
            Event::Incoming(Packet::Publish(p)) => {
                let topic = String::from_utf8_lossy(&p.topic).to_string();
                if f(&topic, &p.payload) {
                    return Ok(());
                }
            }
            Event::Incoming(Packet::ConnAck(_)) | Event::Incoming(_) | Event::Outgoing(_) => {}
        }
    }
}

fn device_of(topic: &str) -> Option<&str> {
    topic.strip_prefix("slmd/v1/")?.split('/').next()
}

/// `slmd fleet status`.
pub async fn status(broker: &Broker, wait: Duration) -> anyhow::Result<()> {
    let (client, mut events) = connect(broker, "status")?;
    client
        .subscribe("slmd/v1/+/status", QoS::AtLeastOnce)
        .await?;
    client
        .subscribe("slmd/v1/+/telemetry", QoS::AtMostOnce)
        .await?;
    let mut rows: BTreeMap<String, (serde_json::Value, serde_json::Value)> = BTreeMap::new();
    collect(&mut events, Some(Instant::now() + wait), |topic, body| {
        let Some(dev) = device_of(topic) else {
            return false;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            return false;
        };
        let row = rows.entry(dev.to_string()).or_default();
        if topic.ends_with("/status") {
            row.0 = v;
        } else {
            row.1 = v;
        }
        false
    })
    .await?;
    print!("{}", table(&rows));
    Ok(())
}

/// The device table printed by `fleet status`.
pub fn table(rows: &BTreeMap<String, (serde_json::Value, serde_json::Value)>) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<20} {:<8} {:<8} {:<22} {:>6} {:>7} {:>9} {:>8} {:>8}",
        "device", "state", "version", "model", "config", "outbox", "answered", "esc/ans", "p95 ms"
    );
    for (dev, (st, tel)) in rows {
        let state = match st.get("online").and_then(|v| v.as_bool()) {
            Some(true) => "online",
            Some(false) => "offline",
            None => "unknown",
        };
        let text = |v: &serde_json::Value, k: &str| {
            v.get(k)
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .unwrap_or_else(|| "-".into())
        };
        let num = |k: &str| tel.get(k).and_then(|x| x.as_u64());
        let esc_rate = match (num("escalated"), num("answered")) {
            (Some(e), Some(a)) if a > 0 => format!("{:.0} %", 100.0 * e as f64 / a as f64),
            _ => "-".into(),
        };
        let p95 = num("p95_us").map_or("-".into(), |us| format!("{:.1}", us as f64 / 1000.0));
        let _ = writeln!(
            s,
            "{:<20} {:<8} {:<8} {:<22} {:>6} {:>7} {:>9} {:>8} {:>8}",
            dev,
            state,
            text(st, "version"),
            text(st, "model"),
            text(st, "config_version"),
            num("outbox_depth").map_or("-".into(), |n| n.to_string()),
            num("answered").map_or("-".into(), |n| n.to_string()),
            esc_rate,
            p95,
        );
    }
    s
}

/// `slmd fleet watch`: telemetry lines until interrupted.
pub async fn watch(broker: &Broker) -> anyhow::Result<()> {
    let (client, mut events) = connect(broker, "watch")?;
    client
        .subscribe("slmd/v1/+/telemetry", QoS::AtMostOnce)
        .await?;
    client
        .subscribe("slmd/v1/+/status", QoS::AtLeastOnce)
        .await?;
    tokio::select! {
        r = collect(&mut events, None, |topic, body| {
            println!("{topic} {}", String::from_utf8_lossy(body));
            false
        }) => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// Parses `key=value` into JSON: numbers and booleans as such, a value
/// starting with `[` or `{` as JSON (`redact.names=["Ann Example"]`), the
/// rest as strings.
pub fn parse_pairs(pairs: &[String]) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let mut set = serde_json::Map::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            bail!("{p:?} is not key=value");
        };
        let value = match v.trim() {
            t if t.starts_with('[') || t.starts_with('{') => serde_json::from_str(t)
                .with_context(|| format!("the value of {:?} is not valid JSON", k.trim()))?,
            "true" => serde_json::Value::Bool(true),
            "false" => serde_json::Value::Bool(false),
            t => match (t.parse::<i64>(), t.parse::<f64>()) {
                (Ok(i), _) => i.into(),
                (_, Ok(f)) => f.into(),
                _ => serde_json::Value::String(t.to_string()),
            },
        };
        set.insert(k.trim().to_string(), value);
    }
    Ok(set)
}

/// `slmd fleet config set DEVICE key=value…`: publishes the next version
/// (unix ms, so versions only grow) retained, and prints the device's
/// acknowledgement when it answers within `wait`.
pub async fn config_set(
    broker: &Broker,
    device: &str,
    pairs: &[String],
    wait: Duration,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        crate::config::valid_device_id(device),
        "device id {device:?} must be 1 to 64 of A-Z a-z 0-9 - _ ."
    );
    let set = parse_pairs(pairs)?;
    anyhow::ensure!(!set.is_empty(), "nothing to set");
    let version = crate::escalations::now_ms();
    let msg = serde_json::json!({"version": version, "set": set});
    let (client, mut events) = connect(broker, "config")?;
    client
        .subscribe(device_topic(device, "config/ack"), QoS::AtLeastOnce)
        .await?;
    client
        .publish(
            device_topic(device, "config"),
            QoS::AtLeastOnce,
            true,
            msg.to_string(),
        )
        .await?;
    println!("published config version {version} to {device}");
    let mut ack = None;
    collect(
        &mut events,
        Some(Instant::now() + wait),
        |_, body| match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(v) if v["version"] == version => {
                ack = Some(v);
                true
            }
            _ => false,
        },
    )
    .await?;
    match ack {
        Some(v) if v["ok"] == true => println!("{device} applied version {version}"),
        Some(v) => bail!("{device} refused version {version}: {}", v["error"]),
        None => println!(
            "{device} did not answer within {} s; it applies the retained version when it connects",
            wait.as_secs()
        ),
    }
    let _ = client.disconnect().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pairs_become_typed_json_and_bad_ones_say_which() {
        let pairs: Vec<String> = [
            "policy.local_threshold=0.7",
            "escalation.max_per_hour = 5",
            "policy.escalate_critical=false",
            r#"redact.names=["Ann Example", "Bo"]"#,
            "escalation.device_id=yard 2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let set = parse_pairs(&pairs).unwrap();
        assert_eq!(set["policy.local_threshold"], json!(0.7));
        assert_eq!(set["escalation.max_per_hour"], json!(5));
        assert_eq!(set["policy.escalate_critical"], json!(false));
        assert_eq!(set["redact.names"], json!(["Ann Example", "Bo"]));
        assert_eq!(set["escalation.device_id"], json!("yard 2"));

        let e = parse_pairs(&["redact.names=[\"unclosed".to_string()]).unwrap_err();
        assert!(format!("{e:#}").contains("redact.names"), "{e:#}");
        assert!(parse_pairs(&["no-equals".to_string()]).is_err());
    }
}
