//! `slmd ask` and `slmd triage`: clients of the socket, or the same
//! pipeline in-process.

use crate::api::client::Client;
use crate::api::proto::{
    bounded, DecisionMsg, ErrorCode, ErrorMsg, EscalationMsg, Request, Response,
};
use crate::pipeline::Pipeline;
use anyhow::{bail, Context};
use serde::Deserialize;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a client waits for the daemon's reply.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// `slmd ask`: one query, printed for people or as one JSON object. With
/// `wait`, an escalated query's central answer is awaited for that long.
pub async fn ask(
    socket: &Path,
    text: &str,
    json: bool,
    no_egress: bool,
    wait: Option<Duration>,
) -> anyhow::Result<()> {
    let mut client = Client::connect(socket, "slmd-ask", CLIENT_TIMEOUT).await?;
    let d = match client.query("ask-1", text, no_egress).await? {
        Response::Decision(d) => d,
        Response::Busy { .. } => bail!("the daemon is busy; retry in a moment"),
        Response::Error(e) => bail!("{:?}: {}", e.code, e.message),
        other => bail!("unexpected reply: {other:?}"),
    };
    let mut esc = client.last_escalation().cloned();
    if let (Some(wait), Some(e)) = (wait, esc.as_ref()) {
        if !e.escalation.is_empty() {
            let id = e.escalation.to_string();
            esc = Some(wait_for_answer(socket, client, &id, wait, e.clone()).await);
        }
    }
    if json {
        let mut v = serde_json::to_value(&*d)?;
        v["escalation"] = match &esc {
            Some(e) => escalation_json(e),
            None => serde_json::Value::Null,
        };
        println!("{}", serde_json::to_string(&v)?);
    } else {
        print!("{}", render(&d));
        if let Some(e) = &esc {
            print!("{}", render_escalation(e));
        }
    }
    Ok(())
}

/// Polls escalation `id` (and takes the updates the daemon pushes) until it
/// is answered, expired or failed, or `wait` is over; reconnects when the
/// daemon restarts in between.
async fn wait_for_answer(
    socket: &Path,
    client: Client,
    id: &str,
    wait: Duration,
    mut last: EscalationMsg,
) -> EscalationMsg {
    let until = Instant::now() + wait;
    let mut client = Some(client);
    while !last.state.is_final() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(500).min(until - Instant::now())).await;
        if client.is_none() {
            client = Client::connect(socket, "slmd-ask", CLIENT_TIMEOUT)
                .await
                .ok();
        }
        let Some(c) = client.as_mut() else {
            continue;
        };
        match c.call(&Request::Escalation { id: bounded(id) }).await {
            Ok(Response::Escalation(e)) if e.escalation.as_str() == id => last = *e,
            Ok(_) => {}
            Err(_) => client = None,
        }
    }
    last
}

/// An escalation as the JSON object `ask --json` prints.
pub fn escalation_json(e: &EscalationMsg) -> serde_json::Value {
    serde_json::json!({
        "id": e.escalation,
        "state": e.state,
        "answer": e.answer,
        "category": e.category,
        "urgency": e.urgency,
        "sources": e.sources,
        "model": e.model,
        "note": e.note,
    })
}

/// Human-readable form of an escalation.
pub fn render_escalation(e: &EscalationMsg) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let state = serde_json::to_value(e.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = writeln!(s, "escalation: {} {}", e.escalation, state);
    if let Some(a) = &e.answer {
        let _ = writeln!(s, "central answer ({}): {a}", e.model);
    }
    if !e.note.is_empty() {
        let _ = writeln!(s, "note: {}", e.note);
    }
    s
}

/// Human-readable form of a decision.
pub fn render(d: &DecisionMsg) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "route: {}   urgency: {}   category: {}   confidence: {:.2}",
        d.route, d.urgency, d.category, d.confidence
    );
    let _ = writeln!(s, "answer: {}", d.answer);
    if !d.sources.is_empty() {
        let _ = writeln!(s, "sources:");
        for src in &d.sources {
            let _ = writeln!(s, "  {} ({:.2}) {}", src.id, src.score, src.title);
        }
    }
    if !d.fields.is_empty() {
        let fields: Vec<String> = d
            .fields
            .iter()
            .map(|f| match &f.unit {
                Some(u) => format!("{:?} {} {}", f.kind, f.value, u),
                None => format!("{:?} {}", f.kind, f.value),
            })
            .collect();
        let _ = writeln!(s, "fields: {}", fields.join(", ").to_lowercase());
    }
    let _ = writeln!(s, "why:");
    for r in &d.reasons {
        let _ = writeln!(s, "  {}: {}", r.code, r.detail);
    }
    let _ = writeln!(s, "latency: {:.1} ms", d.latency_us as f64 / 1000.0);
    s
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    id: serde_json::Value,
    text: String,
    #[serde(default)]
    no_egress: bool,
}

