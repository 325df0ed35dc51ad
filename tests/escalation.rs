//! Escalation on the device without a broker: the budget sends cases to a
//! person once spent, a full outbox refuses new escalations without losing
//! the ones it holds, and what was accepted survives a daemon restart.

mod common;

use slmd::api::client::Client;
use slmd::api::proto::{bounded, EscalationState, Request, Response};
use std::path::Path;
use std::time::Duration;

const OFF_TOPIC: &str = "what is the capital of Australia";

fn config(dir: &Path, body: &str) -> String {
    let p = dir.join("slmd.toml");
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

async fn ask(
    c: &mut Client,
    id: &str,
) -> (
    slmd::api::proto::DecisionMsg,
    Option<slmd::api::proto::EscalationMsg>,
) {
    match c.query(id, OFF_TOPIC, false).await.unwrap() {
        Response::Decision(d) => (*d, c.last_escalation().cloned()),
        other => panic!("unexpected {other:?}"),
    }
}

fn codes(d: &slmd::api::proto::DecisionMsg) -> Vec<String> {
    d.reasons.iter().map(|r| r.code.to_string()).collect()
}

#[tokio::test]
async fn a_spent_budget_sends_cases_to_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let conf = config(dir.path(), "[escalation]\nmax_per_hour = 1\n");
    let daemon = common::Daemon::spawn(&["--config", &conf]);
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    let (d, e) = ask(&mut c, "b1").await;
    assert_eq!(d.route.as_str(), "escalate");
    assert_eq!(e.expect("escalated").state, EscalationState::Queued);
    let (d, e) = ask(&mut c, "b2").await;
    assert_eq!(d.route.as_str(), "human", "{:?}", codes(&d));
    assert!(codes(&d).contains(&"budget_exhausted".to_string()));
    assert!(e.is_none(), "nothing stored past the budget");
}

#[tokio::test]
async fn a_full_outbox_refuses_new_escalations_and_accepted_ones_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let conf = config(dir.path(), "[outbox]\nmax_bytes = 2500\n");
    let state = tempfile::tempdir().unwrap();
    let sock = state.path().join("d.sock");
    let daemon = common::Daemon::spawn_on(state, sock, &["--config", &conf]);
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    let mut kept = Vec::new();
    let mut refused = None;
    for n in 0..10 {
        let (d, e) = ask(&mut c, &format!("f{n}")).await;
        let e = e.expect("an escalation frame, queued or failed");
        match e.state {
            EscalationState::Queued => kept.push(e.escalation.to_string()),
            EscalationState::Failed => {
                assert_eq!(d.route.as_str(), "human");
                assert!(codes(&d).contains(&"escalation_refused".to_string()));
                assert!(e.note.contains("full"), "{}", e.note);
                refused = Some(n);
                break;
            }
            other => panic!("unexpected state {other:?}"),
        }
    }
    assert!(refused.is_some(), "the outbox filled up");
    assert!(!kept.is_empty());
    drop(c);

    // Kill and restart on the same state directory.
    let daemon = daemon.restart(&["--config", &conf]);
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    for id in &kept {
        match c
            .call(&Request::Escalation { id: bounded(id) })
            .await
            .unwrap()
        {
            Response::Escalation(e) => assert_eq!(e.state, EscalationState::Queued),
            other => panic!("escalation {id} lost: {other:?}"),
        }
    }
    match c.call(&Request::Status).await.unwrap() {
        Response::Status(s) => assert_eq!(s.outbox_depth as usize, kept.len()),
        other => panic!("unexpected {other:?}"),
    }
}

/// An outbox file damaged beyond repair does not keep the daemon from
/// starting (a crash loop under systemd): it is moved aside, kept for the
/// operator, and a new outbox takes escalations. A sound file, checked in
/// a child process by `slmd outbox check` at every start, is kept whole.
#[tokio::test]
async fn a_damaged_outbox_is_set_aside_and_the_daemon_starts_with_a_new_one() {
    let state = tempfile::tempdir().unwrap();
    let sock = state.path().join("d.sock");
    let file = state.path().join("state").join("outbox.redb");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"a file damaged past repair\n".repeat(300)).unwrap();
    let daemon = common::Daemon::spawn_on(state, sock, &[]);
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    let (_, e) = ask(&mut c, "after-damage").await;
    let e = e.expect("an escalation frame");
    assert_eq!(e.state, EscalationState::Queued, "{}", e.note);
    let aside: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|d| {
            d.file_name()
                .to_string_lossy()
                .starts_with("outbox.redb.damaged-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file is kept once");
    assert!(std::fs::read(aside[0].path())
        .unwrap()
        .starts_with(b"a file damaged"));
    drop(c);
    // Restarted on the new file: the escalation is still there.
    let daemon = daemon.restart(&[]);
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    match c
        .call(&Request::Escalation {
            id: bounded(&e.escalation),
        })
        .await
        .unwrap()
    {
        Response::Escalation(got) => assert_eq!(got.state, EscalationState::Queued),
        other => panic!("escalation lost: {other:?}"),
    }
    // Checking a live file from outside: it is locked by the daemon.
    let out = common::slmd()
        .args(["outbox", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(slmd::outbox::EXIT_LOCKED));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already open"));
    drop(daemon);
}
