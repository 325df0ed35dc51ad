//! The MQTT 5 uplink: one session to the broker at a time, reconnected
//! with exponential back-off and jitter, that drains the outbox, receives
//! central answers, and keeps the fleet informed (retained status with a
//! Last Will, periodic telemetry, commands with replies).
//!
//! Each connection gets a fresh client and event loop. The event loop is
//! only ever polled by one task, and publishes come from a separate
//! publisher task: publishing from the polling task can deadlock the
//! client. After every connection, with or without a session present,
//! every unretired outbox record is published again; the broker's PUBACK
//! retires it, a refusal (reason code ≥ 0x80) counts an attempt and moves
//! it to the dead letters after the configured number.

mod config;

pub use config::{Broker, UplinkConfig};

use crate::escalation::{device_topic, AnswerMsg};
use crate::escalations::{now_ms, Escalations};
use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::{
    ConnectProperties, ConnectReturnCode, LastWill, Packet, PubAckReason, PublishProperties,
};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use rumqttc::Outgoing;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Records published per round by the publisher.
const PUBLISH_BATCH: usize = 64;
/// Requests buffered between the publisher and the event loop.
const REQUEST_CAPACITY: usize = 128;
/// Delay before publishing again a record no gateway was subscribed for.
const NO_SUBSCRIBER_RETRY: Duration = Duration::from_secs(2);

/// The uplink's state as others read it: the policy (online or not), the
/// status reply and telemetry.
#[derive(Debug, Default)]
pub struct Link {
    /// The session is up (the policy reads this).
    pub connected: Arc<AtomicBool>,
    /// `crate::api::proto::Uplink` as u8, for the socket API's Status.
    pub state: Arc<AtomicU8>,
    /// Unix ms of the last acknowledged publish.
    pub last_ack_ms: AtomicU64,
    /// Round trip of the last acknowledged escalation, in ms.
    pub last_rtt_ms: AtomicU64,
    /// Connections made since start.
    pub connects: AtomicU64,
    /// Messages on the answer, cmd and config topics that were malformed,
    /// oversized, of the wrong shape or refused, and so ignored.
    pub rejected: AtomicU64,
}

impl Link {
    fn set(&self, s: crate::api::proto::Uplink) {
        self.state.store(s as u8, Ordering::Relaxed);
        self.connected
            .store(s == crate::api::proto::Uplink::Connected, Ordering::Relaxed);
    }
}

/// What the status and telemetry messages report about the daemon.
pub trait Report: Send + Sync + 'static {
    /// Versions and capabilities for the retained status.
    fn status(&self) -> serde_json::Value;
    /// Counters and latencies for telemetry.
    fn telemetry(&self) -> serde_json::Value;
    /// Applies a retained `config` message; the reply to publish on
    /// `config/ack`. The status then reports the applied version.
    fn apply_config(&self, payload: &[u8]) -> serde_json::Value;
    /// Reads the knowledge-base index again (the `reload` command); the
    /// reply's fields. On an error the index in use is kept.
    fn reload_kb(&self) -> Result<serde_json::Value, String>;
}

/// Runs the uplink until `shutdown`; reconnects forever.
pub async fn run(
    cfg: UplinkConfig,
    broker: Broker,
    escalations: Arc<Escalations>,
    report: Arc<dyn Report>,
    link: Arc<Link>,
    shutdown: CancellationToken,
) {
    let device = escalations.device().to_string();
    let mut failures: u32 = 0;
    link.set(crate::api::proto::Uplink::Connecting);
    loop {
        let opts = match options(&cfg, &broker, &device) {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "uplink cannot be configured; it stays off");
                link.set(crate::api::proto::Uplink::Off);
                return;
            }
        };
        let (client, events) = AsyncClient::new(opts, REQUEST_CAPACITY);
        let outcome = session(
            &client,
            events,
            &device,
            &cfg,
            &escalations,
            &report,
            &link,
            &shutdown,
        )
        .await;
        link.set(crate::api::proto::Uplink::Connecting);
        match outcome {
            Ended::Shutdown => {
                link.set(crate::api::proto::Uplink::Off);
                return;
            }
            Ended::Lost { was_up } => {
                failures = if was_up {
                    1
                } else {
                    failures.saturating_add(1)
                };
            }
        }
        let delay = backoff(cfg.backoff_min, cfg.backoff_max, failures);
        tracing::info!(
            retry_in_ms = delay.as_millis() as u64,
            "uplink down; reconnecting"
        );
        tokio::select! {
            _ = shutdown.cancelled() => {
                link.set(crate::api::proto::Uplink::Off);
                return;
            }
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// Exponential back-off with jitter: the n-th failure waits a random time
/// between half and all of `min · 2^(n-1)`, capped at `max`.
pub fn backoff(min: Duration, max: Duration, failures: u32) -> Duration {
    let full = min
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(max);
    let half = full / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    let jitter = if nanos == 0 {
        0
    } else {
        random_u64() % (nanos + 1)
    };
    half + Duration::from_nanos(jitter)
}

/// A random number from the standard library's per-process hasher keys.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish()
}

