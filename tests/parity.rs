//! The same decisions on every target: `slmd triage --jsonl --in-process`
//! over a committed set of queries must give the category, urgency and
//! route recorded in `tests/fixtures/parity.jsonl`. CI runs this suite on
//! x86_64 and under qemu-aarch64, so a target whose arithmetic moves a
//! decision fails here.

mod common;

use std::io::Write;
use std::process::Stdio;

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    text: String,
    category: String,
    urgency: String,
    route: String,
}

#[test]
fn triage_in_process_gives_the_recorded_decisions() {
    let fixture = common::root().join("tests/fixtures/parity.jsonl");
    let cases: Vec<Case> = std::fs::read_to_string(&fixture)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(cases.len() >= 20);

    let mut child = common::slmd()
        .args(["triage", "--jsonl", "--in-process"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for c in &cases {
            let line = serde_json::json!({"id": c.id, "text": c.text});
            writeln!(stdin, "{line}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let got: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), cases.len());

    let mut wrong = Vec::new();
    for (c, g) in cases.iter().zip(&got) {
        assert_eq!(g["id"], c.id.as_str());
        let have = (
            g["category"].as_str().unwrap_or("?"),
            g["urgency"].as_str().unwrap_or("?"),
            g["route"].as_str().unwrap_or("?"),
        );
        let want = (c.category.as_str(), c.urgency.as_str(), c.route.as_str());
        if have != want {
            wrong.push(format!(
                "{}: want {want:?}, got {have:?} ({})",
                c.id, c.text
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} decisions differ on {}:\n{}",
        wrong.len(),
        cases.len(),
        std::env::consts::ARCH,
        wrong.join("\n")
    );
}
