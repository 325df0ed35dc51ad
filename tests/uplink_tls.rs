//! The uplink over TLS: a real mosquitto with a TLS listener that asks for
//! client certificates, and certificates made by `openssl` for the test.
//! The daemon connects with its CA and client certificate and an escalation
//! goes through; with the wrong CA, or without a client certificate, it
//! never connects.

mod common;

use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use slmd::api::client::Client;
use slmd::escalation::{AnswerMsg, EscalateMsg};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a certificate signed by it for `name` with `ext` (an
/// openssl extension line), each with its own EC key, in `dir`.
fn ca(dir: &Path, ca: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={ca}"),
        ],
    );
}

fn signed(dir: &Path, ca: &str, name: &str, ext: &str) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    std::fs::write(dir.join(format!("{name}.ext")), format!("{ext}\n")).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
}

/// mosquitto with a plain listener (for the test's own central side) and a
/// TLS listener that requires a client certificate from the test CA;
/// returns it and the TLS port.
fn tls_broker(dir: &Path) -> (common::Mosquitto, u16) {
    // Started as root, mosquitto drops to its own user before it reads
    // the key: let that user read the test's throwaway files.
    use std::os::unix::fs::PermissionsExt;
    let readable = |p: &Path, mode| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    readable(dir, 0o755);
    for f in ["ca.pem", "server.pem", "server.key"] {
        readable(&dir.join(f), 0o644);
    }
    let tls = common::free_port();
    let p = |f: &str| dir.join(f).display().to_string();
    let extra = format!(
        "listener {tls} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
        p("ca.pem"),
        p("server.pem"),
        p("server.key"),
    );
    let mut broker = common::Mosquitto::with_extra(&extra, &[tls]);
    broker.start();
    (broker, tls)
}

/// A daemon config naming the CA and, when given, the client certificate.
fn config(dir: &Path, name: &str, ca: &str, client: Option<&str>) -> PathBuf {
    let p = |f: &str| dir.join(f).display().to_string();
    let mut toml = format!("[uplink]\nca_file = {:?}\n", p(&format!("{ca}.pem")));
    if let Some(c) = client {
        toml += &format!(
            "client_cert = {:?}\nclient_key = {:?}\n",
            p(&format!("{c}.pem")),
            p(&format!("{c}.key"))
        );
    }
    let path = dir.join(name);
    std::fs::write(&path, toml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uplink_speaks_tls_with_a_client_certificate_and_refuses_a_broker_it_cannot_trust() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    ca(dir, "ca");
    ca(dir, "other-ca");
    signed(
        dir,
        "ca",
        "server",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
    );
    signed(dir, "ca", "device", "extendedKeyUsage=clientAuth");
    let (broker, tls_port) = tls_broker(dir);
    let url = format!("mqtts://127.0.0.1:{tls_port}");

    // The central side, on the plain listener: answers each escalation.
    let mut o = MqttOptions::new("test-central-tls", "127.0.0.1", broker.port);
    o.set_keep_alive(Duration::from_secs(5));
    let (central, mut events) = AsyncClient::new(o, 16);
    central
        .subscribe("slmd/v1/+/escalate", QoS::AtLeastOnce)
        .await
        .unwrap();
    let (tx, mut seen) = tokio::sync::mpsc::channel::<EscalateMsg>(16);
    let answerer = central.clone();
    tokio::spawn(async move {
        while let Ok(ev) = events.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = ev {
                let Ok(msg) = serde_json::from_slice::<EscalateMsg>(&p.payload) else {
                    continue;
                };
                let answer = AnswerMsg {
                    v: 1,
                    id: msg.id.clone(),
                    answer: "Canberra.".into(),
                    category: None,
                    urgency: None,
                    sources: vec![],
                    model: "tls-llm".into(),
                    error: None,
                };
                let to = format!("slmd/v1/{}/answer", msg.device);
                let body = serde_json::to_vec(&answer).unwrap();
                let a = answerer.clone();
                tokio::spawn(async move { a.publish(to, QoS::AtLeastOnce, false, body).await });
                let _ = tx.send(msg).await;
            }
        }
    });

    // With the CA and its client certificate: connected, and an escalation
    // makes the round trip over TLS.
    let good = config(dir, "good.toml", "ca", Some("device"));
    let daemon = common::Daemon::spawn(&[
        "--config",
        good.to_str().unwrap(),
        "--broker",
        &url,
        "--device-id",
        "tls-1",
    ]);
    let t = Instant::now();
    while common::status(daemon.sock()).await.uplink.as_str() != "connected" {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no TLS session with the broker"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(60))
        .await
        .unwrap();
    let id = common::escalate(&mut c, "t1", "what is the capital of Australia").await;
    let got = tokio::time::timeout(Duration::from_secs(60), seen.recv())
        .await
        .expect("the escalation crossed the TLS session")
        .unwrap();
    assert_eq!(
        (got.id.as_str(), got.device.as_str()),
        (id.as_str(), "tls-1")
    );
    let e = common::wait_for_escalation(
        daemon.sock(),
        &id,
        slmd::api::proto::EscalationState::Answered,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(e.model.as_str(), "tls-llm");
    drop(c);
    drop(daemon);

    // A broker certificate from a CA the device does not trust, and a
    // device without a client certificate: neither ever connects, and both
    // keep serving queries locally.
    let wrong_ca = config(dir, "wrong-ca.toml", "other-ca", Some("device"));
    let no_cert = config(dir, "no-cert.toml", "ca", None);
    for (cfg, device) in [(wrong_ca, "tls-2"), (no_cert, "tls-3")] {
        let daemon = common::Daemon::spawn(&[
            "--config",
            cfg.to_str().unwrap(),
            "--broker",
            &url,
            "--device-id",
            device,
        ]);
        // Several connection attempts (back-off starts at half a second).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let s = common::status(daemon.sock()).await;
        assert_ne!(s.uplink.as_str(), "connected", "{device} connected");
        let mut c = Client::connect(daemon.sock(), "test", Duration::from_secs(60))
            .await
            .unwrap();
        c.query("t2", "what is the capital of Australia", false)
            .await
            .unwrap();
        let e = c.last_escalation().expect("kept in the outbox");
        assert_eq!(e.state, slmd::api::proto::EscalationState::Queued);
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(500), seen.recv())
            .await
            .is_err(),
        "nothing crossed without a trusted TLS session"
    );
}
