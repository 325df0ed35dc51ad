//! The local socket server: accepts connections, speaks postcard frames or
//! JSON lines, and hands queries to the worker pool.
//!
//! One task per connection, capped by a semaphore; within a connection a
//! reader, a writer and up to `max_in_flight_per_connection` query tasks.
//! A client that goes away cancels its queued queries.

use super::codec::{self, FrameError};
use super::proto::{
    bounded, DecisionMsg, ErrorCode, ErrorMsg, EscalationMsg, Hello, Id, ProcedureMsg, Query,
    Request, Response, StatusMsg, Uplink,
};
use crate::config::ApiConfig;
use crate::escalation::Passage;
use crate::escalations::Escalations;
use crate::labels::Route;
use crate::limits::{MAX_ID, MAX_TEXT, PROTOCOL_VERSION};
use crate::triage::{Decision, Reason, ReasonCode};
use crate::workers::{Job, Outcome, WorkerPool};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedReadHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for open connections to finish their queries.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Responses queued for one connection's writer.
/// Boxed: the channel allocates its slots in blocks of 32 up front, and a
/// block of unboxed responses was 12 KiB per connection.
const WRITE_QUEUE: usize = 32;
/// Read buffer of a connection.
const READ_BUFFER: usize = 1024;
/// Escalations one connection follows for live updates; past this, a client
/// fetches the state by id.
const FOLLOWED_PER_CONNECTION: usize = 256;

/// What the server reports about itself.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub model: String,
    pub model_sha256: String,
    pub kb_procedures: u32,
    pub kb_hash: String,
}

/// Shared state of a running server.
#[derive(Debug)]
pub struct Server {
    pool: WorkerPool,
    api: ApiConfig,
    info: ServerInfo,
    started: Instant,
    connections: AtomicU32,
    json_ids: AtomicU64,
    escalations: Option<Arc<Escalations>>,
    uplink: Arc<std::sync::atomic::AtomicU8>,
    /// Decisions by route: local, escalate, human.
    routes: [AtomicU64; 3],
    /// Queries stored for escalation.
    escalated: AtomicU64,
    budget: Option<Arc<crate::policy::Budget>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Postcard,
    Json,
}

/// A request that could not be read; `fatal` closes the connection.
/// A request the socket refuses: the error frame sent back, and whether
/// the connection is closed after it.
#[derive(Debug)]
pub struct BadRequest {
    /// The error frame (boxed: it carries its bounded message inline).
    pub msg: Box<ErrorMsg>,
    /// The connection is closed after it (an unsupported version).
    pub fatal: bool,
}

impl BadRequest {
    fn new(code: ErrorCode, message: impl AsRef<str>, fatal: bool) -> BadRequest {
        BadRequest {
            msg: Box::new(ErrorMsg::new(None, code, message.as_ref())),
            fatal,
        }
    }
}

impl Server {
    pub fn new(pool: WorkerPool, api: ApiConfig, info: ServerInfo) -> Server {
        Server {
            pool,
            api,
            info,
            started: Instant::now(),
            connections: AtomicU32::new(0),
            json_ids: AtomicU64::new(0),
            escalations: None,
            uplink: Arc::new(std::sync::atomic::AtomicU8::new(Uplink::Off as u8)),
            routes: Default::default(),
            escalated: AtomicU64::new(0),
            budget: None,
        }
    }

    /// Each stored escalation spends from this budget.
    pub fn with_budget(mut self, b: Arc<crate::policy::Budget>) -> Server {
        self.budget = Some(b);
        self
    }

    /// Decisions so far by route (local, escalate, human) and escalations
    /// stored, for telemetry.
    pub fn route_mix(&self) -> ([u64; 3], u64) {
        (
            [
                self.routes[0].load(Ordering::Relaxed),
                self.routes[1].load(Ordering::Relaxed),
                self.routes[2].load(Ordering::Relaxed),
            ],
            self.escalated.load(Ordering::Relaxed),
        )
    }

