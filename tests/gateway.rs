//! End to end: technician → daemon → outbox → mosquitto → two `slmd
//! gateway` processes sharing the load → an OpenAI-compatible LLM server
//! (a local HTTP server in this test) → answer → the client that asked.
//! The LLM server checks that nothing the device must keep reached it.

mod common;

use common::{llm_server, llm_server_with, Gateway, Mosquitto};
use slmd::api::client::Client;
use slmd::api::proto::{EscalationState, Response};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn ask(sock: &Path, n: usize) -> String {
    let mut c = Client::connect(sock, "test", Duration::from_secs(120))
        .await
        .unwrap();
    let text = format!(
        "what is the capital of Australia, site {n}; ring Jo Bloggs on +44 7700 900{n:03} or jo{n}@example.com, router SN 4A7F92KX{n:02}"
    );
    match c.query(&format!("q{n}"), &text, false).await.unwrap() {
        Response::Decision(d) => assert_ne!(d.route.as_str(), "local"),
        other => panic!("unexpected {other:?}"),
    }
    c.last_escalation()
        .expect("escalated")
        .escalation
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalations_go_through_two_gateways_to_the_llm_redacted_and_come_back_to_the_asker() {
    let mut broker = Mosquitto::new();
    broker.start();
    let (llm_port, bodies) = llm_server().await;
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = conf_dir.path().join("slmd.toml");
    std::fs::write(&conf, "[redact]\nnames = [\"Jo Bloggs\"]\n").unwrap();
    let daemon = common::Daemon::spawn(&[
        "--broker",
        &broker.url(),
        "--device-id",
        "substation-3",
        "--config",
        conf.to_str().unwrap(),
    ]);
    // First batch before any gateway runs: the broker reports no
    // subscriber, the records stay queued and go out again until one is.
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push((n, ask(daemon.sock(), n).await));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let a = Gateway::spawn(&broker.url(), llm_port, "gw-a");
    let b = Gateway::spawn(&broker.url(), llm_port, "gw-b");
    for (n, id) in &ids {
        let e = common::wait_for_escalation(
            daemon.sock(),
            id,
            EscalationState::Answered,
            Duration::from_secs(90),
        )
        .await;
        let answer = e.answer.unwrap().to_string();
        assert!(answer.contains(&format!("jo{n}@example.com")), "{answer}");
        assert!(answer.contains("Jo Bloggs"), "{answer}");
        assert_eq!(e.model.as_str(), "test-llm-7b");
        assert_eq!(e.category.map(|c| c.as_str()), Some("network"));
    }

    // One gateway gone: the other answers what comes next.
    drop(a);
    let mut later = Vec::new();
    for n in 6..9 {
        later.push(ask(daemon.sock(), n).await);
    }
    for id in &later {
        common::wait_for_escalation(
            daemon.sock(),
            id,
            EscalationState::Answered,
            Duration::from_secs(90),
        )
        .await;
    }
    drop(b);

    // Nothing the device must keep reached the LLM.
    let bodies = bodies.lock().unwrap().clone();
    assert!(bodies.len() >= 9, "{} LLM calls", bodies.len());
    for body in &bodies {
        for secret in ["@example.com", "7700 900", "Jo Bloggs", "4A7F92KX"] {
            assert!(!body.contains(secret), "{secret:?} reached the LLM: {body}");
        }
        assert!(body.contains("test-llm-7b"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_held_by_a_gateway_that_dies_is_sent_again_and_answered_by_another() {
    let mut broker = Mosquitto::new();
    broker.start();
    let hang = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (llm_port, bodies) = llm_server_with(hang.clone()).await;
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = conf_dir.path().join("slmd.toml");
    std::fs::write(&conf, "[escalation]\nanswer_timeout_s = 2\n").unwrap();
    let daemon = common::Daemon::spawn(&[
        "--broker",
        &broker.url(),
        "--device-id",
        "boiler-house-1",
        "--config",
        conf.to_str().unwrap(),
    ]);
    let a = Gateway::spawn(&broker.url(), llm_port, "gw-a");
    let id = ask(daemon.sock(), 1).await;
    // Gateway A holds the request: the LLM has it and stalls.
    let t = Instant::now();
    while bodies.lock().unwrap().is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the request never reached the LLM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(a);
    hang.store(false, std::sync::atomic::Ordering::SeqCst);
    let _b = Gateway::spawn(&broker.url(), llm_port, "gw-b");
    let e = common::wait_for_escalation(
        daemon.sock(),
        &id,
        EscalationState::Answered,
        Duration::from_secs(90),
    )
    .await;
    assert!(e.answer.unwrap().contains("jo1@example.com"));
    assert!(
        bodies.lock().unwrap().len() >= 2,
        "asked again after the first gateway died"
    );
}
