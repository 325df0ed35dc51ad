//! A client of the local socket (postcard framing), used by `slmd ask`,
//! `slmd triage` and `slmd tui`.

use super::codec::{self, FrameError};
use super::proto::{bounded, EscalationMsg, Hello, Query, Request, Response};
use crate::limits::{DEFAULT_MAX_FRAME, MAX_TEXT, PROTOCOL_VERSION};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::BufReader;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {path}: {source} (is `slmd serve` running?)")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("daemon refused the connection: {0}")]
    Refused(String),
    #[error("text is {0} bytes; the limit is {MAX_TEXT}")]
    TextTooLong(usize),
    #[error("connection failed: {0}")]
    Frame(#[from] FrameError),
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("daemon sent an undecodable frame: {0}")]
    Decode(#[from] postcard::Error),
}

/// An open, greeted connection.
#[derive(Debug)]
pub struct Client {
    rd: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
    server: Hello,
    timeout: Duration,
    last_escalation: Option<Box<EscalationMsg>>,
}

impl Client {
    /// Connects and exchanges Hellos.
    pub async fn connect(
        path: &Path,
        agent: &str,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| ClientError::Connect {
                path: path.to_path_buf(),
                source,
            })?;
        let (rd, wr) = stream.into_split();
        let mut c = Client {
            rd: BufReader::new(rd),
            wr,
            server: Hello {
                version: 0,
                agent: bounded(""),
            },
            timeout,
            last_escalation: None,
        };
        let hello = Request::Hello(Hello {
            version: PROTOCOL_VERSION,
            agent: bounded(agent),
        });
        match c.call(&hello).await? {
            Response::Hello(h) => c.server = h,
            Response::Error(e) => return Err(ClientError::Refused(e.message.to_string())),
            other => return Err(ClientError::Refused(format!("unexpected reply {other:?}"))),
        }
        Ok(c)
    }

    /// The daemon's Hello.
    pub fn server(&self) -> &Hello {
        &self.server
    }

    /// Sends one request without waiting for its reply.
    pub async fn send(&mut self, req: &Request) -> Result<(), ClientError> {
        codec::write_frame(&mut self.wr, req).await?;
        Ok(())
    }

    /// Waits for the next reply.
    pub async fn recv(&mut self) -> Result<Response, ClientError> {
        let body =
            codec::read_frame(&mut self.rd, DEFAULT_MAX_FRAME, self.timeout, self.timeout).await?;
        Ok(postcard::from_bytes(&body)?)
    }

    /// Sends a request and waits for its reply.
    pub async fn call(&mut self, req: &Request) -> Result<Response, ClientError> {
        self.send(req).await?;
        self.recv().await
    }

    /// Triage one text. Returns the decision (or the error); an
    /// escalation frame that precedes it is kept in
    /// [`Client::last_escalation`], and updates of earlier escalations that
    /// arrive meanwhile are passed over.
    pub async fn query(
        &mut self,
        id: &str,
        text: &str,
        no_egress: bool,
    ) -> Result<Response, ClientError> {
        let text =
            heapless::String::try_from(text).map_err(|_| ClientError::TextTooLong(text.len()))?;
        self.last_escalation = None;
        self.send(&Request::Query(Box::new(Query {
            id: bounded(id),
            text,
            deadline_ms: None,
            no_egress,
        })))
        .await?;
        loop {
            match self.recv().await? {
                Response::Escalation(e) if e.id.as_str() == id => self.last_escalation = Some(e),
                // A later state of an earlier query's escalation; fetch it by
                // id when wanted.
                Response::Escalation(_) => {}
                other => return Ok(other),
            }
        }
    }

    /// The escalation state sent with the last query's decision, if it was
    /// escalated.
    pub fn last_escalation(&self) -> Option<&EscalationMsg> {
        self.last_escalation.as_deref()
    }
}

/// The receiving half of a split [`Client`].
#[derive(Debug)]
pub struct ClientReader {
    rd: BufReader<OwnedReadHalf>,
    frame_timeout: Duration,
}

/// The sending half of a split [`Client`].
#[derive(Debug)]
pub struct ClientWriter {
    wr: OwnedWriteHalf,
}

impl Client {
    /// Splits the connection so that one task can wait for replies (and,
    /// later, update frames) while another sends requests.
    pub fn into_split(self) -> (ClientReader, ClientWriter) {
        (
            ClientReader {
                rd: self.rd,
                frame_timeout: self.timeout,
            },
            ClientWriter { wr: self.wr },
        )
    }
}

impl ClientReader {
    /// Waits up to `idle` for the next frame to start, then reads it whole.
    pub async fn recv(&mut self, idle: Duration) -> Result<Response, ClientError> {
        let body =
            codec::read_frame(&mut self.rd, DEFAULT_MAX_FRAME, idle, self.frame_timeout).await?;
        Ok(postcard::from_bytes(&body)?)
    }
}

impl ClientWriter {
    /// Sends one request.
    pub async fn send(&mut self, req: &Request) -> Result<(), ClientError> {
        codec::write_frame(&mut self.wr, req).await?;
        Ok(())
    }
}
