//! `slmd gateway`: the central side of escalation. It takes escalations
//! from a shared MQTT subscription (so any number of gateways split a
//! fleet's load), asks an OpenAI-compatible LLM service, and publishes each
//! answer to the asking device's answer topic with the request's
//! correlation data.
//!
//! Delivery is at least once, so the gateway deduplicates by request id: a
//! request being answered is not asked twice, and a repeated request gets
//! the answer already given. An escalation is acknowledged to the broker
//! only after its answer was handed to the client, so a gateway that dies
//! midway leaves it unacknowledged.

pub mod llm;

use crate::escalation::{device_topic, AnswerMsg, EscalateMsg, GATEWAY_SUBSCRIPTION};
use bytes::Bytes;
use llm::{failure_answer, LlmClient};
use rumqttc::v5::mqttbytes::v5::{Packet, Publish, PublishProperties};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Answers remembered for repeated requests.
const REMEMBERED: usize = 4096;

/// Settings of one gateway process.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub broker: crate::uplink::Broker,
    pub client_id: String,
    /// LLM calls in flight at once.
    pub concurrency: usize,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub uplink: crate::uplink::UplinkConfig,
}

/// Request ids in progress or answered, bounded.
#[derive(Default)]
struct Seen {
    answers: HashMap<String, Option<Arc<AnswerMsg>>>,
    order: VecDeque<String>,
}

impl Seen {
    /// Records (or updates) an id: `None` while its answer is being made.
    fn remember(&mut self, id: &str, answer: Option<Arc<AnswerMsg>>) {
        if self.answers.insert(id.to_string(), answer).is_none() {
            self.order.push_back(id.to_string());
            while self.order.len() > REMEMBERED {
                if let Some(old) = self.order.pop_front() {
                    self.answers.remove(&old);
                }
            }
        }
    }
}

/// Runs until `shutdown`, reconnecting with back-off.
pub async fn run(cfg: GatewayConfig, llm: LlmClient, shutdown: CancellationToken) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let limit = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let mut failures = 0u32;
    loop {
        let mut o = MqttOptions::new(
            cfg.client_id.clone(),
            cfg.broker.host.clone(),
            cfg.broker.port,
        );
        o.set_keep_alive(cfg.uplink.keep_alive);
        // rumqttc's own default (10 KiB) would drop the connection on the
        // first escalation of a long text; the broker drops larger packets.
        o.set_max_packet_size(Some(crate::limits::MAX_MQTT_PACKET));
        o.set_manual_acks(true);
        o.set_clean_start(true);
        if let Ok(Some((u, p))) = cfg.uplink.credentials() {
            o.set_credentials(u, p);
        }
        if cfg.broker.tls {
            match cfg.uplink.transport() {
                Ok(t) => {
                    o.set_transport(t);
                }
                Err(e) => {
                    tracing::error!(error = %e, "gateway TLS cannot be configured");
                    return;
                }
            }
        }
        let (client, mut events) = AsyncClient::new(o, 256);
        let mut up = false;
        loop {
            let ev = tokio::select! {
                _ = shutdown.cancelled() => {
                    let _ = client.try_disconnect();
                    return;
                }
                ev = events.poll() => ev,
            };
            match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    up = true;
                    failures = 0;
                    tracing::info!(subscription = GATEWAY_SUBSCRIPTION, "gateway connected");
                    let c = client.clone();
                    tokio::spawn(async move {
                        let _ = c.subscribe(GATEWAY_SUBSCRIPTION, QoS::AtLeastOnce).await;
                    });
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    handle(&client, &llm, &seen, &limit, p);
                }
                Ok(_) => {}
                Err(e) => {
                    if up {
                        tracing::warn!(error = %e, "gateway lost the broker");
                    }
                    break;
                }
            }
        }
        failures = failures.saturating_add(1);
        let delay = crate::uplink::backoff(cfg.backoff_min, cfg.backoff_max, failures);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// One escalation: answer it (once per id) on its own task, then ack it.
fn handle(
    client: &AsyncClient,
    llm: &LlmClient,
    seen: &Arc<Mutex<Seen>>,
    limit: &Arc<Semaphore>,
    p: Publish,
) {
    let (client, llm, seen, limit) = (client.clone(), llm.clone(), seen.clone(), limit.clone());
    tokio::spawn(async move {
        let msg: EscalateMsg = match serde_json::from_slice(&p.payload) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "malformed escalation dropped");
                let _ = client.ack(&p).await;
                return;
            }
        };
        if let Err(e) = msg.validate() {
            tracing::warn!(error = %e, "invalid escalation dropped");
            let _ = client.ack(&p).await;
            return;
        }
        let earlier = {
            let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
            match s.answers.get(&msg.id) {
                Some(a) => Some(a.clone()),
                None => {
                    s.remember(&msg.id, None);
                    None
                }
            }
        };
        let answer = match earlier {
            // Being answered by this gateway right now.
            Some(None) => {
                let _ = client.ack(&p).await;
                return;
            }
            // Answered before: the device did not get it; send it again.
            Some(Some(a)) => a,
            None => {
                let _permit = limit.acquire().await;
                let model = llm.config().model.clone();
                let a = match llm.answer(&msg).await {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(escalation = %msg.id, error = %e, "LLM gave no answer");
                        failure_answer(&msg, &e, &model)
                    }
                };
                let a = Arc::new(a);
                seen.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remember(&msg.id, Some(a.clone()));
                a
            }
        };
        let props = p.properties.clone().unwrap_or_default();
        let topic = props
            .response_topic
            .clone()
            .filter(|t| t.starts_with("slmd/v1/") && t.ends_with("/answer"))
            .unwrap_or_else(|| device_topic(&msg.device, "answer"));
        let out = PublishProperties {
            correlation_data: props
                .correlation_data
                .clone()
                .or_else(|| Some(Bytes::from(msg.id.clone().into_bytes()))),
            content_type: Some("application/json".into()),
            ..PublishProperties::default()
        };
        let body = match serde_json::to_vec(&*answer) {
            Ok(b) => b,
            Err(_) => return,
        };
        if client
            .publish_with_properties(topic, QoS::AtLeastOnce, false, body, out)
            .await
            .is_ok()
        {
            let _ = client.ack(&p).await;
            tracing::info!(escalation = %msg.id, device = %msg.device, "answer published");
        }
    });
}