    /// Escalated queries are stored in this outbox and followed.
    pub fn with_escalations(mut self, e: Arc<Escalations>) -> Server {
        self.escalations = Some(e);
        self
    }

    /// The uplink reports its state here; Status shows it.
    pub fn uplink_state(&self) -> Arc<std::sync::atomic::AtomicU8> {
        self.uplink.clone()
    }

    /// The escalation service, when the daemon has one.
    pub fn escalations(&self) -> Option<&Arc<Escalations>> {
        self.escalations.as_ref()
    }

    /// Reply to `Escalation { id }`.
    fn escalation(&self, id: &str) -> Response {
        let not_found = || {
            Response::Error(ErrorMsg::new(
                Some(bounded(id)),
                ErrorCode::NotFound,
                &format!("no escalation {id:?} on this device"),
            ))
        };
        let Some(esc) = &self.escalations else {
            return not_found();
        };
        match esc.view(id) {
            Ok(Some(v)) => Response::Escalation(Box::new(EscalationMsg::from_view(id, &v))),
            Ok(None) => not_found(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox");
                Response::Error(ErrorMsg::new(
                    Some(bounded(id)),
                    ErrorCode::Internal,
                    "the outbox cannot be read",
                ))
            }
        }
    }

    /// Current status.
    pub fn status(&self) -> StatusMsg {
        let s = self.pool.stats();
        let (p50, p95) = s.percentiles();
        StatusMsg {
            version: bounded(env!("CARGO_PKG_VERSION")),
            model: bounded(&self.info.model),
            model_sha256: bounded(&self.info.model_sha256),
            // Live: an operator may have reloaded the knowledge base.
            kb_procedures: self.pool.pipeline().index().docs().len() as u32,
            kb_hash: bounded(&self.pool.pipeline().index().content_hash()),
            uptime_s: self.started.elapsed().as_secs(),
            connections: self.connections.load(Ordering::Relaxed),
            queue_depth: self.pool.queued() as u32,
            answered: s.answered.load(Ordering::Relaxed),
            busy: s.busy.load(Ordering::Relaxed),
            cancelled: s.cancelled.load(Ordering::Relaxed),
            errors: s.errors.load(Ordering::Relaxed),
            p50_us: p50,
            p95_us: p95,
            uplink: match self.uplink.load(Ordering::Relaxed) {
                x if x == Uplink::Connected as u8 => Uplink::Connected,
                x if x == Uplink::Connecting as u8 => Uplink::Connecting,
                _ => Uplink::Off,
            },
            outbox_depth: self.escalations.as_ref().map_or(0, |e| e.depth()),
        }
    }

    /// A knowledge-base procedure by id, or a `NotFound` error.
    pub fn procedure(&self, id: &str) -> Response {
        let index = self.pool.pipeline().index();
        let docs = index.docs();
        match docs.iter().find(|d| d.id.eq_ignore_ascii_case(id)) {
            Some(d) => Response::Procedure(Box::new(ProcedureMsg::from_procedure(d))),
            None => Response::Error(ErrorMsg::new(
                Some(bounded(id)),
                ErrorCode::NotFound,
                &format!("no procedure {id:?} in the knowledge base"),
            )),
        }
    }
}

/// Accepts connections until `shutdown` fires, then waits (bounded) for
/// open connections to finish their in-flight queries.
pub async fn run(listener: UnixListener, server: Arc<Server>, shutdown: CancellationToken) {
    let tracker = TaskTracker::new();
    let slots = Arc::new(Semaphore::new(server.api.max_connections));
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let server = server.clone();
        let shutdown = shutdown.clone();
        match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                tracker.spawn(async move {
                    server.connections.fetch_add(1, Ordering::Relaxed);
                    connection(stream, &server, shutdown).await;
                    server.connections.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
            Err(_) => {
                tracing::warn!("connection refused: {} open", server.api.max_connections);
                tracker.spawn(refuse(stream));
            }
        }
    }
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections still open {SHUTDOWN_GRACE:?} after shutdown");
    }
}

