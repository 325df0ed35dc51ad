//! The real `slmd` binary: `serve` on a temp socket, `ask`, `triage` over
//! the socket and in-process, `config`, and a clean stop on SIGTERM.

mod common;

use common::{slmd, Daemon};
use std::io::Write;
use std::process::{Command, Stdio};

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run slmd");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn triage_lines(args: &[&str], input: &str) -> Vec<serde_json::Value> {
    let mut child = slmd()
        .arg("triage")
        .arg("--jsonl")
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const INPUT: &str = concat!(
    "{\"id\": \"a\", \"text\": \"P-101 vibration high after bearing swap\"}\n",
    "not json at all\n",
    "{\"id\": 7, \"text\": \"smell of gas near the boiler, everyone is calm\"}\n",
    "{\"id\": \"c\", \"text\": \"cellular router at the pump station offline since last night\"}\n",
);

#[test]
fn serve_ask_triage_and_stop() {
    let d = Daemon::spawn(&[]);
    let sock = d.sock().to_str().unwrap().to_string();

    // Readable answer citing a procedure.
    let text = run_ok(slmd().args([
        "ask",
        "--socket",
        &sock,
        "P-101 vibration high after bearing swap",
    ]));
    assert!(text.contains("route: local"), "{text}");
    assert!(
        text.contains("sources:") && text.contains("PUMP-001"),
        "{text}"
    );

    // JSON with the documented keys.
    let json = run_ok(slmd().args([
        "ask",
        "--socket",
        &sock,
        "--json",
        "VFD-12 tripped on overcurrent F0001",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for key in [
        "id",
        "category",
        "urgency",
        "route",
        "confidence",
        "answer",
        "sources",
        "fields",
        "reasons",
        "latency_us",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {json}");
    }
    assert_eq!(v["category"], "electrical");

    // Socket and in-process triage agree line by line; a bad line gets an error object.
    let via_socket = triage_lines(&["--socket", &sock], INPUT);
    let in_process = triage_lines(&["--in-process"], INPUT);
    assert_eq!(via_socket.len(), 4);
    assert_eq!(via_socket[1]["error"]["code"], "malformed");
    assert_eq!(via_socket[2]["id"], 7);
    assert_eq!(via_socket[2]["urgency"], "critical");
    assert_eq!(via_socket[2]["route"], "human");
    assert_eq!(via_socket[3]["category"], "network");
    for (s, p) in via_socket.iter().zip(&in_process) {
        for key in ["id", "category", "urgency", "route", "sources", "error"] {
            assert_eq!(s.get(key), p.get(key), "{key}: {s} vs {p}");
        }
    }

    // SIGTERM: graceful exit, socket removed.
    let mut d = d;
    let pid = d.child.id().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    let status = d.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!d.sock.exists(), "socket file left behind");
}

#[test]
fn ask_without_a_daemon_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("none.sock");
    let out = slmd()
        .args(["ask", "--socket"])
        .arg(&sock)
        .arg("hello")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("slmd serve"), "{err}");
}

