//! JSON payloads of the escalation topics, shared by the daemon (which
//! publishes `escalate` and receives `answer`) and the gateway (which does
//! the reverse). Fleet tools read them too, so they are plain JSON with
//! a version field; unknown fields are ignored so either side may add some.
//!
//! Topics (`<device>` is the device id):
//! - `slmd/v1/<device>/escalate`: [`EscalateMsg`], device → central, QoS 1,
//!   with MQTT 5 response topic `slmd/v1/<device>/answer` and the request id
//!   as correlation data.
//! - `slmd/v1/<device>/answer`: [`AnswerMsg`], central → device, QoS 1.

use serde::{Deserialize, Serialize};

/// Version of these payloads.
pub const PAYLOAD_VERSION: u32 = 1;

/// Longest escalated text, in bytes (after redaction): a query of the
/// protocol's longest text goes whole, with room for placeholders longer
/// than what they replace.
pub const MAX_ESCALATED_TEXT: usize = crate::limits::MAX_TEXT * 3 / 2;
/// Longest central answer accepted, in bytes.
pub const MAX_ANSWER_TEXT: usize = 8192;
/// Most knowledge-base passages sent along with one escalation.
pub const MAX_PASSAGES: usize = 3;
/// Longest passage sent along, in bytes.
pub const MAX_PASSAGE_TEXT: usize = 2048;

/// Topic prefix of one device.
pub fn device_topic(device: &str, leaf: &str) -> String {
    format!("slmd/v1/{device}/{leaf}")
}

/// The shared subscription gateways use to split the escalations of a fleet.
pub const GATEWAY_SUBSCRIPTION: &str = "$share/slmd-gateway/slmd/v1/+/escalate";

/// What the device concluded locally, sent so the central model can
/// confirm or correct it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalTriage {
    pub category: String,
    pub urgency: String,
    pub route: String,
    pub confidence: f32,
    /// The local answer as the technician saw it (redacted like the text).
    pub answer: String,
    /// Ids of the procedures the local answer cites.
    pub sources: Vec<String>,
    /// Reason codes of the local decision.
    pub reasons: Vec<String>,
}

/// A knowledge-base passage sent as context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    /// Procedure id, e.g. `PUMP-001`.
    pub id: String,
    pub title: String,
    pub text: String,
}

/// `escalate` payload: one request for the central model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalateMsg {
    /// [`PAYLOAD_VERSION`].
    pub v: u32,
    /// Request id: the dedupe key on both sides.
    pub id: String,
    /// Device id (also in the topic).
    pub device: String,
    /// Unix milliseconds when the technician asked.
    pub created_ms: u64,
    /// Unix milliseconds after which an answer is no longer useful.
    pub deadline_ms: u64,
    /// The technician's text, redacted on the device.
    pub text: String,
    pub local: LocalTriage,
    /// The passages the local answer drew on.
    #[serde(default)]
    pub passages: Vec<Passage>,
}

/// `answer` payload: the central model's answer to one escalation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerMsg {
    /// [`PAYLOAD_VERSION`].
    pub v: u32,
    /// The escalation's request id.
    pub id: String,
    /// The answer text (placeholders from redaction are kept as sent; the
    /// device puts the originals back).
    pub answer: String,
    /// The central model's category, when it gave one from the taxonomy.
    #[serde(default)]
    pub category: Option<String>,
    /// The central model's urgency, when it gave one from the taxonomy.
    #[serde(default)]
    pub urgency: Option<String>,
    /// Procedure ids the answer relies on.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Model that answered, as the LLM service named it.
    pub model: String,
    /// Set when the gateway could not get a valid answer; `answer` then
    /// says so in words.
    #[serde(default)]
    pub error: Option<String>,
}

impl EscalateMsg {
    /// Checks what serde cannot: version, sizes, an id.
    pub fn validate(&self) -> Result<(), String> {
        check_common(self.v, &self.id)?;
        if self.text.len() > MAX_ESCALATED_TEXT {
            return Err(format!(
                "text is {} bytes; the limit is {MAX_ESCALATED_TEXT}",
                self.text.len()
            ));
        }
        if self.passages.len() > MAX_PASSAGES {
            return Err(format!(
                "{} passages; the limit is {MAX_PASSAGES}",
                self.passages.len()
            ));
        }
        if let Some(p) = self
            .passages
            .iter()
            .find(|p| p.text.len() > MAX_PASSAGE_TEXT)
        {
            return Err(format!("passage {} is over {MAX_PASSAGE_TEXT} bytes", p.id));
        }
        Ok(())
    }
}

impl AnswerMsg {
    /// Checks what serde cannot: version, sizes, an id.
    pub fn validate(&self) -> Result<(), String> {
        check_common(self.v, &self.id)?;
        if self.answer.len() > MAX_ANSWER_TEXT {
            return Err(format!(
                "answer is {} bytes; the limit is {MAX_ANSWER_TEXT}",
                self.answer.len()
            ));
        }
        Ok(())
    }
}

fn check_common(v: u32, id: &str) -> Result<(), String> {
    if v != PAYLOAD_VERSION {
        return Err(format!(
            "payload version {v} is not supported (only {PAYLOAD_VERSION})"
        ));
    }
    if id.is_empty() || id.len() > crate::limits::MAX_ID {
        return Err(format!(
            "request id must be 1 to {} bytes",
            crate::limits::MAX_ID
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_versions_and_oversize_answers_are_rejected() {
        let mut a = AnswerMsg {
            v: 1,
            id: "q1".into(),
            answer: "ok".into(),
            category: None,
            urgency: None,
            sources: vec![],
            model: "m".into(),
            error: None,
        };
        assert!(a.validate().is_ok());
        a.v = 2;
        assert!(a.validate().unwrap_err().contains("version 2"));
        a.v = 1;
        a.answer = "x".repeat(MAX_ANSWER_TEXT + 1);
        assert!(a.validate().unwrap_err().contains("limit"));
    }

    #[test]
    fn payloads_ignore_fields_they_do_not_know() {
        let a: AnswerMsg =
            serde_json::from_str(r#"{"v":1,"id":"q","answer":"a","model":"m","extra":true}"#)
                .unwrap();
        assert_eq!(a.id, "q");
    }
}
