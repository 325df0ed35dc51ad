//! Wire types of the local socket API, shared by the daemon and its clients
//! (`slmd ask`, `slmd triage`, `slmd tui`).
//!
//! Every text field is a bounded `heapless` string or vector sized in
//! [`crate::limits`], so a decoded message can never exceed its limit:
//! decoding fails instead. Postcard encodes enums by variant index, so new
//! variants are only ever appended.

use crate::labels::{Category, Route, Safety, Urgency};
use crate::limits::*;
pub use crate::outbox::EscalationState;
use crate::triage::{Decision, FieldKind};
use heapless::{String as HString, Vec as HVec};
use serde::{Deserialize, Serialize};

pub type Id = HString<MAX_ID>;
pub type Text = HString<MAX_TEXT>;

/// Client → daemon.
// Queries are stored inline on purpose: the message is bounded, and a
// request lives only while it is decoded and queued.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Must be the first frame of a postcard connection.
    Hello(Hello),
    /// Triage one query. Boxed, so that a request (and every connection
    /// task holding one) is small until a query's text is there: the text's
    /// bound is inline in `Query`. The wire format is the same.
    Query(Box<Query>),
    /// Ask for the daemon's status.
    Status,
    /// Ask for the full text of a knowledge-base procedure, by id.
    Procedure { id: Id },
    /// Ask where an escalation stands (and its central answer), by the
    /// escalation id an earlier `Escalation` update gave.
    Escalation { id: Id },
}

/// Daemon → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// Reply to the client's Hello.
    Hello(Hello),
    /// The decision for a query.
    Decision(Box<DecisionMsg>),
    /// The engine queue is full; retry later.
    Busy { id: Id },
    /// The request failed; `id` is set when the request was identified.
    Error(ErrorMsg),
    /// Reply to `Status`.
    Status(StatusMsg),
    /// Reply to `Procedure`.
    Procedure(Box<ProcedureMsg>),
    /// An escalation's state: sent after the decision of an escalated
    /// query, again whenever its state changes while the connection is
    /// open, and as the reply to `Escalation`.
    Escalation(Box<EscalationMsg>),
}

/// Where an escalation stands, with the central answer once it arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationMsg {
    /// The query's id (or the escalation id, in a reply to `Escalation`).
    pub id: Id,
    /// The escalation's own id: fetch it with this after reconnecting.
    pub escalation: Id,
    pub state: EscalationState,
    /// The central answer, with redacted values put back.
    pub answer: Option<HString<MAX_CENTRAL_ANSWER>>,
    /// The central model's labels, when it gave them.
    pub category: Option<Category>,
    pub urgency: Option<Urgency>,
    /// Procedures the central answer relies on.
    pub sources: HVec<Id, MAX_SOURCES>,
    /// Model that answered.
    pub model: HString<MAX_LABEL>,
    /// Plain words on what changed against the local answer, or why the
    /// escalation failed; empty otherwise.
    pub note: HString<MAX_MESSAGE>,
}

impl EscalationMsg {
    /// Wire form of a view; `id` is the query id it answers.
    pub fn from_view(id: &str, v: &crate::escalations::EscalationView) -> EscalationMsg {
        let a = v.answer.as_ref();
        let note = match a {
            Some(a) if !a.disagreement.is_empty() => a.disagreement.clone(),
            Some(a) => a.error.clone().unwrap_or_default(),
            None => String::new(),
        };
        EscalationMsg {
            id: bounded(id),
            escalation: bounded(&v.id),
            state: v.state,
            answer: a.map(|a| bounded(&a.answer)),
            category: a.and_then(|a| a.category),
            urgency: a.and_then(|a| a.urgency),
            sources: a
                .map(|a| {
                    a.sources
                        .iter()
                        .take(MAX_SOURCES)
                        .map(|s| bounded(s))
                        .collect()
                })
                .unwrap_or_default(),
            model: bounded(a.map_or("", |a| a.model.as_str())),
            note: bounded(&note),
        }
    }