/// Tells an over-limit client why it is refused, in its own framing.
async fn refuse(stream: UnixStream) {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let first = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::io::AsyncBufReadExt::fill_buf(&mut rd),
    )
    .await
    .ok()
    .and_then(|r| r.ok())
    .and_then(|b| b.first().copied());
    let mode = if first == Some(b'{') {
        Mode::Json
    } else {
        Mode::Postcard
    };
    let msg = Response::Error(ErrorMsg::new(
        None,
        ErrorCode::TooManyConnections,
        "too many connections; retry later",
    ));
    let _ = write(&mut wr, mode, &msg).await;
}

async fn write(
    wr: &mut tokio::net::unix::OwnedWriteHalf,
    mode: Mode,
    msg: &Response,
) -> std::io::Result<()> {
    match mode {
        Mode::Postcard => codec::write_frame(wr, msg).await,
        Mode::Json => codec::write_json_line(wr, msg).await,
    }
}

async fn connection(stream: UnixStream, server: &Arc<Server>, shutdown: CancellationToken) {
    if let Ok(cred) = stream.peer_cred() {
        tracing::debug!(uid = cred.uid(), gid = cred.gid(), pid = ?cred.pid(), "client connected");
    }
    let api = &server.api;
    let (rd, mut wr) = stream.into_split();
    // Small: an idle connection holds only this; a frame body is read
    // past it into a buffer of the declared size.
    let mut rd = BufReader::with_capacity(READ_BUFFER, rd);

    // The first byte picks the framing: `{` starts JSON lines.
    let first = tokio::time::timeout(
        api.first_byte_timeout,
        tokio::io::AsyncBufReadExt::fill_buf(&mut rd),
    )
    .await;
    let mode = match first {
        Err(_) => {
            let msg = ErrorMsg::new(
                None,
                ErrorCode::Timeout,
                &format!("no request within {:?}; closing", api.first_byte_timeout),
            );
            let _ = codec::write_json_line(&mut wr, &Response::Error(msg)).await;
            return;
        }
        Ok(Ok([])) | Ok(Err(_)) => return,
        Ok(Ok(buf)) if buf[0] == b'{' => Mode::Json,
        Ok(Ok(_)) => Mode::Postcard,
    };

    let gone = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel::<Box<Response>>(WRITE_QUEUE);
    let writer = {
        let gone = gone.clone();
        async move {
            while let Some(msg) = rx.recv().await {
                if let Err(e) = write(&mut wr, mode, &msg).await {
                    tracing::debug!(error = %e, "client went away while writing");
                    gone.cancel();
                    break;
                }
            }
            let _ = wr.shutdown().await;
        }
    };
    let followed: Followed = Arc::new(Mutex::new(HashMap::new()));
    let reader_done = CancellationToken::new();
    let forwarder = forward_updates(
        server.escalations.clone(),
        followed.clone(),
        tx.clone(),
        reader_done.clone(),
    );
    let reader = async {
        read_loop(rd, mode, server, tx, gone, shutdown, followed).await;
        reader_done.cancel();
    };
    tokio::join!(reader, writer, forwarder);
}

/// Escalation id → the query id a connection asked it under.
type Followed = Arc<Mutex<HashMap<String, Id>>>;

