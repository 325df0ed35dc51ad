//! The device side of escalation: redact what must not leave the device,
//! store the request durably in the outbox, track its state, and turn the
//! central answer that comes back into an update for the technician, with
//! the redacted values put back and any disagreement with the local answer
//! said plainly.
//!
//! Every call here does blocking I/O on the outbox (a commit reaches the
//! disk before `submit` returns); async callers run it on a blocking thread.

use crate::escalation::{AnswerMsg, EscalateMsg, LocalTriage, Passage, PAYLOAD_VERSION};
use crate::labels::{Category, Urgency};
use crate::limits::prefix_within as cut;
use crate::outbox::{AnswerStored, Enqueued, EscalationState, Outbox, OutboxError};
use crate::redact::{RedactError, Redacted, Redactor};
use crate::triage::Decision;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, Notify};

/// File name of the outbox inside the state directory.
pub const OUTBOX_FILE: &str = "outbox.redb";

/// Updates buffered for slow subscribers; a subscriber that falls further
/// behind loses updates and can fetch the state by id.
const UPDATE_BUFFER: usize = 256;

/// What can go wrong on the device side of an escalation.
#[derive(Debug, thiserror::Error)]
pub enum EscalationError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(transparent)]
    Redact(#[from] RedactError),
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("escalation payload cannot be encoded: {0}")]
    Encode(String),
}

/// The central service's answer, as the technician gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct CentralAnswer {
    /// The answer with the redacted values put back.
    pub answer: String,
    pub category: Option<Category>,
    pub urgency: Option<Urgency>,
    pub sources: Vec<String>,
    pub model: String,
    /// Set when the central model could not answer.
    pub error: Option<String>,
    /// What the central answer changes about the local one, in words;
    /// empty when they agree.
    pub disagreement: String,
}

/// Where one escalation stands.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationView {
    /// The escalation's id (the dedupe key; fetch it with this).
    pub id: String,
    pub state: EscalationState,
    pub answer: Option<CentralAnswer>,
}

/// Device-only data stored with each record: never published.
#[derive(Serialize, Deserialize)]
struct LocalData {
    /// Placeholder → original, to put the originals back into the answer.
    map: Vec<(String, String)>,
    category: Category,
    urgency: Urgency,
    source: Option<String>,
    /// The published payload, to publish again if no answer comes.
    #[serde(default)]
    payload: String,
    #[serde(default)]
    priority: u8,
}

/// The escalation service; shared by the API server and the uplink.
pub struct Escalations {
    outbox: Outbox,
    /// Replaced whole when operators change the redaction rules.
    redactor: std::sync::RwLock<std::sync::Arc<Redactor>>,
    device: String,
    ttl: Duration,
    passages: usize,
    updates: broadcast::Sender<EscalationView>,
    queued: Notify,
    counter: AtomicU64,
}

