//! The uplink against a real mosquitto broker started by the test: the
//! daemon keeps escalations while the broker is down, publishes each
//! once it is up (redacted), retires them on PUBACK, and delivers the
//! central answer, with the redacted values put back, to a client that
//! fetches it by id. Status and commands travel on their topics.

mod common;

use common::Mosquitto;

use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use slmd::api::client::Client;
use slmd::api::proto::{EscalationState, Request, Response};
use slmd::escalation::{AnswerMsg, EscalateMsg};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A stand-in for the central side: records every escalation it receives
/// and answers each id once, echoing the placeholders it was sent.
struct Central {
    seen: Arc<Mutex<Vec<EscalateMsg>>>,
    status: Arc<Mutex<Vec<serde_json::Value>>>,
    replies: Arc<Mutex<Vec<serde_json::Value>>>,
    client: AsyncClient,
    /// While false, escalations are recorded and not answered.
    answering: Arc<std::sync::atomic::AtomicBool>,
}

impl Central {
    async fn start(port: u16) -> Central {
        let mut o = MqttOptions::new("test-central", "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(5));
        let (client, mut events) = AsyncClient::new(o, 64);
        let seen = Arc::new(Mutex::new(Vec::<EscalateMsg>::new()));
        let status = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, Vec<u8>)>(64);
        let (s2, st2, r2) = (seen.clone(), status.clone(), replies.clone());
        let answering = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let answering2 = answering.clone();
        tokio::spawn(async move {
            while let Ok(ev) = events.poll().await {
                let Event::Incoming(Packet::Publish(p)) = ev else {
                    continue;
                };
                let topic = String::from_utf8_lossy(&p.topic).to_string();
                if topic.ends_with("/escalate") {
                    let msg: EscalateMsg = serde_json::from_slice(&p.payload).unwrap();
                    s2.lock().unwrap().push(msg.clone());
                    // Like a gateway, a repeated request gets the same answer again.
                    if answering2.load(std::sync::atomic::Ordering::SeqCst) {
                        let answer = AnswerMsg {
                            v: 1,
                            id: msg.id.clone(),
                            answer: format!("Central: about {}", msg.text),
                            category: Some("network".into()),
                            urgency: Some("high".into()),
                            sources: vec!["NET-002".into()],
                            model: "test-llm".into(),
                            error: None,
                        };
                        let to = format!("slmd/v1/{}/answer", msg.device);
                        let _ = tx.send((to, serde_json::to_vec(&answer).unwrap())).await;
                    }
                } else if topic.ends_with("/status") {
                    st2.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&p.payload).unwrap());
                } else if topic.ends_with("/cmd/reply") {
                    r2.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&p.payload).unwrap());
                }
            }
        });
        let publisher = client.clone();
        tokio::spawn(async move {
            while let Some((topic, body)) = rx.recv().await {
                let _ = publisher
                    .publish(topic, QoS::AtLeastOnce, false, body)
                    .await;
            }
        });
        client
            .subscribe("slmd/v1/+/escalate", QoS::AtLeastOnce)
            .await
            .unwrap();
        client
            .subscribe("slmd/v1/+/status", QoS::AtLeastOnce)
            .await
            .unwrap();
        client
            .subscribe("slmd/v1/+/cmd/reply", QoS::AtLeastOnce)
            .await
            .unwrap();
        Central {
            seen,
            status,
            replies,
            client,
            answering,
        }
    }

    /// The ids of every escalation received, repeats included.
    fn seen_ids(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.id.clone())
            .collect()
    }
}

