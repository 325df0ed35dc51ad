//! Every hard size limit of the protocol, in one place.

/// Protocol version spoken by this build.
pub const PROTOCOL_VERSION: u16 = 1;
/// Longest query text, in bytes of UTF-8: a pasted fault log or register
/// dump with the question around it. The whole text is read (the encoder
/// in windows, the hazard rules at once).
pub const MAX_TEXT: usize = 16 * 1024;
/// Longest request id.
pub const MAX_ID: usize = 64;
/// Longest client or server name in a Hello.
pub const MAX_AGENT: usize = 64;
/// Longest answer text.
pub const MAX_ANSWER: usize = 2048;
/// Longest central answer relayed to a client, in bytes.
pub const MAX_CENTRAL_ANSWER: usize = crate::escalation::MAX_ANSWER_TEXT;
/// Most sources cited by one decision.
pub const MAX_SOURCES: usize = 5;
/// Longest source title.
pub const MAX_TITLE: usize = 128;
/// Most extracted fields in one decision.
pub const MAX_FIELDS: usize = 16;
/// Longest field value or unit.
pub const MAX_FIELD: usize = 32;
/// Most reasons in one decision.
pub const MAX_REASONS: usize = 16;
/// Longest reason detail.
pub const MAX_DETAIL: usize = 160;
/// Longest error message.
pub const MAX_MESSAGE: usize = 256;
/// Longest procedure text returned by `Procedure` (the knowledge base's
/// procedures are at most 70 lines).
pub const MAX_PROCEDURE: usize = 12 * 1024;
/// Longest short label (hashes, versions, reason codes).
pub const MAX_LABEL: usize = 64;
/// Default and largest frame size: a length prefix above this is refused
/// before a byte of the body is read.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// The longest prefix of `s` within `max` bytes, cut at a char boundary.
pub fn prefix_within(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Largest MQTT packet the uplink accepts (announced to the broker in
/// CONNECT, so it drops larger ones instead of sending them).
pub const MAX_MQTT_PACKET: u32 = 1024 * 1024;
/// Largest payload the uplink handles on its answer, cmd and config
/// topics; larger ones are counted as rejected and ignored.
pub const MAX_MQTT_PAYLOAD: usize = 64 * 1024;