    /// An escalation that could not be stored.
    pub fn failed(id: &str, why: &str) -> EscalationMsg {
        EscalationMsg {
            id: bounded(id),
            escalation: HString::new(),
            state: EscalationState::Failed,
            answer: None,
            category: None,
            urgency: None,
            sources: HVec::new(),
            model: HString::new(),
            note: bounded(why),
        }
    }
}

/// First frame each way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub version: u16,
    pub agent: HString<MAX_AGENT>,
}

/// A query to triage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// Client-chosen id, echoed in the reply.
    pub id: Id,
    pub text: Text,
    /// Give up (with a `deadline_exceeded` error) after this many ms.
    pub deadline_ms: Option<u32>,
    /// The text must not leave the device.
    pub no_egress: bool,
}

/// A procedure cited by an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceMsg {
    pub id: HString<MAX_ID>,
    pub title: HString<MAX_TITLE>,
    pub score: f32,
}

/// A value extracted from the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldMsg {
    pub kind: FieldKind,
    pub value: HString<MAX_FIELD>,
    pub unit: Option<HString<MAX_FIELD>>,
}

/// One machine-readable reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasonMsg {
    pub code: HString<MAX_LABEL>,
    pub detail: HString<MAX_DETAIL>,
}

/// The decision for one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionMsg {
    pub id: Id,
    pub category: Category,
    pub urgency: Urgency,
    pub route: Route,
    pub confidence: f32,
    pub in_scope: bool,
    pub answer: HString<MAX_ANSWER>,
    pub sources: HVec<SourceMsg, MAX_SOURCES>,
    pub fields: HVec<FieldMsg, MAX_FIELDS>,
    pub reasons: HVec<ReasonMsg, MAX_REASONS>,
    /// Time from the request's arrival to its decision, in µs.
    pub latency_us: u64,
}

/// Error classes a client can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A length prefix over the frame limit.
    FrameTooLarge,
    /// The connection closed or stalled inside a frame.
    TruncatedFrame,
    /// The body does not decode as a request.
    Malformed,
    /// A text field is not valid UTF-8.
    InvalidUtf8,
    /// The Hello names a protocol version this daemon does not speak.
    UnsupportedVersion,
    /// The first frame was not a Hello.
    HelloRequired,
    /// Nothing arrived in time.
    Timeout,
    /// The query text is empty or over the limit.
    BadText,
    /// The request's deadline passed before its decision.
    DeadlineExceeded,
    /// Too many connections.
    TooManyConnections,
    /// The daemon is shutting down.
    ShuttingDown,
    /// Something failed inside the daemon (details are in its log).
    Internal,
    /// No such procedure in the knowledge base.
    NotFound,
}

/// An error reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorMsg {
    pub id: Option<Id>,
    pub code: ErrorCode,
    pub message: HString<MAX_MESSAGE>,
}

/// Daemon health and versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusMsg {
    pub version: HString<MAX_LABEL>,
    pub model: HString<MAX_LABEL>,
    pub model_sha256: HString<MAX_LABEL>,
    pub kb_procedures: u32,
    pub kb_hash: HString<MAX_LABEL>,
    pub uptime_s: u64,
    pub connections: u32,
    pub queue_depth: u32,
    pub answered: u64,
    pub busy: u64,
    pub cancelled: u64,
    pub errors: u64,
    pub p50_us: u64,
    pub p95_us: u64,
    /// State of the MQTT uplink.
    pub uplink: Uplink,
    /// Escalations stored on the device and not yet acknowledged upstream.
    pub outbox_depth: u32,
}

/// State of the daemon's MQTT uplink, as reported in `Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Uplink {
    /// No broker configured: the daemon runs offline.
    Off,
    /// A broker is configured and the session is not up.
    Connecting,
    /// The MQTT session is up.
    Connected,
}