fn options(cfg: &UplinkConfig, broker: &Broker, device: &str) -> anyhow::Result<MqttOptions> {
    let client_id = cfg
        .client_id
        .clone()
        .unwrap_or_else(|| format!("slmd-{device}"));
    let mut o = MqttOptions::new(client_id, broker.host.clone(), broker.port);
    o.set_keep_alive(cfg.keep_alive);
    o.set_clean_start(false);
    // An answer is acknowledged to the broker only once it is stored, so a
    // crash in between gets it delivered again.
    o.set_manual_acks(true);
    let mut props = ConnectProperties::new();
    props.session_expiry_interval = Some(cfg.session_expiry.as_secs().min(u32::MAX as u64) as u32);
    // The broker drops larger packets for this client: memory stays bounded.
    props.max_packet_size = Some(crate::limits::MAX_MQTT_PACKET);
    o.set_connect_properties(props);
    o.set_connection_timeout(cfg.connect_timeout.as_secs().max(1));
    let offline = serde_json::json!({"v": 1, "device": device, "online": false});
    o.set_last_will(LastWill::new(
        device_topic(device, "status"),
        offline.to_string(),
        QoS::AtLeastOnce,
        true,
        None,
    ));
    if let Some((user, password)) = cfg.credentials()? {
        o.set_credentials(user, password);
    }
    if broker.tls {
        o.set_transport(cfg.transport()?);
    }
    Ok(o)
}

enum Ended {
    Shutdown,
    Lost { was_up: bool },
}

/// What was published in this session, in the order the event loop will
/// report it, so packet ids can be tied back to records.
#[derive(Default)]
struct Sent {
    /// One entry per publish request, in order: the record id for
    /// escalations, `None` for other messages.
    order: VecDeque<Option<String>>,
    /// Packet id → record id, until its PUBACK.
    by_pkid: HashMap<u16, String>,
    /// Record ids published and not yet acknowledged in this session.
    in_flight: HashSet<String>,
    /// Ids retired or refused since the publisher last read a batch from
    /// the outbox: that batch may still hold them, and they are not
    /// published again. Cleared at each read, so it holds at most the
    /// records acknowledged during one batch.
    settled: HashSet<String>,
}

/// A record the broker acknowledged (retired or refused) is no longer in
/// flight; it is remembered as settled until the publisher's next read.
fn settle(sent: &Mutex<Sent>, id: String) {
    let mut s = sent.lock().unwrap_or_else(|p| p.into_inner());
    s.in_flight.remove(&id);
    s.settled.insert(id);
}

/// Every publish of a session goes through here, one at a time, so the
/// order of [`Sent::order`] is the order the event loop sees.
struct Sender {
    client: AsyncClient,
    sent: Arc<Mutex<Sent>>,
    lock: tokio::sync::Mutex<()>,
}

impl Sender {
    async fn publish(
        &self,
        record: Option<String>,
        topic: String,
        qos: QoS,
        retain: bool,
        payload: Vec<u8>,
        props: PublishProperties,
    ) -> Result<(), rumqttc::v5::ClientError> {
        let _turn = self.lock.lock().await;
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .order
            .push_back(record);
        self.client
            .publish_with_properties(topic, qos, retain, payload, props)
            .await
    }
}