#[test]
fn serve_refuses_an_index_built_by_another_model() {
    let dir = tempfile::tempdir().unwrap();
    // Another model: the same graph plus an unknown protobuf field, so the
    // bytes (and hash) differ while the file still loads.
    let model = dir.path().join("other-model");
    std::fs::create_dir(&model).unwrap();
    common::copy_model(&model);
    let mut bytes = std::fs::read(model.join("model.onnx")).unwrap();
    bytes.extend_from_slice(&[0xa0, 0x06, 0x01]); // field 100, varint 1
    common::replace_model(&model, &bytes);

    // Two procedures are enough for a real index (and quick under emulation).
    let kb = dir.path().join("kb");
    std::fs::create_dir(&kb).unwrap();
    for f in ["pump-001.md", "haz-001.md"] {
        std::fs::copy(common::root().join("kb/procedures").join(f), kb.join(f)).unwrap();
    }
    let other_index = dir.path().join("other.slmkb");
    run_ok(
        slmd()
            .args(["kb", "build", "--model-dir"])
            .arg(&model)
            .arg("--kb-dir")
            .arg(&kb)
            .arg("--out")
            .arg(&other_index),
    );

    let out = slmd()
        .args(["serve", "--socket"])
        .arg(dir.path().join("s.sock"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .arg("--kb-index")
        .arg(&other_index)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("other.slmkb") && err.contains("slmd kb build"),
        "{err}"
    );
}

#[test]
fn config_default_prints_valid_documented_toml() {
    let text = run_ok(slmd().args(["config", "--default"]));
    assert!(text.contains("[engine]") && text.contains("# "));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, &text).unwrap();
    run_ok(slmd().args(["config", "--check"]).arg(&path));
    std::fs::write(&path, "[engine]\nthreads = 0\n").unwrap();
    let out = slmd()
        .args(["config", "--check"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("engine.threads"));
}

#[test]
fn eval_reports_the_metrics_on_a_labelled_file() {
    let file = common::root().join("tests/fixtures/eval_small.jsonl");
    let out = run_ok(slmd().arg("eval").arg(&file).arg("--json"));
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["items"], 6);
    assert_eq!(r["critical_items"], 1);
    assert_eq!(r["critical_recall"], 1.0, "{r}");
    assert_eq!(r["schema_validity"], 1.0, "{r}");
    assert_eq!(r["out_of_scope_local"], 0, "{r}");
    for key in [
        "task_success",
        "local_coverage",
        "escalation_rate",
        "human_rate",
        "grounded_rate",
        "ece",
    ] {
        let v = r[key].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert!(r["category"]["macro_f1"].as_f64().unwrap() > 0.0);
    assert!(r["p95_ms"].as_f64().unwrap() >= r["p50_ms"].as_f64().unwrap());
    assert_eq!(r["risk_coverage"].as_array().unwrap().len(), 10);
    // The text form carries the same figures.
    let text = run_ok(slmd().arg("eval").arg(&file));
    assert!(text.contains("critical recall"), "{text}");
    assert!(text.contains("risk-coverage"), "{text}");
}

#[test]
fn eval_tune_proposes_a_safe_setting_that_plain_eval_reproduces() {
    let file = common::root().join("tests/fixtures/eval_small.jsonl");
    let out = run_ok(slmd().arg("eval").arg(&file).args(["--tune", "--json"]));
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["items"], 6);
    assert_eq!(r["settings_tried"], 468);
    assert_eq!(r["grid"].as_array().unwrap().len(), 468);
    let c = &r["chosen"];
    assert_eq!(c["critical_recall"], 1.0, "{c}");
    assert_eq!(c["out_of_scope_local"], 0, "{c}");
    // Without --per-category, one threshold serves every category.
    let thr = c["category_thresholds"].as_array().unwrap();
    assert_eq!(thr.len(), 7);
    assert!(thr.iter().all(|t| t == &c["local_threshold"]), "{c}");

    // --per-category refines from the same grid choice and stays as safe.
    let refined =
        run_ok(
            slmd()
                .arg("eval")
                .arg(&file)
                .args(["--tune", "--json", "--per-category"]),
        );
    let rr: serde_json::Value = serde_json::from_str(&refined).unwrap();
    let rc = &rr["chosen"];
    assert_eq!(rc["critical_recall"], 1.0, "{rc}");
    assert_eq!(rc["out_of_scope_local"], 0, "{rc}");
    for key in ["retrieval_weight", "in_scope_min", "local_threshold"] {
        assert_eq!(rc[key], c[key], "{key}: {rc} vs {c}");
    }
    assert!(
        rc["local_coverage"].as_f64().unwrap() >= c["local_coverage"].as_f64().unwrap() - 1e-9
            || rc["local_category_accuracy"].as_f64().unwrap()
                >= c["local_category_accuracy"].as_f64().unwrap(),
        "the refinement only keeps changes the tuner prefers: {rc} vs {c}"
    );

    // The tuner scores every threshold from one pass; the daemon's own
    // pipeline, configured with the chosen setting, must agree with it.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tuned.toml");
    std::fs::write(
        &cfg,
        format!(
            "[triage]\nretrieval_weight = {}\n\n[policy]\nlocal_threshold = {}\nin_scope_min = {}\n",
            c["retrieval_weight"], c["local_threshold"], c["in_scope_min"]
        ),
    )
    .unwrap();
    let plain = run_ok(
        slmd()
            .arg("eval")
            .arg(&file)
            .arg("--json")
            .arg("--config")
            .arg(&cfg),
    );
    let e: serde_json::Value = serde_json::from_str(&plain).unwrap();
    for key in [
        "local_coverage",
        "local_category_accuracy",
        "out_of_scope_local",
        "task_success",
    ] {
        assert_eq!(e[key], c[key], "{key}: eval {e} vs tune {c}");
    }

    let bad = slmd()
        .arg("eval")
        .arg(&file)
        .args(["--tune", "--target-accuracy", "1.5"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--target-accuracy must lie in [0, 1]"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn eval_names_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"text\":\"x\",\"category\":\"mechanical\",\"urgency\":\"low\",\"in_scope\":true,\"expect_route\":\"local\"}\n\
         {\"text\":\"y\",\"category\":\"plumbing\"}\n",
    )
    .unwrap();
    let out = slmd().arg("eval").arg(&file).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.jsonl:2"), "{err}");
}

#[test]
fn outbox_check_tells_sound_from_damaged_by_its_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("outbox.redb");
    {
        let ob = slmd::outbox::Outbox::open(&file, Default::default()).unwrap();
        ob.enqueue(&slmd::outbox::Escalation {
            id: "x1".into(),
            created_ms: 1,
            deadline_ms: u64::MAX,
            priority: 1,
            payload: b"{}".to_vec(),
            local: Vec::new(),
        })
        .unwrap();
    }
    let check = |extra: &[&str]| {
        let out = slmd()
            .args(["outbox", "check"])
            .args(extra)
            .arg(&file)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, _) = check(&[]);
    assert_eq!(code, Some(slmd::outbox::EXIT_SOUND));
    assert!(stdout.contains("sound"), "{stdout}");
    assert_eq!(check(&["--no-verify"]).0, Some(slmd::outbox::EXIT_SOUND));
    std::fs::write(&file, b"garbage ".repeat(100)).unwrap();
    let (code, _, stderr) = check(&[]);
    assert_eq!(code, Some(slmd::outbox::EXIT_DAMAGED));
    assert!(stderr.contains(&*file.to_string_lossy()), "{stderr}");
    std::fs::remove_file(&file).unwrap();
    let (code, _, stderr) = check(&[]);
    assert_eq!(code, Some(slmd::outbox::EXIT_DAMAGED));
    assert!(stderr.contains("missing"), "{stderr}");
}