/// Where `slmd triage` sends its queries.
pub enum Backend<'a> {
    Socket(&'a Path),
    InProcess(&'a Pipeline),
}

/// `slmd triage --jsonl`: one JSON line in, one JSON line out, in order.
/// A bad line gives an error object and the stream goes on.
pub async fn triage_jsonl(
    backend: Backend<'_>,
    input: impl BufRead,
    mut out: impl Write,
) -> anyhow::Result<()> {
    let mut client = match backend {
        Backend::Socket(p) => Some(Client::connect(p, "slmd-triage", CLIENT_TIMEOUT).await?),
        Backend::InProcess(_) => None,
    };
    for (n, line) in input.split(b'\n').enumerate() {
        let line = line.context("reading stdin")?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = std::str::from_utf8(&line)
            .map_err(|_| {
                (
                    ErrorCode::InvalidUtf8,
                    "line is not valid UTF-8".to_string(),
                )
            })
            .and_then(|t| {
                serde_json::from_str::<Line>(t)
                    .map_err(|e| (ErrorCode::Malformed, format!("bad JSON line: {e}")))
            });
        let value = match parsed {
            Err((code, msg)) => error_line(serde_json::Value::Null, code, &msg),
            Ok(l) => {
                let id = match &l.id {
                    serde_json::Value::Null => serde_json::Value::from(format!("{}", n + 1)),
                    other => other.clone(),
                };
                let id_text = match &id {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let reply = match (&mut client, &backend) {
                    (Some(c), _) => query_with_retry(c, &id_text, &l.text, l.no_egress).await?,
                    (None, Backend::InProcess(p)) => in_process(p, &id_text, &l.text, l.no_egress),
                    (None, Backend::Socket(_)) => unreachable!("socket backend has a client"),
                };
                match reply {
                    Response::Decision(d) => {
                        let mut v = serde_json::to_value(&*d)?;
                        v["id"] = id;
                        v
                    }
                    Response::Error(e) => error_line(id, e.code, &e.message),
                    Response::Busy { .. } => {
                        error_line(id, ErrorCode::Internal, "daemon stayed busy")
                    }
                    other => error_line(
                        id,
                        ErrorCode::Internal,
                        &format!("unexpected reply {other:?}"),
                    ),
                }
            }
        };
        serde_json::to_writer(&mut out, &value)?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(())
}

fn error_line(id: serde_json::Value, code: ErrorCode, msg: &str) -> serde_json::Value {
    serde_json::json!({ "id": id, "error": { "code": code, "message": msg } })
}

async fn query_with_retry(
    c: &mut Client,
    id: &str,
    text: &str,
    no_egress: bool,
) -> anyhow::Result<Response> {
    let mut wait = Duration::from_millis(20);
    for _ in 0..8 {
        match c.query(id, text, no_egress).await {
            Ok(Response::Busy { .. }) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Ok(r) => return Ok(r),
            Err(crate::api::client::ClientError::TextTooLong(n)) => {
                return Ok(Response::Error(ErrorMsg::new(
                    None,
                    ErrorCode::BadText,
                    &format!(
                        "text is {n} bytes; the limit is {}",
                        crate::limits::MAX_TEXT
                    ),
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Response::Busy { id: bounded(id) })
}

/// The daemon's checks and pipeline, without the daemon.
pub fn in_process(p: &Pipeline, id: &str, text: &str, no_egress: bool) -> Response {
    let err = |code, msg: &str| Response::Error(ErrorMsg::new(Some(bounded(id)), code, msg));
    if text.len() > crate::limits::MAX_TEXT {
        return err(
            ErrorCode::BadText,
            &format!(
                "text is {} bytes; the limit is {}",
                text.len(),
                crate::limits::MAX_TEXT
            ),
        );
    }
    if text.trim().is_empty() {
        return err(ErrorCode::BadText, "text is empty");
    }
    let started = Instant::now();
    match p.decide(text, no_egress) {
        Ok(d) => Response::Decision(Box::new(DecisionMsg::from_decision(
            bounded(id),
            &d,
            started.elapsed().as_micros() as u64,
        ))),
        Err(e) => err(ErrorCode::Internal, &e.to_string()),
    }
}
