//! slmd: a small-language-model daemon for field-service equipment on
//! embedded Linux. It triages technicians' queries and fault reports
//! locally with an int8 encoder run by tract, grounded in an on-device
//! knowledge base of approved procedures.
//!
//! # Layout
//! - [`labels`]: the taxonomy's category, urgency, route and safety labels.
//! - [`limits`]: every protocol size limit, in one place.
//! - [`board`]: board profiles: machine, budget, config defaults, install paths.
//! - [`config`]: TOML configuration, embedded defaults, validation.
//! - [`paths`]: bundled model and index, per-user socket and state paths.
//! - [`engine`]: loads and verifies a model directory; text → embedding.
//! - [`kb`]: procedures (Markdown + TOML front matter), the index, search.
//! - [`triage`]: pure rules and retrieval vote → a decision with reasons.
//! - [`policy`]: the routing rules (local / escalate / human), pure.
//! - [`eval`]: quality metrics over a labelled set (`slmd eval`).
//! - [`pipeline`]: engine + index + triage, shared by daemon and CLI.
//! - [`workers`]: inference threads behind a bounded queue.
//! - [`api`]: socket wire types, framing, server and client.
//! - [`escalation`]: JSON payloads of the escalate and answer topics.
//! - [`escalations`]: the device side: redact, store, track, answer.
//! - [`outbox`]: the durable store-and-forward queue of escalations (redb).
//! - [`redact`]: removes what must not leave the device, and puts it back.
//! - [`gateway`]: the central side: escalations → an OpenAI-compatible LLM → answers.
//! - [`tui`]: the technicians' terminal UI, a client of the socket.
//! - [`uplink`]: the MQTT 5 session: outbox draining, answers, status, telemetry, commands.
//! - [`cli`]: the subcommands.
#![forbid(unsafe_code)]

pub mod api;
pub mod board;
pub mod cli;
pub mod config;
pub mod engine;
pub mod escalation;
pub mod escalations;
pub mod eval;
pub mod gateway;
pub mod kb;
pub mod labels;
pub mod limits;
pub mod outbox;
pub mod paths;
pub mod pipeline;
pub mod policy;
pub mod redact;
pub mod triage;
pub mod tui;
pub mod uplink;
pub mod workers;