/// Sends a connection the updates of the escalations it follows, until its
/// reader is done.
async fn forward_updates(
    escalations: Option<Arc<Escalations>>,
    followed: Followed,
    tx: mpsc::Sender<Box<Response>>,
    done: CancellationToken,
) {
    let Some(esc) = escalations else {
        return;
    };
    let mut updates = esc.subscribe();
    loop {
        let v = tokio::select! {
            _ = done.cancelled() => return,
            u = updates.recv() => match u {
                Ok(v) => v,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(missed = n, "client fell behind on escalation updates");
                    continue;
                }
                Err(_) => return,
            },
        };
        let query = {
            let mut f = followed.lock().unwrap_or_else(|p| p.into_inner());
            if v.state.is_final() {
                f.remove(&v.id)
            } else {
                f.get(&v.id).cloned()
            }
        };
        if let Some(q) = query {
            let msg = Response::Escalation(Box::new(EscalationMsg::from_view(&q, &v)));
            if tx.send(Box::new(msg)).await.is_err() {
                return;
            }
        }
    }
}

async fn read_loop(
    mut rd: BufReader<OwnedReadHalf>,
    mode: Mode,
    server: &Arc<Server>,
    tx: mpsc::Sender<Box<Response>>,
    gone: CancellationToken,
    shutdown: CancellationToken,
    followed: Followed,
) {
    let api = &server.api;
    let in_flight = Arc::new(Semaphore::new(api.max_in_flight_per_connection));
    let tasks = TaskTracker::new();

    if mode == Mode::Postcard {
        match read_postcard(&mut rd, api, api.first_byte_timeout).await {
            Ok(Request::Hello(h)) if h.version == PROTOCOL_VERSION => {
                let _ = tx.send(Box::new(Response::Hello(server_hello()))).await;
            }
            Ok(Request::Hello(h)) => {
                let msg = format!(
                    "protocol version {} is not supported; this daemon speaks {PROTOCOL_VERSION}",
                    h.version
                );
                let _ = tx
                    .send(Box::new(Response::Error(ErrorMsg::new(
                        None,
                        ErrorCode::UnsupportedVersion,
                        &msg,
                    ))))
                    .await;
                return;
            }
            Ok(_) => {
                let msg = "the first frame must be a Hello";
                let _ = tx
                    .send(Box::new(Response::Error(ErrorMsg::new(
                        None,
                        ErrorCode::HelloRequired,
                        msg,
                    ))))
                    .await;
                return;
            }
            Err(None) => return,
            Err(Some(bad)) => {
                let _ = tx.send(Box::new(Response::Error(*bad.msg))).await;
                return;
            }
        }
    }

    loop {
        let next = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = gone.cancelled() => break,
            r = async {
                match mode {
                    Mode::Postcard => read_postcard(&mut rd, api, api.idle_timeout).await,
                    Mode::Json => read_json(&mut rd, server).await,
                }
            } => r,
        };
        match next {
            Ok(Request::Query(q)) => {
                let received = Instant::now();
                let permit = tokio::select! {
                    _ = gone.cancelled() => break,
                    p = in_flight.clone().acquire_owned() => p.expect("never closed"),
                };
                let (server, tx, gone) = (server.clone(), tx.clone(), gone.clone());
                let followed = followed.clone();
                tasks.spawn(async move {
                    for reply in answer(q, &server, &gone, received, &followed).await {
                        let _ = tx.send(Box::new(reply)).await;
                    }
                    drop(permit);
                });
            }
            Ok(Request::Status) => {
                let _ = tx.send(Box::new(Response::Status(server.status()))).await;
            }
            Ok(Request::Procedure { id }) => {
                let _ = tx.send(Box::new(server.procedure(&id))).await;
            }
            Ok(Request::Escalation { id }) => {
                let server = server.clone();
                let reply = tokio::task::spawn_blocking(move || server.escalation(&id)).await;
                if let Ok(reply) = reply {
                    let _ = tx.send(Box::new(reply)).await;
                }
            }
            Ok(Request::Hello(_)) => {
                let msg = ErrorMsg::new(None, ErrorCode::Malformed, "Hello was already exchanged");
                let _ = tx.send(Box::new(Response::Error(msg))).await;
            }
            Err(None) => {
                // EOF. A half-closed client still waits for its answers; a
                // client that closed both ways is gone and its jobs are void.
                if peer_hung_up(rd.get_ref()).await {
                    gone.cancel();
                }
                break;
            }
            Err(Some(bad)) => {
                let fatal = bad.fatal;
                tracing::debug!(code = ?bad.msg.code, message = %bad.msg.message, "bad request");
                let _ = tx.send(Box::new(Response::Error(*bad.msg))).await;
                if fatal {
                    break;
                }
            }
        }
    }
    tasks.close();
    tasks.wait().await;
}