impl std::fmt::Debug for Escalations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Escalations")
            .field("outbox", &self.outbox.path())
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// The local answer quotes the text; the same values are replaced in it.
fn redact_more(redactor: &Redactor, red: &Redacted, answer: &str) -> String {
    let mut out = redactor.redact(answer).text;
    for (placeholder, original) in &red.map {
        out = out.replace(original.as_str(), placeholder);
    }
    out
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Escalations {
    /// Opens (or creates) the outbox in `state_dir`.
    pub fn open(
        state_dir: &Path,
        device: &str,
        cfg: &crate::config::EscalationConfig,
    ) -> Result<Escalations, EscalationError> {
        std::fs::create_dir_all(state_dir).map_err(|source| EscalationError::StateDir {
            path: state_dir.to_path_buf(),
            source,
        })?;
        // A file damaged beyond repair is moved aside (and logged) rather
        // than stopping every start of the daemon.
        let (outbox, _set_aside) =
            Outbox::open_or_set_aside(state_dir.join(OUTBOX_FILE), cfg.outbox.clone())?;
        let redactor = Redactor::new(&cfg.redact)?;
        let (updates, _) = broadcast::channel(UPDATE_BUFFER);
        Ok(Escalations {
            outbox,
            redactor: std::sync::RwLock::new(std::sync::Arc::new(redactor)),
            device: device.to_string(),
            ttl: cfg.ttl,
            passages: cfg.passages,
            updates,
            queued: Notify::new(),
            counter: AtomicU64::new(0),
        })
    }

    /// The device id used in topics and payloads.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// The outbox, for the uplink that drains it.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// How many knowledge-base passages go along with an escalation.
    pub fn passages(&self) -> usize {
        self.passages
    }

    /// Records waiting for their PUBACK.
    pub fn depth(&self) -> u32 {
        self.outbox
            .stats()
            .map_or(0, |s| s.depth.min(u32::MAX as u64) as u32)
    }

    /// Wakes whoever waits in [`Escalations::queued`] (the uplink's
    /// publisher), e.g. to publish again after a flush command.
    pub fn nudge(&self) {
        self.queued.notify_one();
    }

    /// Resolves when a new escalation was queued.
    pub async fn queued(&self) {
        self.queued.notified().await
    }

    /// Updates of every escalation's state, as they happen.
    pub fn subscribe(&self) -> broadcast::Receiver<EscalationView> {
        self.updates.subscribe()
    }

    /// A fresh escalation id, unique on this device.
    fn new_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = format!("{}/{}/{nanos}/{n}", self.device, std::process::id());
        let h = Sha256::digest(seed.as_bytes());
        format!("e{}", &hex::encode(h)[..23])
    }

    /// Redacts the text and the local answer, stores the escalation
    /// durably and returns its id once the record is on disk.
    pub fn submit(
        &self,
        text: &str,
        decision: &Decision,
        passages: Vec<Passage>,
    ) -> Result<String, EscalationError> {
        let id = self.new_id();
        let redactor = self.redactor();
        let red = redactor.redact(text);
        let answer = redact_more(&redactor, &red, &decision.answer);
        let passages = passages
            .into_iter()
            .take(self.passages)
            .map(|mut p| {
                p.text = cut(&p.text, crate::escalation::MAX_PASSAGE_TEXT).to_string();
                p
            })
            .collect();
        let created_ms = now_ms();
        let msg = EscalateMsg {
            v: PAYLOAD_VERSION,
            id: id.clone(),
            device: self.device.clone(),
            created_ms,
            deadline_ms: created_ms + self.ttl.as_millis() as u64,
            text: cut(&red.text, crate::escalation::MAX_ESCALATED_TEXT).to_string(),
            local: LocalTriage {
                category: decision.category.as_str().into(),
                urgency: decision.urgency.as_str().into(),
                route: decision.route.as_str().into(),
                confidence: decision.confidence,
                answer,
                sources: decision.sources.iter().map(|s| s.id.clone()).collect(),
                reasons: decision
                    .reasons
                    .iter()
                    .map(|r| r.code.as_str().to_string())
                    .collect(),
            },
            passages,
        };
        let payload =
            serde_json::to_vec(&msg).map_err(|e| EscalationError::Encode(e.to_string()))?;
        let priority = match decision.urgency {
            Urgency::Critical => 3,
            Urgency::High => 2,
            Urgency::Normal => 1,
            Urgency::Low => 0,
        };
        let local = LocalData {
            map: red.map.clone(),
            category: decision.category,
            urgency: decision.urgency,
            source: decision.sources.first().map(|s| s.id.clone()),
            payload: String::from_utf8_lossy(&payload).into_owned(),
            priority,
        };
        let local =
            serde_json::to_vec(&local).map_err(|e| EscalationError::Encode(e.to_string()))?;
        let rec = crate::outbox::Escalation {
            id: id.clone(),
            created_ms,
            deadline_ms: msg.deadline_ms,
            priority,
            payload,
            local,
        };
        match self.outbox.enqueue(&rec)? {
            Enqueued::Accepted | Enqueued::Duplicate(_) => {}
        }
        tracing::info!(
            escalation = %id,
            redacted = red.map.len(),
            urgency = %decision.urgency,
            "escalation queued"
        );
        self.queued.notify_one();
        Ok(id)
    }

    /// The redaction rules in force.
    fn redactor(&self) -> std::sync::Arc<Redactor> {
        self.redactor
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Escalations from now on are redacted by `redactor`; those already
    /// stored keep the redaction they had.
    pub fn set_redactor(&self, redactor: Redactor) {
        *self.redactor.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(redactor);
    }

    /// Where escalation `id` stands, with the central answer when there is
    /// one; `None` for an id this device does not know (or has forgotten).
    pub fn view(&self, id: &str) -> Result<Option<EscalationView>, EscalationError> {
        let Some(state) = self.outbox.state(id)? else {
            return Ok(None);
        };
        let answer = match self.outbox.answer(id)? {
            Some(bytes) => self.central(id, &bytes)?,
            None => None,
        };
        Ok(Some(EscalationView {
            id: id.to_string(),
            state,
            answer,
        }))
    }

    /// The uplink published record `id` and the broker acknowledged it.
    pub fn acknowledged(&self, id: &str) -> Result<(), EscalationError> {
        if self.outbox.retire(id)? {
            self.announce(id);
        }
        Ok(())
    }

    /// Stores a central answer (once per id, and only for an escalation
    /// this device made) and announces it when new.
    pub fn receive_answer(&self, msg: &AnswerMsg) -> Result<AnswerStored, EscalationError> {
        let bytes = serde_json::to_vec(msg).map_err(|e| EscalationError::Encode(e.to_string()))?;
        let stored = self.outbox.store_answer(&msg.id, &bytes)?;
        match stored {
            AnswerStored::New => {
                tracing::info!(escalation = %msg.id, model = %msg.model, "central answer received");
                self.announce(&msg.id);
            }
            AnswerStored::Duplicate => {
                tracing::debug!(escalation = %msg.id, "duplicate central answer ignored");
            }
            AnswerStored::Unknown => {
                tracing::warn!(escalation = %msg.id, "answer to an escalation this device does not know ignored");
            }
        }
        Ok(stored)
    }

    /// Publishes again the escalations the broker took more than `after`
    /// ago that still have no answer (a gateway may have died holding
    /// them); the central side answers a repeat from what it stored.
    /// Returns how many were queued again.
    pub fn resend_unanswered(&self, after: Duration) -> Result<usize, EscalationError> {
        let now = now_ms();
        let cutoff = now.saturating_sub(after.as_millis() as u64);
        let mut n = 0;
        for id in self.outbox.unanswered_before(cutoff, 64)? {
            let Some(local) = self
                .outbox
                .local(&id)?
                .and_then(|b| serde_json::from_slice::<LocalData>(&b).ok())
            else {
                continue;
            };
            let deadline_ms =
                serde_json::from_str::<EscalateMsg>(&local.payload).map_or(0, |m| m.deadline_ms);
            if local.payload.is_empty() || deadline_ms <= now {
                continue;
            }
            let rec = crate::outbox::Escalation {
                id: id.clone(),
                created_ms: now,
                deadline_ms,
                priority: local.priority,
                payload: local.payload.into_bytes(),
                local: Vec::new(),
            };
            if self.outbox.requeue(&rec)? {
                tracing::info!(escalation = %id, "no answer yet; publishing again");
                self.announce(&id);
                n += 1;
            }
        }
        if n > 0 {
            self.nudge();
        }
        Ok(n)
    }

    /// Drops expired records and announces them; returns how many.
    pub fn expire(&self) -> Result<u64, EscalationError> {
        let expired = self.outbox.expire_ids(now_ms())?;
        for id in &expired {
            self.announce(id);
        }
        Ok(expired.len() as u64)
    }

    /// Sends the current view of `id` to subscribers.
    pub fn announce(&self, id: &str) {
        match self.view(id) {
            Ok(Some(v)) => {
                let _ = self.updates.send(v);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(escalation = %id, error = %e, "cannot read escalation"),
        }
    }

    fn central(&self, id: &str, bytes: &[u8]) -> Result<Option<CentralAnswer>, EscalationError> {
        let Ok(msg) = serde_json::from_slice::<AnswerMsg>(bytes) else {
            return Ok(None);
        };
        let local: Option<LocalData> = self
            .outbox
            .local(id)?
            .and_then(|b| serde_json::from_slice(&b).ok());
        let answer = match &local {
            Some(l) => crate::redact::rehydrate(&msg.answer, &l.map),
            None => msg.answer.clone(),
        };
        let category = msg.category.as_deref().and_then(|c| c.parse().ok());
        let urgency = msg.urgency.as_deref().and_then(|u| u.parse().ok());
        let disagreement = local
            .map(|l| disagreement(&l, category, urgency, &msg.sources))
            .unwrap_or_default();
        Ok(Some(CentralAnswer {
            answer,
            category,
            urgency,
            sources: msg.sources,
            model: msg.model,
            error: msg.error,
            disagreement,
        }))
    }
}

/// What the central answer changes about the local one, in words.
fn disagreement(
    local: &LocalData,
    category: Option<Category>,
    urgency: Option<Urgency>,
    sources: &[String],
) -> String {
    let mut parts = Vec::new();
    if let Some(u) = urgency.filter(|u| *u != local.urgency) {
        parts.push(format!("urgency is {u}, not {}", local.urgency));
    }
    if let Some(c) = category.filter(|c| *c != local.category) {
        parts.push(format!("category is {c}, not {}", local.category));
    }
    if let (Some(mine), Some(theirs)) = (&local.source, sources.first()) {
        if !sources.iter().any(|s| s.eq_ignore_ascii_case(mine)) {
            parts.push(format!("follow procedure {theirs}, not {mine}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(
            "The central answer differs from the local one: {}.",
            parts.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::Route;
    use crate::triage::Source;

    fn decision() -> Decision {
        Decision {
            category: Category::Hvac,
            urgency: Urgency::Normal,
            route: Route::Escalate,
            confidence: 0.3,
            in_scope: true,
            answer: "Unconfirmed, closest procedure: RTU-001 for unit of jane@example.com".into(),
            sources: vec![Source {
                id: "RTU-001".into(),
                title: "Rooftop unit".into(),
                score: 0.5,
            }],
            fields: vec![],
            reasons: vec![],
            model_urgency: None,
            escalate: true,
        }
    }

    fn open(dir: &Path, max_bytes: u64) -> Escalations {
        let mut cfg = crate::config::Config::default_config().escalation;
        cfg.outbox.max_bytes = max_bytes;
        cfg.redact.names = vec!["Jane Doe".into()];
        Escalations::open(dir, "dev-1", &cfg).unwrap()
    }

    #[test]
    fn submitted_escalations_are_redacted_durable_and_answered_with_the_originals_back() {
        let dir = tempfile::tempdir().unwrap();
        let text = "RTU-4 short cycling, call Jane Doe on +44 7700 900123 or jane@example.com";
        let id = {
            let esc = open(dir.path(), 1 << 20);
            esc.submit(text, &decision(), vec![]).unwrap()
        };
        // Reopened: the record survived and leaves the device redacted.
        let esc = open(dir.path(), 1 << 20);
        let mut updates = esc.subscribe();
        let pending = esc.outbox().pending(now_ms(), 10).unwrap();
        assert_eq!(pending.len(), 1);
        let sent = String::from_utf8(pending[0].payload.clone()).unwrap();
        for secret in ["Jane Doe", "7700 900123", "jane@example.com"] {
            assert!(!sent.contains(secret), "{secret} left the device: {sent}");
        }
        let msg: EscalateMsg = serde_json::from_str(&sent).unwrap();
        assert_eq!(msg.id, id);
        assert!(msg.text.contains("[NAME_1]") && msg.text.contains("[EMAIL_1]"));
        assert!(!msg.local.answer.contains("jane@example.com"));
        assert_eq!(
            esc.view(&id).unwrap().unwrap().state,
            EscalationState::Queued
        );

        esc.acknowledged(&id).unwrap();
        assert_eq!(updates.try_recv().unwrap().state, EscalationState::Sent);

        let answer = AnswerMsg {
            v: 1,
            id: id.clone(),
            answer: "Ask [NAME_1] to reset the unit; reply to [EMAIL_1].".into(),
            category: Some("hvac".into()),
            urgency: Some("high".into()),
            sources: vec!["RTU-003".into()],
            model: "central-1".into(),
            error: None,
        };
        assert_eq!(esc.receive_answer(&answer).unwrap(), AnswerStored::New);
        assert_eq!(
            esc.receive_answer(&answer).unwrap(),
            AnswerStored::Duplicate,
            "a duplicate is ignored"
        );
        let stray = AnswerMsg {
            id: "someone-else-1".into(),
            ..answer.clone()
        };
        assert_eq!(esc.receive_answer(&stray).unwrap(), AnswerStored::Unknown);
        let v = updates.try_recv().unwrap();
        assert_eq!(v.state, EscalationState::Answered);
        let a = v.answer.unwrap();
        assert_eq!(
            a.answer,
            "Ask Jane Doe to reset the unit; reply to jane@example.com."
        );
        assert!(
            a.disagreement.contains("urgency is high, not normal"),
            "{}",
            a.disagreement
        );
        assert!(a.disagreement.contains("RTU-003"), "{}", a.disagreement);
        assert!(updates.try_recv().is_err(), "one update per new state");
    }

    #[test]
    fn a_full_outbox_refuses_new_escalations_and_keeps_the_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let esc = open(dir.path(), 1500);
        let first = esc
            .submit("pump P-1 odd noise", &decision(), vec![])
            .unwrap();
        let err = esc
            .submit(&"pump P-2 odd noise ".repeat(90), &decision(), vec![])
            .unwrap_err();
        assert!(
            matches!(err, EscalationError::Outbox(OutboxError::Full { .. })),
            "{err}"
        );
        assert_eq!(esc.depth(), 1);
        assert_eq!(
            esc.view(&first).unwrap().unwrap().state,
            EscalationState::Queued
        );
        assert!(esc.view("e-unknown").unwrap().is_none());
    }
}
