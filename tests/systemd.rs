//! Running under systemd, with systemd's own protocols played by the test:
//! socket activation (`LISTEN_FDS`), readiness, watchdog and stopping
//! notifications (`NOTIFY_SOCKET`), `STATE_DIRECTORY`, and a graceful stop
//! on SIGTERM with queries in flight. Also board profiles: `--board`, the
//! warnings on a machine that differs, and `slmd board`.

mod common;

use common::{root, slmd};
use slmd::api::client::Client;
use slmd::api::proto::{Query, Request, Response};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Reads notification datagrams until one equals or contains `want`.
fn wait_for_notification(sock: &UnixDatagram, want: &str, limit: Duration) -> Vec<String> {
    let t = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while t.elapsed() < limit {
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).to_string();
            let hit = msg.lines().any(|l| l == want);
            seen.push(msg);
            if hit {
                return seen;
            }
        }
    }
    panic!("no {want:?} within {limit:?}; got {seen:?}");
}

#[test]
fn socket_activation_readiness_watchdog_and_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("slmd.sock");
    let notify_path = dir.path().join("notify");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();

    // What systemd does for slmd.socket: bind the socket before the daemon runs.
    let listener = UnixListener::bind(&sock_path).unwrap();
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    let fd = listener.as_raw_fd();

    // LISTEN_PID and WATCHDOG_PID must be the daemon's own pid: a shell sets them and execs.
    let base = slmd();
    let program = base.get_program().to_owned();
    let args: Vec<_> = base.get_args().map(|a| a.to_owned()).collect();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("LISTEN_PID=$$ WATCHDOG_PID=$$ exec \"$@\"")
        .arg("sh")
        .arg(program)
        .args(args)
        .args(["serve", "--config"])
        .arg(root().join("src/config/default.toml"))
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", "slmd.socket")
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", "400000")
        .env("STATE_DIRECTORY", &state)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only dup2 and fcntl (async-signal-safe) run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if fd != 3 {
                if libc::dup2(fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else {
                let flags = libc::fcntl(3, libc::F_GETFD);
                libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn slmd serve");

    let seen = wait_for_notification(&notify, "READY=1", Duration::from_secs(180));
    assert!(
        seen.iter().all(|m| !m.contains("STOPPING")),
        "stopping before ready: {seen:?}"
    );
    // The watchdog is pinged at half its 400 ms interval.
    let t = Instant::now();
    wait_for_notification(&notify, "WATCHDOG=1", Duration::from_secs(10));
    wait_for_notification(&notify, "WATCHDOG=1", Duration::from_secs(10));
    assert!(t.elapsed() < Duration::from_secs(10));

    // Queries arrive on the passed socket; the state lives in STATE_DIRECTORY.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answered = rt.block_on(async {
        let mut c = Client::connect(&sock_path, "systemd-test", Duration::from_secs(120))
            .await
            .expect("connect to the activated socket");
        match c
            .query("q0", "breaker trips when the compressor starts", false)
            .await
            .unwrap()
        {
            Response::Decision(d) => assert_eq!(d.id.as_str(), "q0"),
            other => panic!("{other:?}"),
        }
        // Several queries in flight, then SIGTERM: each is still answered.
        for i in 1..=4 {
            c.send(&Request::Query(Box::new(Query {
                id: heapless::String::try_from(format!("q{i}").as_str()).unwrap(),
                text: heapless::String::try_from("pump P-3 leaking at the seal, motor hot")
                    .unwrap(),
                deadline_ms: None,
                no_egress: true,
            })))
            .await
            .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        let pid = child.id() as i32;
        // SAFETY: kill only sends a signal to our own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let mut ids = Vec::new();
        while ids.len() < 4 {
            match c.recv().await {
                Ok(Response::Decision(d)) => ids.push(d.id.to_string()),
                Ok(Response::Escalation(_)) => {}
                Ok(other) => panic!("in-flight query got {other:?}"),
                Err(e) => panic!("in-flight query lost after {ids:?}: {e}"),
            }
        }
        ids.sort();
        ids
    });
    // Answers to pipelined queries may come in any order; all must come.
    assert_eq!(answered, ["q1", "q2", "q3", "q4"]);

    wait_for_notification(&notify, "STOPPING=1", Duration::from_secs(30));
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stderr}", out.status);
    assert!(
        stdout.contains(&format!("socket {}", sock_path.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("state   {}", state.display())),
        "{stdout}"
    );
    assert!(
        std::fs::read_dir(&state).unwrap().count() > 0,
        "nothing in STATE_DIRECTORY"
    );
    // systemd owns an activated socket: the daemon leaves the file alone.
    assert!(sock_path.exists(), "the activated socket was removed");
    assert!(stderr.contains("activated=true"), "{stderr}");
}

#[test]
fn board_profiles_set_defaults_and_warn_on_a_different_machine() {
    // The shipped list.
    let out = slmd().arg("board").output().unwrap();
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout);
    for b in ["rpi4", "rpi5", "rpi-zero-2w", "jetson-orin-nano"] {
        assert!(list.contains(b), "{b} missing from {list}");
    }

    // One profile, with this machine's differences.
    let out = slmd()
        .args(["board", "rpi-zero-2w", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["board"]["target"], "armv7-unknown-linux-gnueabihf");
    assert_eq!(v["board"]["config"]["engine"]["threads"], 1);
    // No machine here is a Zero 2 W with 4 Cortex-A53 cores and an armv7 build
    // unless the test itself runs there.
    let this = &v["this_machine"];
    let same = this["arch"] == "armv7" && this["cpu_parts"] == serde_json::json!(["0xd03"]);
    assert_eq!(
        v["differences"].as_array().unwrap().is_empty(),
        same && this["cores"] == 4
    );

    // An unknown board is refused, naming the known ones.
    let out = slmd().args(["board", "rpi9"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rpi9") && err.contains("rpi-zero-2w"), "{err}");
    let out = slmd()
        .args(["triage", "--jsonl", "--in-process", "--board", "rpi9"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());

    // A config file naming a board gets its defaults; the file's own keys
    // win, and `--board` wins over the file's board.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("slmd.toml");
    std::fs::write(
        &cfg,
        "[board]\nname = \"rpi5\"\n[outbox]\nmax_bytes = 1048576\n",
    )
    .unwrap();
    let c = slmd::config::Config::from_file(&cfg).unwrap();
    assert_eq!(c.board.as_ref().unwrap().name, "rpi5");
    assert_eq!(c.engine.threads, 3);
    assert_eq!(c.engine.max_seq_len, Some(128));
    assert_eq!(c.escalation.outbox.max_bytes, 1_048_576);
    let c = slmd::config::Config::from_file_on(&cfg, Some("rpi-zero-2w")).unwrap();
    assert_eq!(c.board.as_ref().unwrap().name, "rpi-zero-2w");
    assert_eq!((c.engine.threads, c.engine.max_seq_len), (1, Some(96)));
    std::fs::write(&cfg, "[board]\nname = \"nope\"\n").unwrap();
    let e = slmd::config::Config::from_file(&cfg)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope") && e.contains("rpi4"), "{e}");

    // The daemon on a board profile: it runs, and says how this machine differs.
    let d = tempfile::tempdir().unwrap();
    let sock = d.path().join("b.sock");
    let mut child = slmd()
        .args(["serve", "--board", "rpi-zero-2w", "--socket"])
        .arg(&sock)
        .arg("--state-dir")
        .arg(d.path().join("state"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(t.elapsed() < Duration::from_secs(180), "daemon not ready");
        assert!(child.try_wait().unwrap().is_none(), "daemon exited");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = slmd()
        .args(["ask", "--json", "--socket"])
        .arg(&sock)
        .arg("compressor short cycling on the rooftop unit")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["category"], "hvac", "{v}");
    // SAFETY: kill only sends a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !same {
        assert!(
            stderr.contains("does not look like the board"),
            "no warning about the machine: {stderr}"
        );
    }
}