async fn peer_hung_up(rd: &OwnedReadHalf) -> bool {
    match tokio::time::timeout(
        Duration::from_millis(20),
        rd.ready(tokio::io::Interest::WRITABLE),
    )
    .await
    {
        Ok(Ok(ready)) => ready.is_write_closed(),
        Ok(Err(_)) => true,
        Err(_) => false,
    }
}

fn server_hello() -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
        agent: bounded(concat!("slmd/", env!("CARGO_PKG_VERSION"))),
    }
}

/// Reads and decodes one postcard request. `Err(None)` is a clean close.
async fn read_postcard(
    rd: &mut BufReader<OwnedReadHalf>,
    api: &ApiConfig,
    idle: Duration,
) -> Result<Request, Option<BadRequest>> {
    let body = codec::read_frame(rd, api.max_frame_bytes, idle, api.frame_timeout)
        .await
        .map_err(frame_error)?;
    decode_postcard(&body).map_err(Some)
}

/// Decodes one postcard frame body into a request, as the socket does.
pub fn decode_postcard(body: &[u8]) -> Result<Request, BadRequest> {
    postcard::from_bytes::<Request>(body).map_err(|e| match e {
        postcard::Error::DeserializeBadUtf8 => {
            BadRequest::new(ErrorCode::InvalidUtf8, "a text field is not valid UTF-8", false)
        }
        other => BadRequest::new(
            ErrorCode::Malformed,
            format!(
                "frame is not a valid request ({other}); text is limited to {MAX_TEXT} bytes, ids to {MAX_ID}"
            ),
            false,
        ),
    })
}

fn frame_error(e: FrameError) -> Option<BadRequest> {
    match e {
        FrameError::Closed => None,
        FrameError::Idle(d) => Some(BadRequest::new(
            ErrorCode::Timeout,
            format!("idle for {d:?}; closing"),
            true,
        )),
        FrameError::TooLarge { .. } => Some(BadRequest::new(
            ErrorCode::FrameTooLarge,
            e.to_string(),
            true,
        )),
        FrameError::Truncated(_) => Some(BadRequest::new(
            ErrorCode::TruncatedFrame,
            e.to_string(),
            true,
        )),
        FrameError::Io(_) => None,
    }
}

/// A JSON request line: `{"id": "...", "text": "..."}` is a query;
/// `{"op": "status"}` asks for status; `v` optionally names the protocol
/// version.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRequest {
    #[serde(default)]
    op: JsonOp,
    v: Option<u16>,
    id: Option<String>,
    text: Option<String>,
    deadline_ms: Option<u32>,
    /// Procedure id, for `op: "procedure"`.
    procedure: Option<String>,
    /// Escalation id, for `op: "escalation"`.
    escalation: Option<String>,
    #[serde(default)]
    no_egress: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum JsonOp {
    #[default]
    Query,
    Status,
    Hello,
    Procedure,
    Escalation,
}

async fn read_json(
    rd: &mut BufReader<OwnedReadHalf>,
    server: &Server,
) -> Result<Request, Option<BadRequest>> {
    let api = &server.api;
    let line = codec::read_line(rd, api.max_frame_bytes, api.idle_timeout, api.frame_timeout)
        .await
        .map_err(frame_error)?;
    decode_json_line(&line, || {
        server.json_ids.fetch_add(1, Ordering::Relaxed) + 1
    })
    .map_err(Some)
}