async fn until<F: FnMut() -> bool>(what: &str, limit: Duration, mut f: F) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalations_wait_offline_then_reach_the_central_side_once_redacted_and_come_back_answered()
{
    let mut broker = Mosquitto::new();
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = conf_dir.path().join("slmd.toml");
    std::fs::write(&conf, "[redact]\nnames = [\"Jo Bloggs\"]\n").unwrap();
    let daemon = common::Daemon::spawn(&[
        "--broker",
        &broker.url(),
        "--device-id",
        "pump-house-7",
        "--config",
        conf.to_str().unwrap(),
    ]);

    // Broker down: escalations are accepted (durable) and kept.
    let mut ids = Vec::new();
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    for n in 0..3 {
        // Out of scope for the knowledge base, so always escalated.
        let text = format!(
            "what is the capital of Australia, asks site {n}; ring Jo Bloggs on +44 7700 900{n:03} or jo{n}@example.com"
        );
        match c.query(&format!("q{n}"), &text, false).await.unwrap() {
            Response::Decision(d) => assert_ne!(d.route.as_str(), "local", "{d:?}"),
            other => panic!("unexpected {other:?}"),
        }
        let e = c
            .last_escalation()
            .expect("escalation frame before the decision");
        assert_eq!(e.state, EscalationState::Queued);
        ids.push(e.escalation.to_string());
    }
    let s = common::status(daemon.sock()).await;
    assert_eq!(s.outbox_depth, 3);
    assert_eq!(s.uplink.as_str(), "connecting");

    // Broker up: each escalation arrives, redacted, and is answered.
    broker.start();
    let central = Central::start(broker.port).await;
    let seen = central.seen.clone();
    until("three escalations", Duration::from_secs(60), || {
        seen.lock().unwrap().len() >= 3
    })
    .await;
    for id in &ids {
        let e = common::wait_for_escalation(
            daemon.sock(),
            id,
            EscalationState::Answered,
            Duration::from_secs(60),
        )
        .await;
        let answer = e.answer.expect("central answer").to_string();
        assert!(
            answer.starts_with("Central: about what is the capital"),
            "{answer}"
        );
        assert!(
            answer.contains("@example.com")
                && answer.contains("+44 7700 900")
                && answer.contains("Jo Bloggs"),
            "originals put back: {answer}"
        );
        assert_eq!(e.model.as_str(), "test-llm");
        assert!(e.note.contains("urgency is high"), "{}", e.note);
    }
    let got = seen.lock().unwrap().clone();
    let mut unique: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "every escalation arrived");
    assert_eq!(got.len(), 3, "each published once: {got:?}");
    for m in &got {
        assert_eq!(m.device, "pump-house-7");
        for secret in ["@example.com", "7700 900", "Jo Bloggs"] {
            assert!(
                !m.text.contains(secret),
                "{secret:?} left the device: {}",
                m.text
            );
        }
    }
    let s = common::status(daemon.sock()).await;
    assert_eq!(s.outbox_depth, 0);
    assert_eq!(s.uplink.as_str(), "connected");

    // Retained status says online; a command gets its reply.
    let status = central.status.clone();
    until("online status", Duration::from_secs(10), || {
        status.lock().unwrap().iter().any(|s| s["online"] == true)
    })
    .await;
    central
        .client
        .publish(
            "slmd/v1/pump-house-7/cmd",
            QoS::AtLeastOnce,
            false,
            r#"{"cmd":"ping","id":42}"#,
        )
        .await
        .unwrap();
    let replies = central.replies.clone();
    until("ping reply", Duration::from_secs(10), || {
        replies
            .lock()
            .unwrap()
            .iter()
            .any(|r| r["id"] == 42 && r["ok"] == true)
    })
    .await;

    // The daemon killed: the broker publishes its Last Will.
    drop(daemon);
    until(
        "offline status from the Last Will",
        Duration::from_secs(30),
        || {
            status
                .lock()
                .unwrap()
                .last()
                .is_some_and(|s| s["online"] == false)
        },
    )
    .await;
}

/// Runs `slmd fleet --broker URL ARGS…`, off the test's runtime threads.
async fn fleet(broker: &Mosquitto, args: &[&str]) -> std::process::Output {
    let mut cmd = common::slmd();
    cmd.args(["fleet", "--broker", &broker.url()])
        .args(args)
        .env("RUST_LOG", "warn");
    tokio::task::spawn_blocking(move || cmd.output().expect("run slmd fleet"))
        .await
        .unwrap()
}

