//! Bytes ⇄ messages: u32 big-endian length-prefixed postcard frames, and
//! newline-delimited JSON. Limits and deadlines are enforced here, before
//! a body is read; memory is reserved as its bytes arrive.

use super::proto::{
    DecisionMsg, ErrorMsg, EscalationMsg, Hello, Id, ProcedureMsg, Response, StatusMsg,
};
use serde::Serialize;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

/// Why a frame or line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    #[error("connection closed")]
    Closed,
    /// No frame started within the idle deadline.
    #[error("no request within {0:?}")]
    Idle(Duration),
    #[error("frame of {declared} bytes is over the {limit}-byte limit")]
    TooLarge { declared: u64, limit: usize },
    #[error("frame cut short: {0}")]
    Truncated(&'static str),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Waits up to `idle` for the next byte without consuming it.
async fn wait_first_byte<R: AsyncBufRead + Unpin>(
    r: &mut R,
    idle: Duration,
) -> Result<(), FrameError> {
    match timeout(idle, r.fill_buf()).await {
        Err(_) => Err(FrameError::Idle(idle)),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok([])) => Err(FrameError::Closed),
        Ok(Ok(_)) => Ok(()),
    }
}

/// Reads one length-prefixed frame. `idle` bounds the wait for its first
/// byte, `whole` the time from its first byte to its last.
pub async fn read_frame<R: AsyncBufRead + Unpin>(
    r: &mut R,
    max: usize,
    idle: Duration,
    whole: Duration,
) -> Result<Vec<u8>, FrameError> {
    wait_first_byte(r, idle).await?;
    let body = async {
        let mut len = [0u8; 4];
        r.read_exact(&mut len)
            .await
            .map_err(|_| FrameError::Truncated("inside the length prefix"))?;
        let declared = u32::from_be_bytes(len) as u64;
        if declared > max as u64 {
            return Err(FrameError::TooLarge {
                declared,
                limit: max,
            });
        }
        // Memory follows the bytes that arrive, not the length declared: a
        // peer that sends only a header costs a few bytes, not the limit.
        let mut body = Vec::new();
        (&mut *r)
            .take(declared)
            .read_to_end(&mut body)
            .await
            .map_err(|_| FrameError::Truncated("inside the body"))?;
        if body.len() as u64 != declared {
            return Err(FrameError::Truncated("inside the body"));
        }
        Ok(body)
    };
    timeout(whole, body)
        .await
        .unwrap_or(Err(FrameError::Truncated("frame deadline passed")))
}

/// Reads one newline-terminated line (without the newline), at most `max`
/// bytes, under the same deadlines as [`read_frame`].
pub async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    max: usize,
    idle: Duration,
    whole: Duration,
) -> Result<Vec<u8>, FrameError> {
    wait_first_byte(r, idle).await?;
    let line = async {
        let mut line = Vec::new();
        loop {
            let buf = r.fill_buf().await?;
            if buf.is_empty() {
                // EOF: a final line without newline still counts.
                return if line.is_empty() {
                    Err(FrameError::Closed)
                } else {
                    Ok(line)
                };
            }
            let (chunk, done) = match memchr(b'\n', buf) {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            if line.len() + chunk.len() > max {
                return Err(FrameError::TooLarge {
                    declared: (line.len() + chunk.len()) as u64,
                    limit: max,
                });
            }
            line.extend_from_slice(chunk);
            let used = done.unwrap_or(buf.len());
            r.consume(used);
            if done.is_some() {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
        }
    };
    timeout(whole, line)
        .await
        .unwrap_or(Err(FrameError::Truncated("line deadline passed")))
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|b| *b == needle)
}

/// Writes one postcard frame.
pub async fn write_frame<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    msg: &T,
) -> std::io::Result<()> {
    let body = postcard::to_allocvec(msg)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    w.write_all(&out).await?;
    w.flush().await
}