impl Uplink {
    pub fn as_str(self) -> &'static str {
        match self {
            Uplink::Off => "off",
            Uplink::Connecting => "connecting",
            Uplink::Connected => "connected",
        }
    }
}

/// A knowledge-base procedure, as plain text for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcedureMsg {
    pub id: Id,
    pub title: HString<MAX_TITLE>,
    pub category: Category,
    pub urgency: Urgency,
    pub safety: Safety,
    /// The procedure's sections, rendered as plain text.
    pub text: HString<MAX_PROCEDURE>,
}

/// Copies as much of `s` as fits, cutting at a character boundary.
pub fn bounded<const N: usize>(s: &str) -> HString<N> {
    let mut out = HString::new();
    out.push_str(crate::limits::prefix_within(s, N))
        .expect("cut to capacity");
    out
}

impl ErrorMsg {
    pub fn new(id: Option<Id>, code: ErrorCode, message: &str) -> ErrorMsg {
        ErrorMsg {
            id,
            code,
            message: bounded(message),
        }
    }
}

impl ProcedureMsg {
    /// A knowledge-base procedure for display.
    pub fn from_procedure(d: &crate::kb::Procedure) -> ProcedureMsg {
        ProcedureMsg {
            id: bounded(&d.id),
            title: bounded(&d.title),
            category: d.category,
            urgency: d.urgency,
            safety: d.safety,
            text: bounded(&d.to_text()),
        }
    }
}

impl DecisionMsg {
    /// Wire form of a decision; long texts are cut to their limits.
    pub fn from_decision(id: Id, d: &Decision, latency_us: u64) -> DecisionMsg {
        DecisionMsg {
            id,
            category: d.category,
            urgency: d.urgency,
            route: d.route,
            confidence: d.confidence,
            in_scope: d.in_scope,
            answer: bounded(&d.answer),
            sources: d
                .sources
                .iter()
                .take(MAX_SOURCES)
                .map(|s| SourceMsg {
                    id: bounded(&s.id),
                    title: bounded(&s.title),
                    score: s.score,
                })
                .collect(),
            fields: d
                .fields
                .iter()
                .take(MAX_FIELDS)
                .map(|f| FieldMsg {
                    kind: f.kind,
                    value: bounded(&f.value),
                    unit: f.unit.as_deref().map(bounded),
                })
                .collect(),
            reasons: d
                .reasons
                .iter()
                .take(MAX_REASONS)
                .map(|r| ReasonMsg {
                    code: bounded(r.code.as_str()),
                    detail: bounded(&r.detail),
                })
                .collect(),
            latency_us,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_cuts_at_a_char_boundary() {
        let s: HString<4> = bounded("abcé");
        assert_eq!(s.as_str(), "abc");
    }

    #[test]
    fn over_long_text_fails_to_decode() {
        let long = "x".repeat(MAX_TEXT + 1);
        // Encode a structurally identical message with an unbounded string.
        #[derive(Serialize)]
        struct Loose<'a> {
            id: &'a str,
            text: &'a str,
            deadline_ms: Option<u32>,
            no_egress: bool,
        }
        #[derive(Serialize)]
        enum LooseReq<'a> {
            #[allow(dead_code)]
            Hello(u8),
            Query(Loose<'a>),
        }
        let bytes = postcard::to_allocvec(&LooseReq::Query(Loose {
            id: "1",
            text: &long,
            deadline_ms: None,
            no_egress: false,
        }))
        .unwrap();
        assert!(postcard::from_bytes::<Request>(&bytes).is_err());
    }

    #[test]
    fn request_round_trips_through_postcard() {
        let q = Request::Query(Box::new(Query {
            id: bounded("q1"),
            text: bounded("P-101 vibration"),
            deadline_ms: Some(500),
            no_egress: true,
        }));
        let bytes = postcard::to_allocvec(&q).unwrap();
        assert_eq!(postcard::from_bytes::<Request>(&bytes).unwrap(), q);
    }
}