#[allow(clippy::too_many_arguments)]
async fn session(
    client: &AsyncClient,
    mut events: EventLoop,
    device: &str,
    cfg: &UplinkConfig,
    esc: &Arc<Escalations>,
    report: &Arc<dyn Report>,
    link: &Arc<Link>,
    shutdown: &CancellationToken,
) -> Ended {
    let sent = Arc::new(Mutex::new(Sent::default()));
    let sender = Arc::new(Sender {
        client: client.clone(),
        sent: sent.clone(),
        lock: tokio::sync::Mutex::new(()),
    });
    let acked = Arc::new(tokio::sync::Notify::new());
    // The connection's own tasks: the publisher, and one retry timer per
    // escalation no gateway took. Finished ones are reaped as new ones
    // start, so while the gateway is away this holds at most one timer per
    // escalation in flight (bounded by the outbox), not one per retry.
    let mut tasks: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
    let mut up = false;
    let answer_topic = device_topic(device, "answer");
    let cmd_topic = device_topic(device, "cmd");
    let config_topic = device_topic(device, "config");
    let end = loop {
        let ev = tokio::select! {
            _ = shutdown.cancelled() => break Ended::Shutdown,
            ev = events.poll() => ev,
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                if up {
                    tracing::warn!(error = %e, "uplink connection lost");
                } else {
                    tracing::debug!(error = %e, "uplink cannot connect");
                }
                break Ended::Lost { was_up: up };
            }
        };
        match ev {
            Event::Incoming(Packet::ConnAck(ack)) => {
                if ack.code != ConnectReturnCode::Success {
                    tracing::warn!(code = ?ack.code, "broker refused the connection");
                    break Ended::Lost { was_up: false };
                }
                up = true;
                link.connects.fetch_add(1, Ordering::Relaxed);
                link.set(crate::api::proto::Uplink::Connected);
                tracing::info!(
                    session_present = ack.session_present,
                    "uplink connected; publishing every unretired escalation"
                );
                while tasks.try_join_next().is_some() {}
                tasks.spawn(publisher(
                    sender.clone(),
                    device.to_string(),
                    esc.clone(),
                    report.clone(),
                    sent.clone(),
                    acked.clone(),
                    cfg.telemetry_interval,
                    link.clone(),
                ));
            }
            Event::Outgoing(Outgoing::Publish(pkid)) => {
                let mut s = sent.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(Some(id)) = s.order.pop_front() {
                    s.by_pkid.insert(pkid, id);
                }
            }
            Event::Incoming(Packet::PubAck(ack)) => {
                let id = {
                    let mut s = sent.lock().unwrap_or_else(|p| p.into_inner());
                    s.by_pkid.remove(&ack.pkid)
                };
                let Some(id) = id else { continue };
                let code = reason_code(&ack.reason);
                if code == 0x10 {
                    // No matching subscribers: no gateway took it. It stays
                    // queued and goes out again shortly.
                    tracing::debug!(escalation = %id, "no gateway subscribed; retrying");
                    let (sent2, acked2) = (sent.clone(), acked.clone());
                    while tasks.try_join_next().is_some() {}
                    tasks.spawn(async move {
                        tokio::time::sleep(NO_SUBSCRIBER_RETRY).await;
                        sent2
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .in_flight
                            .remove(&id);
                        acked2.notify_one();
                    });
                    continue;
                }
                let (esc2, sent2, link2) = (esc.clone(), sent.clone(), link.clone());
                let done = tokio::task::spawn_blocking(move || {
                    if code < 0x80 {
                        // Retired first, then forgotten as in flight: the
                        // other way round the publisher could read it as
                        // pending in between and publish it again. (It is
                        // published again if it is queued again later.)
                        let r = esc2.acknowledged(&id);
                        settle(&sent2, id);
                        let now = now_ms();
                        link2.last_ack_ms.store(now, Ordering::Relaxed);
                        r.map(|_| ())
                    } else {
                        tracing::warn!(escalation = %id, code, "broker refused an escalation");
                        let r = esc2.outbox().refused(&id, code).map(|_| ());
                        settle(&sent2, id);
                        r.map_err(Into::into)
                    }
                })
                .await;
                if let Ok(Err(e)) = done {
                    tracing::warn!(error = %e, "outbox update after PUBACK failed");
                }
                acked.notify_one();
            }
            Event::Incoming(Packet::Publish(p)) => {
                let topic = String::from_utf8_lossy(&p.topic).to_string();
                let reject = || {
                    link.rejected.fetch_add(1, Ordering::Relaxed);
                };
                if p.payload.len() > crate::limits::MAX_MQTT_PAYLOAD {
                    tracing::warn!(topic = %topic, bytes = p.payload.len(),
                        limit = crate::limits::MAX_MQTT_PAYLOAD, "oversized message ignored");
                    reject();
                } else if topic == answer_topic {
                    if !receive_answer(esc, &p.payload).await {
                        reject();
                    }
                } else if topic == cmd_topic {
                    if !command(&sender, device, esc, report, &p).await {
                        reject();
                    }
                } else if topic == config_topic {
                    let ack = report.apply_config(&p.payload);
                    if ack["ok"] != true {
                        reject();
                    }
                    let mut status = report.status();
                    status["online"] = true.into();
                    let (sender, device) = (sender.clone(), device.to_string());
                    tokio::spawn(async move {
                        let none = PublishProperties::default;
                        let _ = sender
                            .publish(
                                None,
                                device_topic(&device, "config/ack"),
                                QoS::AtLeastOnce,
                                false,
                                ack.to_string().into_bytes(),
                                none(),
                            )
                            .await;
                        let _ = sender
                            .publish(
                                None,
                                device_topic(&device, "status"),
                                QoS::AtLeastOnce,
                                true,
                                status.to_string().into_bytes(),
                                none(),
                            )
                            .await;
                    });
                }
                // Acknowledged only now that it was handled (an answer is
                // stored), from another task: the event loop must keep polling.
                let c = client.clone();
                tokio::spawn(async move {
                    let _ = c.ack(&p).await;
                });
            }
            _ => {}
        }
    };
    tasks.abort_all();
    if matches!(end, Ended::Shutdown) && up {
        // A clean goodbye: the retained status says offline (the Last Will
        // is only sent when the connection drops).
        let offline = serde_json::json!({"v": 1, "device": device, "online": false});
        let _ = client.try_publish(
            device_topic(device, "status"),
            QoS::AtLeastOnce,
            true,
            offline.to_string(),
        );
        let _ = client.try_disconnect();
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            while events.poll().await.is_ok() {}
        })
        .await;
    }
    end
}

