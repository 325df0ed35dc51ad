//! The socket API against an in-process server on a temp socket, with the
//! real model and index: postcard and JSON clients, concurrency, busy,
//! deadlines, cancellation and bad input.

mod common;

use common::TestServer;
use slmd::api::client::Client;
use slmd::api::codec;
use slmd::api::proto::{bounded, ErrorCode, Hello, Query, Request, Response};
use slmd::labels::{Category, Route};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

const T: Duration = Duration::from_secs(600);

/// One inference thread with room to queue, and no request timeout in the
/// way even under emulation, where one query can take a second.
const SLOW_OK: &str = "[engine]\nthreads = 1\nqueue_depth = 64\n\
    [api]\nmax_in_flight_per_connection = 64\nrequest_timeout_ms = 3600000\n";
/// Queries that keep the only worker busy for a while.
const BACKLOG: usize = 12;

async fn client(s: &TestServer) -> Client {
    Client::connect(&s.sock, "test", T).await.expect("connect")
}

fn query(id: &str, text: &str) -> Request {
    Request::Query(Box::new(Query {
        id: bounded(id),
        text: bounded(text),
        deadline_ms: None,
        no_egress: false,
    }))
}

/// Reads one postcard response from a raw stream.
async fn read_resp(s: &mut BufReader<UnixStream>) -> Option<Response> {
    let body = codec::read_frame(s, 1 << 20, T, T).await.ok()?;
    Some(postcard::from_bytes(&body).expect("daemon frames decode"))
}

async fn raw_hello(s: &TestServer) -> BufReader<UnixStream> {
    let mut st = BufReader::new(UnixStream::connect(&s.sock).await.unwrap());
    let hello = Request::Hello(Hello {
        version: 1,
        agent: bounded("raw"),
    });
    codec::write_frame(st.get_mut(), &hello).await.unwrap();
    assert!(matches!(read_resp(&mut st).await, Some(Response::Hello(_))));
    st
}

async fn json_line(st: &mut BufReader<UnixStream>, line: &[u8]) -> serde_json::Value {
    st.get_mut().write_all(line).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(T, st.read_line(&mut out))
        .await
        .unwrap()
        .unwrap();
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON {out:?}: {e}"))
}