/// JSON shape of a response: the message's fields plus a `type` tag.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JsonResponse<'a> {
    Hello(&'a Hello),
    Decision(&'a DecisionMsg),
    Busy { id: &'a Id },
    Error(&'a ErrorMsg),
    Status(&'a StatusMsg),
    Procedure(&'a ProcedureMsg),
    Escalation(&'a EscalationMsg),
}

impl<'a> From<&'a Response> for JsonResponse<'a> {
    fn from(r: &'a Response) -> Self {
        match r {
            Response::Hello(h) => JsonResponse::Hello(h),
            Response::Decision(d) => JsonResponse::Decision(d),
            Response::Busy { id } => JsonResponse::Busy { id },
            Response::Error(e) => JsonResponse::Error(e),
            Response::Status(s) => JsonResponse::Status(s),
            Response::Procedure(p) => JsonResponse::Procedure(p),
            Response::Escalation(e) => JsonResponse::Escalation(e),
        }
    }
}

/// Writes one response as a JSON line.
pub async fn write_json_line<W: AsyncWrite + Unpin>(
    w: &mut W,
    msg: &Response,
) -> std::io::Result<()> {
    let mut out = serde_json::to_vec(&JsonResponse::from(msg))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    out.push(b'\n');
    w.write_all(&out).await?;
    w.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    const T: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn oversize_length_is_refused_before_the_body() {
        // Declares 4 GiB - 1 but carries nothing: must fail fast, not wait or allocate.
        let bytes = [0xff, 0xff, 0xff, 0xff];
        let mut r = BufReader::new(&bytes[..]);
        match read_frame(&mut r, 65536, T, T).await {
            Err(FrameError::TooLarge { declared, .. }) => assert_eq!(declared, 0xffff_ffff),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn truncated_frame_is_reported() {
        let bytes = [0, 0, 0, 10, 1, 2];
        let mut r = BufReader::new(&bytes[..]);
        assert!(matches!(
            read_frame(&mut r, 65536, T, T).await,
            Err(FrameError::Truncated(_))
        ));
    }

    #[tokio::test]
    async fn a_body_that_arrives_in_pieces_is_read_whole_and_no_further() {
        let (mut tx, rx) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            let body: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
            tx.write_all(&(body.len() as u32).to_be_bytes())
                .await
                .unwrap();
            for piece in body.chunks(70) {
                tx.write_all(piece).await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // the next frame right behind it
            tx.write_all(&[0, 0, 0, 2, 7, 8]).await.unwrap();
        });
        let mut r = BufReader::new(rx);
        let first = read_frame(&mut r, 65536, T, T).await.unwrap();
        assert_eq!(first.len(), 300);
        assert!(first.iter().enumerate().all(|(i, b)| *b == i as u8));
        assert_eq!(read_frame(&mut r, 65536, T, T).await.unwrap(), vec![7, 8]);
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn a_header_whose_body_never_comes_ends_at_the_frame_deadline() {
        let (mut tx, rx) = tokio::io::duplex(64);
        tx.write_all(&60_000u32.to_be_bytes()).await.unwrap();
        tx.write_all(b"abc").await.unwrap();
        let mut r = BufReader::new(rx);
        let got = read_frame(&mut r, 65536, T, Duration::from_millis(100)).await;
        assert!(matches!(got, Err(FrameError::Truncated(_))), "{got:?}");
        drop(tx);
    }

    #[tokio::test]
    async fn lines_are_bounded_and_split() {
        let mut r = BufReader::new(&b"{\"a\":1}\r\n{\"b\":2}"[..]);
        assert_eq!(read_line(&mut r, 64, T, T).await.unwrap(), b"{\"a\":1}");
        assert_eq!(read_line(&mut r, 64, T, T).await.unwrap(), b"{\"b\":2}");
        assert!(matches!(
            read_line(&mut r, 64, T, T).await,
            Err(FrameError::Closed)
        ));
        let long = [b'x'; 100];
        let mut r = BufReader::new(&long[..]);
        assert!(matches!(
            read_line(&mut r, 64, T, T).await,
            Err(FrameError::TooLarge { .. })
        ));
    }
}