/// The fleet table, and its row for `device` (empty when it has none).
async fn fleet_row(broker: &Mosquitto, device: &str, wait_s: &str) -> (String, String) {
    let out = fleet(broker, &["status", "--wait-s", wait_s]).await;
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let row = table
        .lines()
        .find(|l| l.starts_with(device))
        .unwrap_or_default()
        .to_string();
    (table, row)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_change_thresholds_over_mqtt_and_see_devices_in_the_fleet_table() {
    let mut broker = Mosquitto::new();
    broker.start();
    let daemon = common::Daemon::spawn(&["--broker", &broker.url(), "--device-id", "rtu-yard-2"]);
    let gas = "smell of gas in the boiler room";
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    // Wait for the session: the first critical query is escalated as well.
    until_connected(&mut c).await;
    c.query("g1", gas, false).await.unwrap();
    assert!(
        c.last_escalation().is_some(),
        "critical cases are escalated"
    );

    let out = fleet(
        &broker,
        &[
            "config",
            "set",
            "rtu-yard-2",
            "policy.escalate_critical=false",
        ],
    )
    .await;
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("rtu-yard-2 applied version"), "{said}");
    match c.query("g2", gas, false).await.unwrap() {
        Response::Decision(d) => assert_eq!(d.route.as_str(), "human"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(c.last_escalation().is_none(), "the new setting is in force");

    // A key that cannot change at runtime is refused, and nothing changes.
    let out = fleet(
        &broker,
        &["config", "set", "rtu-yard-2", "paths.socket=/tmp/x"],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be changed at runtime"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (table, row) = fleet_row(&broker, "rtu-yard-2", "2").await;
    assert!(!row.is_empty(), "no row for the device:\n{table}");
    assert!(
        row.contains("online") && row.contains("triage-student-int8"),
        "{row}"
    );
    assert!(!row.contains(" 0 "), "config version reported: {row}");

    // Redaction rules and the escalation budget change at runtime too.
    let central = Central::start(broker.port).await;
    let out = fleet(
        &broker,
        &[
            "config",
            "set",
            "rtu-yard-2",
            r#"redact.names=["Ann Example"]"#,
            "escalation.max_per_hour=2",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(60))
        .await
        .unwrap();
    let id = common::escalate(
        &mut c,
        "n1",
        "what is the capital of Australia, asks Ann Example",
    )
    .await;
    common::each_answered_and_seen(daemon.sock(), std::slice::from_ref(&id), || {
        central.seen_ids()
    })
    .await;
    let text = central
        .seen
        .lock()
        .unwrap()
        .iter()
        .find(|m| m.id == id)
        .map(|m| m.text.clone())
        .unwrap();
    assert!(
        !text.contains("Ann Example"),
        "the new name left the device: {text}"
    );
    // Two escalations this hour (the first gas report and this one): the
    // budget of two is spent, so the next one goes to a person.
    match c
        .query("n2", "what is the capital of Peru", false)
        .await
        .unwrap()
    {
        Response::Decision(d) => assert_eq!(d.route.as_str(), "human", "{d:?}"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(c.last_escalation().is_none(), "over budget: not escalated");
    drop(c);

    // Applied changes are kept on the device: restarted without a broker,
    // critical cases still go to a person only.
    let daemon = daemon.restart(&["--device-id", "rtu-yard-2"]);
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    match c.query("g3", gas, false).await.unwrap() {
        Response::Decision(d) => assert_eq!(d.route.as_str(), "human"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        c.last_escalation().is_none(),
        "the remote setting survived the restart"
    );

    // The first daemon was killed: its Last Will makes it offline in the
    // fleet table (the new one has no broker).
    let t = Instant::now();
    loop {
        let (table, row) = fleet_row(&broker, "rtu-yard-2", "1").await;
        if row.contains("offline") {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "not offline after the Last Will:\n{table}"
        );
    }
}

async fn until_connected(c: &mut Client) {
    let t = Instant::now();
    loop {
        if let Ok(Response::Status(s)) = c.call(&Request::Status).await {
            if s.uplink.as_str() == "connected" {
                return;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "uplink never connected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A cheap, seeded pseudo-random sequence (xorshift), so a failing run can
/// be repeated with the seed it prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sigkills_while_escalations_flow_lose_nothing_and_answer_each_once() {
    // SLMD_TEST_KILLS sets another count (fewer under an emulator).
    let kills: usize = std::env::var("SLMD_TEST_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut broker = Mosquitto::new();
    broker.start();
    let central = Central::start(broker.port).await;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill schedule seed {seed}");
    let mut rng = Rng(seed);
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = conf_dir.path().join("slmd.toml");
    std::fs::write(&conf, "[escalation]\nanswer_timeout_s = 3\n").unwrap();
    let conf = conf.to_str().unwrap().to_string();
    let args = [
        "--broker",
        &broker.url(),
        "--device-id",
        "crash-9",
        "--config",
        &conf,
    ];
    let mut daemon = common::Daemon::spawn(&args);
    let mut accepted: Vec<String> = Vec::new();
    let mut n = 0usize;
    for round in 0..kills {
        // A burst of escalating queries on two connections; the daemon is
        // killed at a random moment while they are decided, stored,
        // published and acknowledged, or (every third round, with a longer
        // window) while their central answers arrive and are stored.
        let sock = daemon.sock().to_path_buf();
        let mut burst = Vec::new();
        for conn in 0..2 {
            let sock = sock.clone();
            let first = n + conn * 2;
            burst.push(tokio::spawn(async move {
                let mut got = Vec::new();
                let Ok(mut c) = Client::connect(&sock, "crash", Duration::from_secs(30)).await
                else {
                    return got;
                };
                for k in first..first + 2 {
                    let text = format!("what is the capital of Australia, ticket {k}");
                    match c.query(&format!("c{k}"), &text, false).await {
                        Ok(Response::Decision(_)) => {
                            if let Some(e) = c.last_escalation() {
                                if e.state == EscalationState::Queued {
                                    got.push(e.escalation.to_string());
                                }
                            }
                        }
                        _ => break,
                    }
                }
                got
            }));
        }
        n += 4;
        // Under an emulator a query takes about a second, so the window is wider.
        let span = if common::runner().is_some() {
            4000
        } else {
            400
        } * if round % 3 == 2 { 4 } else { 1 };
        tokio::time::sleep(Duration::from_millis(rng.next(span))).await;
        daemon = daemon.restart(&args);
        for b in burst {
            accepted.extend(b.await.unwrap());
        }
        if round % 50 == 49 {
            eprintln!(
                "after {} kills: {} escalations accepted",
                round + 1,
                accepted.len()
            );
        }
    }
    assert!(
        accepted.len() >= 10,
        "too few escalations were accepted to mean anything: {}",
        accepted.len()
    );
    // The last daemon runs to the end: every accepted escalation is
    // answered, and the central side saw each id (duplicates are allowed on
    // the wire; the device keeps one answer per id).
    common::each_answered_and_seen(daemon.sock(), &accepted, || central.seen_ids()).await;
    let mut ids: Vec<&str> = accepted.iter().map(String::as_str).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), accepted.len(), "escalation ids are unique");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restarted_without_persistence_gets_every_unretired_record_again() {
    let mut broker = Mosquitto::new();
    broker.start();
    let daemon = common::Daemon::spawn(&["--broker", &broker.url(), "--device-id", "lost-1"]);
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    until_connected(&mut c).await;
    // Nobody consumes escalations yet: the broker acknowledges each with
    // "no matching subscribers", so they stay unretired.
    let mut ids = Vec::new();
    for n in 0..3 {
        let text = format!("what is the capital of Australia, question {n}");
        ids.push(common::escalate(&mut c, &format!("s{n}"), &text).await);
    }
    // The broker restarts with no memory of the session.
    broker.stop();
    broker.start();
    let central = Central::start(broker.port).await;
    common::each_answered_and_seen(daemon.sock(), &ids, || central.seen_ids()).await;
    let s = common::status(daemon.sock()).await;
    assert_eq!(s.outbox_depth, 0);
    assert_eq!(s.uplink.as_str(), "connected", "reconnected by itself");
}

/// A TCP relay between the daemon and the broker. While `hold` is set it
/// passes the daemon's packets on and swallows everything the broker sends
/// back, PUBACKs included: a publish reaches the broker and is never
/// acknowledged to the daemon.
async fn relay(broker_port: u16, hold: Arc<std::sync::atomic::AtomicBool>) -> u16 {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((down, _)) = listener.accept().await {
            let Ok(up) = tokio::net::TcpStream::connect(("127.0.0.1", broker_port)).await else {
                continue;
            };
            let (mut dr, mut dw) = down.into_split();
            let (mut ur, mut uw) = up.into_split();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                while let Ok(n @ 1..) = dr.read(&mut buf).await {
                    if uw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
            let hold = hold.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                while let Ok(n @ 1..) = ur.read(&mut buf).await {
                    if hold.load(Ordering::SeqCst) {
                        continue;
                    }
                    if dw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_between_publish_and_puback_publishes_again_and_is_answered_once() {
    use std::sync::atomic::Ordering;
    let mut broker = Mosquitto::new();
    broker.start();
    let central = Central::start(broker.port).await;
    let hold = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let relay_port = relay(broker.port, hold.clone()).await;
    let via_relay = format!("mqtt://127.0.0.1:{relay_port}");
    let daemon = common::Daemon::spawn(&["--broker", &via_relay, "--device-id", "puback-1"]);
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    until_connected(&mut c).await;

    // From here the broker's replies, the PUBACK among them, never arrive;
    // the central side holds its answer until the daemon is back.
    central.answering.store(false, Ordering::SeqCst);
    hold.store(true, Ordering::SeqCst);
    let id = common::escalate(&mut c, "k1", "what is the capital of Australia").await;
    until(
        "the publish reaches the broker",
        Duration::from_secs(60),
        || central.seen.lock().unwrap().iter().any(|m| m.id == id),
    )
    .await;
    drop(c);
    // Killed after the broker took the publish, before its PUBACK arrived;
    // the central side answers again only once that daemon is gone.
    let mut daemon = daemon;
    let _ = daemon.child.kill();
    let _ = daemon.child.wait();
    central.answering.store(true, Ordering::SeqCst);
    let daemon = daemon.restart(&["--broker", &broker.url(), "--device-id", "puback-1"]);
    let times = common::each_answered_and_seen(daemon.sock(), std::slice::from_ref(&id), || {
        central.seen_ids()
    })
    .await;
    assert!(
        times[0] >= 2,
        "the unacknowledged record was not published again"
    );
    let s = common::status(daemon.sock()).await;
    assert_eq!(s.outbox_depth, 0, "retired once acknowledged");
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(60))
        .await
        .unwrap();
    // The answer, sent twice by the central side, is one answer on the device.
    match c
        .call(&Request::Escalation {
            id: heapless::String::try_from(id.as_str()).unwrap(),
        })
        .await
        .unwrap()
    {
        Response::Escalation(e) => {
            assert_eq!(e.state, EscalationState::Answered);
            let answer = e.answer.as_deref().unwrap_or_default();
            assert_eq!(answer.matches("Central: about").count(), 1, "{answer}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Waits for the device's birth message: it is published after the
/// device's subscriptions, so from then on its topics are live.
async fn until_subscribed(central: &Central, device: &str) {
    let status = central.status.clone();
    let device = device.to_string();
    until(
        "the device's birth message",
        Duration::from_secs(60),
        || {
            status
                .lock()
                .unwrap()
                .iter()
                .any(|s| s["device"] == device.as_str() && s["online"] == true)
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_reload_the_knowledge_base_and_a_bad_index_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A smaller index, built by the real `slmd kb build` from three procedures.
    let subset = dir.path().join("procedures");
    std::fs::create_dir(&subset).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(common::root().join("kb/procedures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    names.sort();
    for p in names.iter().take(3) {
        std::fs::copy(p, subset.join(p.file_name().unwrap())).unwrap();
    }
    let small = dir.path().join("small.slmkb");
    let out = common::slmd()
        .args(["kb", "build", "--kb-dir"])
        .arg(&subset)
        .arg("--out")
        .arg(&small)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let live = dir.path().join("live.slmkb");
    std::fs::copy(common::kb_index(), &live).unwrap();

    let mut broker = Mosquitto::new();
    broker.start();
    let central = Central::start(broker.port).await;
    let daemon = common::Daemon::spawn(&[
        "--broker",
        &broker.url(),
        "--device-id",
        "reload-1",
        "--kb-index",
        live.to_str().unwrap(),
    ]);
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    until_connected(&mut c).await;
    until_subscribed(&central, "reload-1").await;
    let full = common::status(daemon.sock()).await.kb_procedures;
    assert!(full > 3);

    let cmd = |id: u32| {
        let client = central.client.clone();
        async move {
            client
                .publish(
                    "slmd/v1/reload-1/cmd",
                    QoS::AtLeastOnce,
                    false,
                    format!(r#"{{"cmd":"reload","id":{id}}}"#),
                )
                .await
                .unwrap();
        }
    };
    let reply = |id: u32| {
        let replies = central.replies.clone();
        async move {
            until("reload reply", Duration::from_secs(30), || {
                replies.lock().unwrap().iter().any(|r| r["id"] == id)
            })
            .await;
            let r = replies.lock().unwrap();
            r.iter().find(|r| r["id"] == id).unwrap().clone()
        }
    };

    // A new index in place: reloaded, and served from at once.
    std::fs::copy(&small, &live).unwrap();
    cmd(1).await;
    let r = reply(1).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["procedures"], 3, "{r}");
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(common::status(daemon.sock()).await.kb_procedures, 3);

    // A damaged index: refused with the reason, the one in use kept.
    std::fs::write(&live, b"not an index at all").unwrap();
    cmd(2).await;
    let r = reply(2).await;
    assert_eq!(r["ok"], false, "{r}");
    assert!(!r["error"].as_str().unwrap_or_default().is_empty(), "{r}");
    assert_eq!(common::status(daemon.sock()).await.kb_procedures, 3);
    match c
        .query("r1", "breaker trips when the compressor starts", true)
        .await
        .unwrap()
    {
        Response::Decision(d) => assert_eq!(d.id.as_str(), "r1"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_on_answer_cmd_and_config_are_counted_and_ignored() {
    let mut broker = Mosquitto::new();
    broker.start();
    let central = Central::start(broker.port).await;
    let daemon = common::Daemon::spawn(&["--broker", &broker.url(), "--device-id", "hostile-1"]);
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(120))
        .await
        .unwrap();
    until_connected(&mut c).await;
    until_subscribed(&central, "hostile-1").await;

    let big = format!("{{\"v\":1,\"id\":\"{}\"}}", "x".repeat(200 * 1024));
    let huge = vec![b'{'; 2 * 1024 * 1024];
    let counted: Vec<(&str, Vec<u8>)> = vec![
        ("answer", b"not json".to_vec()),
        ("answer", br#"{"v":1,"id":5,"answer":["a"]}"#.to_vec()),
        ("answer", vec![0xff, 0xfe, 0x00, 0x80]),
        ("answer", big.clone().into_bytes()),
        // Well formed, but for an escalation this device never made.
        (
            "answer",
            br#"{"v":1,"id":"hostile-1-999","answer":"ok","model":"m"}"#.to_vec(),
        ),
        ("cmd", b"{{{".to_vec()),
        ("cmd", br#"{"cmd":42}"#.to_vec()),
        ("cmd", br#"{"cmd":"format-disk","id":1}"#.to_vec()),
        ("cmd", big.clone().into_bytes()),
        ("config", b"nope".to_vec()),
        ("config", br#"{"version":"x","set":{}}"#.to_vec()),
        (
            "config",
            br#"{"version":7,"set":{"policy.local_threshold":"high"}}"#.to_vec(),
        ),
        ("config", big.clone().into_bytes()),
    ];
    for (topic, payload) in &counted {
        central
            .client
            .publish(
                format!("slmd/v1/hostile-1/{topic}"),
                QoS::AtLeastOnce,
                false,
                payload.clone(),
            )
            .await
            .unwrap();
    }
    // Past the packet size the daemon announced: the broker drops it.
    central
        .client
        .publish("slmd/v1/hostile-1/answer", QoS::AtLeastOnce, false, huge)
        .await
        .unwrap();

    // Still serving, still the same session, each bad message counted once.
    let replies = central.replies.clone();
    let mut telemetry = serde_json::Value::Null;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        central
            .client
            .publish(
                "slmd/v1/hostile-1/cmd",
                QoS::AtLeastOnce,
                false,
                r#"{"cmd":"status","id":99}"#,
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = replies.lock().unwrap();
        if let Some(r) = r.iter().rev().find(|r| r["id"] == 99) {
            telemetry = r["telemetry"].clone();
            if telemetry["rejected_messages"] == counted.len() as u64 {
                break;
            }
        }
    }
    assert_eq!(
        telemetry["rejected_messages"],
        counted.len() as u64,
        "{telemetry}"
    );
    assert_eq!(
        telemetry["uplink_connects"], 1,
        "the session was dropped: {telemetry}"
    );
    match c
        .query("h1", "breaker trips when the compressor starts", true)
        .await
        .unwrap()
    {
        Response::Decision(d) => assert_eq!(d.id.as_str(), "h1"),
        other => panic!("unexpected {other:?}"),
    }
    // The refused configuration changed nothing.
    let status = central.status.lock().unwrap().clone();
    assert!(
        status
            .iter()
            .filter(|s| s["device"] == "hostile-1")
            .all(|s| s["config_version"].as_u64().unwrap_or(0) == 0),
        "{status:?}"
    );
}