async fn assert_still_serving(s: &TestServer) {
    let mut c = client(s).await;
    match c
        .query("after", "cellular router offline no signal", false)
        .await
        .unwrap()
    {
        Response::Decision(d) => assert_eq!(d.id.as_str(), "after"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn postcard_query_returns_a_grounded_decision() {
    let s = TestServer::start("").await;
    let mut c = client(&s).await;
    assert_eq!(c.server().version, 1);
    let d = match c
        .query("q1", "P-101 vibration high after bearing swap", false)
        .await
        .unwrap()
    {
        Response::Decision(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(d.id.as_str(), "q1");
    assert_eq!(d.category, Category::Mechanical);
    assert_eq!(d.route, Route::Local);
    assert!(d.sources.iter().any(|s| s.id.starts_with("PUMP-")), "{d:?}");
    assert!(d.answer.contains(&format!("[{}]", d.sources[0].id)));
    assert!(d.fields.iter().any(|f| f.value.as_str() == "P-101"));
    assert!(d.latency_us > 0);
    s.shutdown().await;
}

#[tokio::test]
async fn json_client_gets_json_lines() {
    let s = TestServer::start("").await;
    let mut st = BufReader::new(UnixStream::connect(&s.sock).await.unwrap());
    let v = json_line(
        &mut st,
        b"{\"id\":\"j1\",\"text\":\"smell of gas in the boiler room\"}\n",
    )
    .await;
    assert_eq!(v["type"], "decision");
    assert_eq!(v["id"], "j1");
    assert_eq!(v["urgency"], "critical");
    assert_eq!(v["route"], "human");
    let v = json_line(&mut st, b"{\"op\":\"status\"}\n").await;
    assert_eq!(v["type"], "status");
    assert!(v["kb_procedures"].as_u64().unwrap() >= 30);
    assert!(v["answered"].as_u64().unwrap() >= 1);
    s.shutdown().await;
}

#[tokio::test]
async fn procedure_text_is_served_by_id_in_both_framings() {
    let s = TestServer::start("").await;
    let mut c = client(&s).await;
    let p = match c
        .call(&Request::Procedure {
            id: bounded("haz-001"),
        })
        .await
        .unwrap()
    {
        Response::Procedure(p) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(p.id.as_str(), "HAZ-001");
    assert_eq!(p.safety, slmd::labels::Safety::Danger);
    // Immediate actions come before the steps.
    let first = p.text.find("IMMEDIATE ACTIONS").expect("immediate actions");
    assert!(first < p.text.find("STEPS").expect("steps"), "{}", p.text);
    match c
        .call(&Request::Procedure {
            id: bounded("NOPE-999"),
        })
        .await
        .unwrap()
    {
        Response::Error(e) => {
            assert_eq!(e.code, ErrorCode::NotFound);
            assert_eq!(e.id.as_deref(), Some("NOPE-999"));
        }
        other => panic!("{other:?}"),
    }

    let mut st = BufReader::new(UnixStream::connect(&s.sock).await.unwrap());
    let v = json_line(
        &mut st,
        b"{\"op\":\"procedure\",\"procedure\":\"PUMP-001\"}\n",
    )
    .await;
    assert_eq!(v["type"], "procedure");
    assert_eq!(v["id"], "PUMP-001");
    assert!(v["text"].as_str().unwrap().contains("STEPS"));
    let v = json_line(&mut st, b"{\"op\":\"procedure\"}\n").await;
    assert_eq!(v["type"], "error");
    assert_eq!(v["code"], "not_found");
    s.shutdown().await;
}

#[tokio::test]
async fn concurrent_clients_each_get_their_own_answers() {
    // No request timeout in the way: under emulation on a busy machine 18
    // queries on two threads can take longer than the default 30 s.
    let s = TestServer::start(
        "[engine]\nthreads = 2\nqueue_depth = 64\n[api]\nrequest_timeout_ms = 3600000\n",
    )
    .await;
    let mut tasks = Vec::new();
    for n in 0..6 {
        let sock = s.sock.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Client::connect(&sock, "c", T).await.unwrap();
            for k in 0..3 {
                let id = format!("c{n}-{k}");
                match c
                    .query(&id, "VFD tripped on overcurrent at start", false)
                    .await
                    .unwrap()
                {
                    Response::Decision(d) => {
                        assert_eq!(d.id.as_str(), id);
                        assert_eq!(d.category, Category::Electrical);
                    }
                    other => panic!("{other:?}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.server.status().answered, 18);
    s.shutdown().await;
}

#[tokio::test]
async fn a_full_queue_answers_busy_and_every_request_gets_one_reply() {
    let s = TestServer::start(
        "[engine]\nthreads = 1\nqueue_depth = 1\n[api]\nmax_in_flight_per_connection = 64\n",
    )
    .await;
    let mut c = client(&s).await;
    let n = 24;
    for i in 0..n {
        c.send(&query(&format!("b{i}"), "chiller high head pressure trip"))
            .await
            .unwrap();
    }
    let (mut busy, mut decided) = (0, 0);
    let mut ids = std::collections::HashSet::new();
    for _ in 0..n {
        match c.recv().await.unwrap() {
            Response::Busy { id } => {
                busy += 1;
                assert!(ids.insert(id.to_string()));
            }
            Response::Decision(d) => {
                decided += 1;
                assert!(ids.insert(d.id.to_string()));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(busy > 0, "expected some busy replies");
    assert!(decided > 0, "expected some decisions");
    assert_eq!(ids.len(), n);
    assert_eq!(s.server.status().busy, busy as u64);
    assert_still_serving(&s).await;
    s.shutdown().await;
}

#[tokio::test]
async fn silent_client_gets_a_timeout_error_and_is_closed() {
    let s = TestServer::start("[api]\nfirst_byte_timeout_ms = 200\n").await;
    let mut st = BufReader::new(UnixStream::connect(&s.sock).await.unwrap());
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(10), st.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["code"], "timeout");
    let mut rest = Vec::new();
    assert_eq!(
        st.read_to_end(&mut rest).await.unwrap(),
        0,
        "closed after the error"
    );
    assert_still_serving(&s).await;
    s.shutdown().await;
}

#[tokio::test]
async fn idle_client_is_closed_after_the_idle_deadline() {
    let s = TestServer::start("[api]\nidle_timeout_ms = 300\n").await;
    let mut st = raw_hello(&s).await;
    match read_resp(&mut st).await {
        Some(Response::Error(e)) => assert_eq!(e.code, ErrorCode::Timeout),
        other => panic!("{other:?}"),
    }
    assert!(read_resp(&mut st).await.is_none());
    s.shutdown().await;
}

#[tokio::test]
async fn stalled_frame_hits_the_frame_deadline() {
    let s = TestServer::start("[api]\nframe_timeout_ms = 300\n").await;
    let mut st = raw_hello(&s).await;
    st.get_mut()
        .write_all(&[0, 0, 0, 100, 1, 2, 3])
        .await
        .unwrap();
    match read_resp(&mut st).await {
        Some(Response::Error(e)) => assert_eq!(e.code, ErrorCode::TruncatedFrame),
        other => panic!("{other:?}"),
    }
    assert!(read_resp(&mut st).await.is_none());
    assert_still_serving(&s).await;
    s.shutdown().await;
}

#[tokio::test]
async fn four_gib_length_prefix_is_refused_at_once() {
    let s = TestServer::start("").await;
    let mut st = raw_hello(&s).await;
    st.get_mut()
        .write_all(&[0xff, 0xff, 0xff, 0xff])
        .await
        .unwrap();
    let t = std::time::Instant::now();
    match read_resp(&mut st).await {
        Some(Response::Error(e)) => {
            assert_eq!(e.code, ErrorCode::FrameTooLarge);
            assert!(e.message.contains("4294967295"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_still_serving(&s).await;
    s.shutdown().await;
}

#[tokio::test]
async fn truncated_frame_then_disconnect_leaves_the_daemon_serving() {
    let s = TestServer::start("").await;
    let mut st = raw_hello(&s).await;
    st.get_mut().write_all(&[0, 0, 0, 50, 1, 2]).await.unwrap();
    drop(st);
    assert_still_serving(&s).await;
    s.shutdown().await;
}

#[tokio::test]
async fn garbage_postcard_gets_malformed_and_the_connection_goes_on() {
    let s = TestServer::start("").await;
    let mut st = raw_hello(&s).await;
    st.get_mut()
        .write_all(&[0, 0, 0, 3, 0xee, 0xee, 0xee])
        .await
        .unwrap();
    match read_resp(&mut st).await {
        Some(Response::Error(e)) => assert_eq!(e.code, ErrorCode::Malformed),
        other => panic!("{other:?}"),
    }
    codec::write_frame(st.get_mut(), &query("ok", "rooftop unit not cooling"))
        .await
        .unwrap();
    assert!(matches!(
        read_resp(&mut st).await,
        Some(Response::Decision(_))
    ));
    s.shutdown().await;
}

#[tokio::test]
async fn invalid_utf8_is_reported_in_both_framings() {
    let s = TestServer::start("").await;
    // Postcard: Query variant (1), id "x", text of two bytes that are not UTF-8.
    let mut st = raw_hello(&s).await;
    let body = [1u8, 1, b'x', 2, 0xc3, 0x28, 0, 0];
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    st.get_mut().write_all(&frame).await.unwrap();
    match read_resp(&mut st).await {
        Some(Response::Error(e)) => assert_eq!(e.code, ErrorCode::InvalidUtf8),
        other => panic!("{other:?}"),
    }
    // JSON.
    let mut js = BufReader::new(UnixStream::connect(&s.sock).await.unwrap());
    let v = json_line(&mut js, b"{\"id\":\"u\",\"text\":\"\xc3\x28\"}\n").await;
    assert_eq!(v["code"], "invalid_utf8");
    let v = json_line(&mut js, b"{\"id\":\"m\",\"text\":\n").await;
    assert_eq!(v["code"], "malformed");
    let long = format!(
        "{{\"id\":\"l\",\"text\":\"{}\"}}\n",
        "a".repeat(slmd::limits::MAX_TEXT + 1)
    );
    let v = json_line(&mut js, long.as_bytes()).await;
    assert_eq!(v["code"], "bad_text");
    assert_eq!(v["id"], "l");
    let v = json_line(
        &mut js,
        b"{\"id\":\"fine\",\"text\":\"UPS on battery alarm\"}\n",
    )
    .await;
    assert_eq!(v["type"], "decision");
    s.shutdown().await;
}

#[tokio::test]
async fn unknown_protocol_version_and_missing_hello_are_refused() {
    let s = TestServer::start("").await;
    let mut st = BufReader::new(UnixStream::connect(&s.sock).await.unwrap());
    let hello = Request::Hello(Hello {
        version: 99,
        agent: bounded("future"),
    });
    codec::write_frame(st.get_mut(), &hello).await.unwrap();
    match read_resp(&mut st).await {
        Some(Response::Error(e)) => {
            assert_eq!(e.code, ErrorCode::UnsupportedVersion);
            assert!(e.message.contains("99"));
        }
        other => panic!("{other:?}"),
    }
    assert!(read_resp(&mut st).await.is_none());

    let mut st = BufReader::new(UnixStream::connect(&s.sock).await.unwrap());
    codec::write_frame(st.get_mut(), &query("x", "hi"))
        .await
        .unwrap();
    match read_resp(&mut st).await {
        Some(Response::Error(e)) => assert_eq!(e.code, ErrorCode::HelloRequired),
        other => panic!("{other:?}"),
    }

    let mut js = BufReader::new(UnixStream::connect(&s.sock).await.unwrap());
    let v = json_line(&mut js, b"{\"v\":7,\"text\":\"x\"}\n").await;
    assert_eq!(v["code"], "unsupported_version");
    s.shutdown().await;
}

#[tokio::test]
async fn a_client_that_leaves_mid_request_has_its_queued_job_cancelled() {
    let s = TestServer::start(SLOW_OK).await;
    // Keep the only worker busy with a backlog from one client.
    let mut busy = client(&s).await;
    for i in 0..BACKLOG {
        let q = query(&format!("k{i}"), "generator failed to start on test");
        busy.send(&q).await.unwrap();
    }
    // Other clients ask and vanish while their jobs are still queued.
    for _ in 0..3 {
        let mut st = raw_hello(&s).await;
        codec::write_frame(st.get_mut(), &query("gone", "router offline"))
            .await
            .unwrap();
        st.get_mut().flush().await.unwrap();
        drop(st);
    }
    for _ in 0..BACKLOG {
        let r = busy.recv().await.unwrap();
        assert!(matches!(r, Response::Decision(_)), "{r:?}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while s.server.status().cancelled < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let st = s.server.status();
    assert_eq!(st.cancelled, 3, "{st:?}");
    assert_eq!(st.answered, BACKLOG as u64);
    assert_still_serving(&s).await;
    s.shutdown().await;
}

#[tokio::test]
async fn a_query_past_its_deadline_gets_deadline_exceeded() {
    let s = TestServer::start(SLOW_OK).await;
    let mut c = client(&s).await;
    for i in 0..BACKLOG {
        let q = query(&format!("f{i}"), "PLC in stop mode with fault LED");
        c.send(&q).await.unwrap();
    }
    c.send(&Request::Query(Box::new(Query {
        id: bounded("late"),
        text: bounded("PLC in stop mode with fault LED"),
        deadline_ms: Some(1),
        no_egress: false,
    })))
    .await
    .unwrap();
    let mut saw = false;
    for _ in 0..=BACKLOG {
        match c.recv().await.unwrap() {
            Response::Error(e) => {
                assert_eq!(e.id.as_deref(), Some("late"));
                assert_eq!(e.code, ErrorCode::DeadlineExceeded);
                saw = true;
            }
            Response::Decision(d) => assert!(d.id.starts_with('f')),
            other => panic!("{other:?}"),
        }
    }
    assert!(saw);
    s.shutdown().await;
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_with_a_reason() {
    let s = TestServer::start("[api]\nmax_connections = 2\n").await;
    let _a = client(&s).await;
    let _b = client(&s).await;
    let mut js = BufReader::new(UnixStream::connect(&s.sock).await.unwrap());
    let v = json_line(&mut js, b"{\"op\":\"status\"}\n").await;
    assert_eq!(v["code"], "too_many_connections");
    s.shutdown().await;
}

#[tokio::test]
async fn shutdown_finishes_queries_in_flight() {
    let s = TestServer::start("").await;
    let mut c = client(&s).await;
    c.send(&query("last", "belt conveyor tracking off"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    s.stop.cancel();
    assert!(matches!(c.recv().await.unwrap(), Response::Decision(_)));
    assert_eq!(s.server.status().answered, 1);
    let stats = s.server.status();
    assert_eq!(stats.errors, 0);
    s.shutdown().await;
}