/// Decodes one JSON request line, as the socket does; `next_id` numbers
/// the queries that carry no id of their own.
pub fn decode_json_line(line: &[u8], next_id: impl FnOnce() -> u64) -> Result<Request, BadRequest> {
    let text = std::str::from_utf8(line)
        .map_err(|_| BadRequest::new(ErrorCode::InvalidUtf8, "line is not valid UTF-8", false))?;
    if text.trim().is_empty() {
        return Err(BadRequest::new(ErrorCode::Malformed, "empty line", false));
    }
    let req: JsonRequest = serde_json::from_str(text).map_err(|e| {
        BadRequest::new(
            ErrorCode::Malformed,
            format!("bad JSON request: {e}"),
            false,
        )
    })?;
    if let Some(v) = req.v.filter(|v| *v != PROTOCOL_VERSION) {
        return Err(BadRequest::new(
            ErrorCode::UnsupportedVersion,
            format!("protocol version {v} is not supported; this daemon speaks {PROTOCOL_VERSION}"),
            true,
        ));
    }
    match req.op {
        JsonOp::Status => Ok(Request::Status),
        JsonOp::Hello => Ok(Request::Status),
        JsonOp::Procedure => {
            let want = req.procedure.unwrap_or_default();
            let id = heapless::String::try_from(want.as_str()).map_err(|_| {
                BadRequest::new(
                    ErrorCode::Malformed,
                    format!("procedure is over {MAX_ID} bytes"),
                    false,
                )
            })?;
            Ok(Request::Procedure { id })
        }
        JsonOp::Escalation => {
            let want = req.escalation.unwrap_or_default();
            let id = heapless::String::try_from(want.as_str()).map_err(|_| {
                BadRequest::new(
                    ErrorCode::Malformed,
                    format!("escalation is over {MAX_ID} bytes"),
                    false,
                )
            })?;
            Ok(Request::Escalation { id })
        }
        JsonOp::Query => {
            let id: Id = match req.id {
                Some(id) => heapless::String::try_from(id.as_str()).map_err(|_| {
                    BadRequest::new(
                        ErrorCode::Malformed,
                        format!("id is over {MAX_ID} bytes"),
                        false,
                    )
                })?,
                None => bounded(&format!("j{}", next_id())),
            };
            let body = req.text.unwrap_or_default();
            let text = heapless::String::try_from(body.as_str()).map_err(|_| BadRequest {
                msg: Box::new(ErrorMsg::new(
                    Some(id.clone()),
                    ErrorCode::BadText,
                    &format!("text is {} bytes; the limit is {MAX_TEXT}", body.len()),
                )),
                fatal: false,
            })?;
            Ok(Request::Query(Box::new(Query {
                id,
                text,
                deadline_ms: req.deadline_ms,
                no_egress: req.no_egress,
            })))
        }
    }
}