/// MQTT 5 reason code of a PUBACK.
fn reason_code(r: &PubAckReason) -> u8 {
    match r {
        PubAckReason::Success => 0x00,
        PubAckReason::NoMatchingSubscribers => 0x10,
        PubAckReason::UnspecifiedError => 0x80,
        PubAckReason::ImplementationSpecificError => 0x83,
        PubAckReason::NotAuthorized => 0x87,
        PubAckReason::TopicNameInvalid => 0x90,
        PubAckReason::PacketIdentifierInUse => 0x91,
        PubAckReason::QuotaExceeded => 0x97,
        PubAckReason::PayloadFormatInvalid => 0x99,
    }
}

/// Stores a central answer; false when the message was malformed or
/// invalid, or answers an escalation this device never made (and so was
/// ignored).
async fn receive_answer(esc: &Arc<Escalations>, payload: &[u8]) -> bool {
    let msg = match parse_answer(payload) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, bytes = payload.len(), "malformed or invalid answer ignored");
            return false;
        }
    };
    let esc = esc.clone();
    match tokio::task::spawn_blocking(move || esc.receive_answer(&msg)).await {
        Ok(Ok(crate::outbox::AnswerStored::Unknown)) => return false,
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "answer not stored"),
        Err(e) => tracing::warn!(error = %e, "answer task failed"),
    }
    true
}

/// A message on the `cmd` topic.
#[derive(Debug, serde::Deserialize)]
pub struct Cmd {
    /// ping, flush, status or reload.
    pub cmd: String,
    /// Echoed in the reply.
    #[serde(default)]
    pub id: Option<serde_json::Value>,
}

/// Decodes a `cmd` message, as the uplink does.
pub fn parse_command(payload: &[u8]) -> Result<Cmd, serde_json::Error> {
    serde_json::from_slice(payload)
}

/// Decodes and checks an `answer` message, as the uplink does before it
/// stores the answer.
pub fn parse_answer(payload: &[u8]) -> Result<AnswerMsg, String> {
    let msg: AnswerMsg = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    msg.validate()?;
    Ok(msg)
}

/// `cmd` topic: `{"cmd": "ping" | "flush" | "status" | "reload", "id": …}`; the reply
/// goes to the request's response topic, else to `cmd/reply`. False when the
/// message was not a command this daemon knows.
async fn command(
    sender: &Arc<Sender>,
    device: &str,
    esc: &Arc<Escalations>,
    report: &Arc<dyn Report>,
    p: &rumqttc::v5::mqttbytes::v5::Publish,
) -> bool {
    let props = p.properties.clone().unwrap_or_default();
    let reply_to = props
        .response_topic
        .clone()
        .unwrap_or_else(|| device_topic(device, "cmd/reply"));
    let mut understood = true;
    let reply = match parse_command(&p.payload) {
        Err(e) => {
            understood = false;
            tracing::warn!(error = %e, bytes = p.payload.len(), "malformed command ignored");
            serde_json::json!({"ok": false, "error": format!("bad command: {e}")})
        }
        Ok(c) => {
            let mut r = match c.cmd.as_str() {
                "ping" => serde_json::json!({"ok": true, "cmd": "ping", "pong": now_ms()}),
                "flush" => {
                    let e = esc.clone();
                    let expired = tokio::task::spawn_blocking(move || e.expire())
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or(0);
                    esc.nudge();
                    serde_json::json!({"ok": true, "cmd": "flush", "expired": expired,
                        "outbox_depth": esc.depth()})
                }
                "status" => serde_json::json!({"ok": true, "cmd": "status",
                    "status": report.status(), "telemetry": report.telemetry()}),
                "reload" => {
                    let r = report.clone();
                    match tokio::task::spawn_blocking(move || r.reload_kb()).await {
                        Ok(Ok(mut fields)) => {
                            fields["ok"] = true.into();
                            fields["cmd"] = "reload".into();
                            fields
                        }
                        Ok(Err(e)) => serde_json::json!({"ok": false, "cmd": "reload", "error": e}),
                        Err(e) => serde_json::json!({"ok": false, "cmd": "reload",
                            "error": format!("reload task failed: {e}")}),
                    }
                }
                other => {
                    understood = false;
                    serde_json::json!({"ok": false, "error": format!("unknown command {other:?}")})
                }
            };
            if let Some(id) = c.id {
                r["id"] = id;
            }
            r
        }
    };
    let out = PublishProperties {
        correlation_data: props.correlation_data.clone(),
        ..PublishProperties::default()
    };
    let sender = sender.clone();
    tokio::spawn(async move {
        let _ = sender
            .publish(
                None,
                reply_to,
                QoS::AtLeastOnce,
                false,
                reply.to_string().into_bytes(),
                out,
            )
            .await;
    });
    understood
}

/// Publishes the birth status, then every unretired record, then new ones
/// as they are queued, and telemetry on its interval.
#[allow(clippy::too_many_arguments)]
async fn publisher(
    sender: Arc<Sender>,
    device: String,
    esc: Arc<Escalations>,
    report: Arc<dyn Report>,
    sent: Arc<Mutex<Sent>>,
    acked: Arc<tokio::sync::Notify>,
    telemetry_every: Duration,
    link: Arc<Link>,
) {
    let status_topic = device_topic(&device, "status");
    let escalate_topic = device_topic(&device, "escalate");
    let answer_topic = device_topic(&device, "answer");
    let telemetry_topic = device_topic(&device, "telemetry");
    // Subscribed before anything is published: the broker handles one
    // connection's packets in order, so no answer can beat the subscription.
    for t in [
        answer_topic.clone(),
        device_topic(&device, "cmd"),
        device_topic(&device, "config"),
    ] {
        if sender.client.subscribe(t, QoS::AtLeastOnce).await.is_err() {
            return;
        }
    }
    let mut birth = report.status();
    birth["online"] = true.into();
    let none = PublishProperties::default;
    if sender
        .publish(
            None,
            status_topic,
            QoS::AtLeastOnce,
            true,
            birth.to_string().into_bytes(),
            none(),
        )
        .await
        .is_err()
    {
        return;
    }
    let mut tick = tokio::time::interval(telemetry_every);
    tick.tick().await;
    loop {
        // Cleared before the read: an id retired after this point is
        // either missing from the batch or found in `settled`.
        sent.lock()
            .unwrap_or_else(|p| p.into_inner())
            .settled
            .clear();
        let e = esc.clone();
        let pending =
            tokio::task::spawn_blocking(move || e.outbox().pending(now_ms(), PUBLISH_BATCH)).await;
        let records = match pending {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read the outbox");
                Vec::new()
            }
            Err(_) => return,
        };
        for r in records {
            let fresh = {
                let mut s = sent.lock().unwrap_or_else(|p| p.into_inner());
                // The batch was read before PUBACKs that came meanwhile: a
                // record retired since is not published again.
                !s.settled.contains(&r.id) && s.in_flight.insert(r.id.clone())
            };
            if !fresh {
                continue;
            }
            let props = PublishProperties {
                response_topic: Some(answer_topic.clone()),
                correlation_data: Some(Bytes::from(r.id.clone().into_bytes())),
                content_type: Some("application/json".into()),
                ..PublishProperties::default()
            };
            let started = std::time::Instant::now();
            let published = sender
                .publish(
                    Some(r.id.clone()),
                    escalate_topic.clone(),
                    QoS::AtLeastOnce,
                    false,
                    r.payload,
                    props,
                )
                .await;
            if published.is_err() {
                return;
            }
            link.last_rtt_ms
                .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            tracing::debug!(escalation = %r.id, attempt = r.attempts + 1, "escalation published");
        }
        tokio::select! {
            _ = esc.queued() => {}
            _ = acked.notified() => {}
            _ = tick.tick() => {
                let t = report.telemetry();
                let sent = sender
                    .publish(
                        None,
                        telemetry_topic.clone(),
                        QoS::AtMostOnce,
                        false,
                        t.to_string().into_bytes(),
                        none(),
                    )
                    .await;
                if sent.is_err() {
                    return;
                }
            }
        }
    }
}