/// Runs one query through the pool: the escalation's state when it was
/// escalated, then the decision. Empty when the client went away.
async fn answer(
    q: Box<Query>,
    server: &Arc<Server>,
    gone: &CancellationToken,
    received: Instant,
    followed: &Followed,
) -> Vec<Response> {
    let err = |code, message: &str| {
        vec![Response::Error(ErrorMsg::new(
            Some(q.id.clone()),
            code,
            message,
        ))]
    };
    if q.text.trim().is_empty() {
        return err(ErrorCode::BadText, "text is empty");
    }
    let limit = q
        .deadline_ms
        .map(|ms| Duration::from_millis(ms as u64))
        .unwrap_or(server.api.request_timeout)
        .min(server.api.request_timeout);
    let deadline = received + limit;
    let (reply, outcome) = oneshot::channel();
    let job = Job {
        text: q.text.to_string(),
        no_egress: q.no_egress,
        deadline: Some(deadline),
        reply,
    };
    if server.pool.try_submit(job).is_err() {
        return vec![Response::Busy { id: q.id.clone() }];
    }
    let outcome = tokio::select! {
        _ = gone.cancelled() => return Vec::new(),
        r = tokio::time::timeout_at(deadline.into(), outcome) => r,
    };
    let stats = server.pool.stats();
    match outcome {
        Ok(Ok(Outcome::Decided(mut d))) => {
            let escalation = match (&server.escalations, d.escalate) {
                (Some(esc), true) => Some(escalate(esc, server, &q, &mut d, followed).await),
                _ => None,
            };
            let us = received.elapsed().as_micros() as u64;
            stats.record_latency(us);
            stats.answered.fetch_add(1, Ordering::Relaxed);
            let slot = match d.route {
                Route::Local => 0,
                Route::Escalate => 1,
                Route::Human => 2,
            };
            server.routes[slot].fetch_add(1, Ordering::Relaxed);
            // The escalation's frame comes first: a client that sees the
            // decision knows whether one is on its way.
            let mut out: Vec<Response> = escalation
                .map(|e| Response::Escalation(Box::new(e)))
                .into_iter()
                .collect();
            out.push(Response::Decision(Box::new(DecisionMsg::from_decision(
                q.id.clone(),
                &d,
                us,
            ))));
            out
        }
        Err(_) | Ok(Ok(Outcome::Expired)) => err(
            ErrorCode::DeadlineExceeded,
            &format!("no decision within {} ms", limit.as_millis()),
        ),
        Ok(Ok(Outcome::Failed(_))) => err(ErrorCode::Internal, "internal error"),
        Ok(Err(_)) => err(ErrorCode::ShuttingDown, "the engine is stopping"),
    }
}

/// Stores an escalated decision in the outbox before anything is said to
/// the client. When it cannot be stored, the case goes to a person and the
/// decision says why.
async fn escalate(
    esc: &Arc<Escalations>,
    server: &Arc<Server>,
    q: &Query,
    d: &mut Decision,
    followed: &Followed,
) -> EscalationMsg {
    let passages: Vec<Passage> = {
        let index = server.pool.pipeline().index();
        let docs = index.docs();
        d.sources
            .iter()
            .take(esc.passages())
            .filter_map(|s| docs.iter().find(|p| p.id == s.id))
            .map(|p| Passage {
                id: p.id.clone(),
                title: p.title.clone(),
                text: p.to_text(),
            })
            .collect()
    };
    let (esc2, text, snapshot) = (esc.clone(), q.text.to_string(), d.clone());
    let stored = tokio::task::spawn_blocking(move || {
        let id = esc2.submit(&text, &snapshot, passages)?;
        let view = esc2.view(&id)?;
        Ok::<_, crate::escalations::EscalationError>((id, view))
    })
    .await;
    match stored {
        Ok(Ok((id, view))) => {
            server.escalated.fetch_add(1, Ordering::Relaxed);
            if let Some(b) = &server.budget {
                b.spend();
            }
            {
                let mut f = followed.lock().unwrap_or_else(|p| p.into_inner());
                if f.len() < FOLLOWED_PER_CONNECTION {
                    f.insert(id.clone(), q.id.clone());
                }
            }
            match view {
                Some(v) => EscalationMsg::from_view(&q.id, &v),
                None => EscalationMsg::failed(&q.id, "the escalation was stored but is not found"),
            }
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "escalation not stored; a person decides");
            refuse_escalation(d, &e.to_string());
            EscalationMsg::failed(&q.id, &format!("not stored on the device: {e}"))
        }
        Err(e) => {
            tracing::error!(error = %e, "escalation task failed");
            refuse_escalation(d, "internal error");
            EscalationMsg::failed(&q.id, "internal error")
        }
    }
}

fn refuse_escalation(d: &mut Decision, why: &str) {
    d.escalate = false;
    if d.route == Route::Escalate {
        d.route = Route::Human;
    }
    d.reasons.push(Reason {
        code: ReasonCode::EscalationRefused,
        detail: format!("the escalation could not be stored: {why}"),
    });
}
