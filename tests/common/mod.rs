//! Shared test helpers: the real bundled model and index, an in-process
//! server on a temp socket, and the real binary.
#![allow(dead_code)]

use slmd::api::server::{self, Server, ServerInfo};
use slmd::config::Config;
use slmd::pipeline::Pipeline;
use slmd::workers::{Stats, WorkerPool};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn model_dir() -> PathBuf {
    root().join("models").join(slmd::paths::MODEL_NAME)
}

pub fn kb_index() -> PathBuf {
    root().join("kb/index.slmkb")
}

/// Copies the bundled model directory's files into `to`.
pub fn copy_model(to: &Path) {
    for f in [
        "manifest.toml",
        "model.onnx",
        "tokenizer.json",
        "reference.json",
    ] {
        std::fs::copy(model_dir().join(f), to.join(f)).unwrap();
    }
}

/// Replaces `model.onnx` in a copied model directory and re-signs its
/// manifest, so only the loader can notice what changed.
pub fn replace_model(dir: &Path, bytes: &[u8]) {
    let path = dir.join("model.onnx");
    let old = slmd::engine::sha256_hex(&std::fs::read(&path).unwrap());
    std::fs::write(&path, bytes).unwrap();
    let manifest = std::fs::read_to_string(dir.join("manifest.toml")).unwrap();
    let manifest = manifest.replace(&old, &slmd::engine::sha256_hex(bytes));
    std::fs::write(dir.join("manifest.toml"), manifest).unwrap();
}

/// The bundled pipeline, loaded once per test binary.
pub fn pipeline() -> Arc<Pipeline> {
    static P: OnceLock<Arc<Pipeline>> = OnceLock::new();
    P.get_or_init(|| {
        let cfg = Config::default_config();
        Arc::new(
            Pipeline::load(&model_dir(), &kb_index(), &cfg).expect("bundled model and index load"),
        )
    })
    .clone()
}

/// A server running in this process on a temp socket.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub sock: PathBuf,
    pub stop: CancellationToken,
    pub server: Arc<Server>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with the defaults overlaid by `overrides` (TOML).
    pub async fn start(overrides: &str) -> TestServer {
        let cfg = Config::from_toml(overrides, "test").expect("test config");
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("slmd.sock");
        let p = pipeline();
        let info = ServerInfo {
            model: p.engine().manifest().name.clone(),
            model_sha256: p.engine().model_sha256().to_string(),
            kb_procedures: p.index().docs().len() as u32,
            kb_hash: p.index().content_hash(),
        };
        let (pool, _workers) = WorkerPool::start(
            p,
            cfg.engine.threads,
            cfg.engine.queue_depth,
            Arc::new(Stats::default()),
        )
        .unwrap();
        let server = Arc::new(Server::new(pool, cfg.api.clone(), info));
        let listener = tokio::net::UnixListener::bind(&sock).unwrap();
        let stop = CancellationToken::new();
        let task = tokio::spawn(server::run(listener, server.clone(), stop.clone()));
        TestServer {
            dir,
            sock,
            stop,
            server,
            task: Some(task),
        }
    }

    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }
}

/// The emulator the binary runs under, from `SLMD_TEST_RUNNER`, if any.
pub fn runner() -> Option<String> {
    std::env::var("SLMD_TEST_RUNNER")
        .ok()
        .filter(|r| !r.trim().is_empty())
}

/// A command for the real `slmd` binary. Under emulation, set
/// `SLMD_TEST_RUNNER` (e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu") so
/// the binary is started through it.
pub fn slmd() -> Command {
    let bin = env!("CARGO_BIN_EXE_slmd");
    match runner() {
        Some(runner) => {
            let mut parts = runner.split_whitespace();
            let mut c = Command::new(parts.next().unwrap());
            c.args(parts).arg(bin);
            c
        }
        None => Command::new(bin),
    }
}

/// The shell words that start the real binary (with the runner, if any),
/// for tools such as tmux that take a command line.
pub fn slmd_shell_words() -> String {
    let bin = env!("CARGO_BIN_EXE_slmd");
    match runner() {
        Some(runner) => format!("{} {bin}", runner.trim()),
        None => bin.to_string(),
    }
}

/// A child's stderr: appended to `log`, else the test's own stderr.
fn log_sink(log: Option<&Path>) -> Stdio {
    match log {
        Some(p) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .unwrap(),
        ),
        None => Stdio::inherit(),
    }
}

/// A running `slmd serve` process, killed on drop.
pub struct Daemon {
    pub child: Child,
    pub sock: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Daemon {
    pub fn spawn(extra: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("d.sock");
        Daemon::spawn_on(dir, sock, extra)
    }

    /// Starts the daemon on a chosen socket path; `dir` holds its state and
    /// is removed on drop.
    pub fn spawn_on(dir: tempfile::TempDir, sock: PathBuf, extra: &[&str]) -> Daemon {
        Daemon::spawn_logged(dir, sock, extra, "warn", None)
    }

    /// As [`Daemon::spawn_on`], logging at `filter` (a `RUST_LOG` value)
    /// to `log`, appended to (else to the test's stderr).
    pub fn spawn_logged(
        dir: tempfile::TempDir,
        sock: PathBuf,
        extra: &[&str],
        filter: &str,
        log: Option<&Path>,
    ) -> Daemon {
        let stderr = log_sink(log);
        let child = slmd()
            .arg("serve")
            .arg("--socket")
            .arg(&sock)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(extra)
            .env("RUST_LOG", filter)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn slmd serve");
        let d = Daemon { child, sock, dir };
        d.wait_ready(Duration::from_secs(120));
        d
    }

    fn wait_ready(&self, limit: Duration) {
        let t = Instant::now();
        while t.elapsed() < limit {
            if std::os::unix::net::UnixStream::connect(&self.sock).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "daemon not accepting on {} after {limit:?}",
            self.sock.display()
        );
    }

    pub fn sock(&self) -> &Path {
        &self.sock
    }

    /// SIGKILLs the daemon; returns its state directory and socket path.
    pub fn kill(mut self) -> (tempfile::TempDir, PathBuf) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (dir, self.sock.clone())
    }

    /// SIGKILLs the daemon and starts a new one on the same socket and state.
    pub fn restart(mut self, extra: &[&str]) -> Daemon {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let sock = self.sock.clone();
        drop(self);
        Daemon::spawn_on(dir, sock, extra)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A mosquitto broker on a fixed port, started and stopped by the test.
pub struct Mosquitto {
    pub port: u16,
    extra_ports: Vec<u16>,
    conf: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Mosquitto {
    pub fn new() -> Mosquitto {
        Mosquitto::with_extra("", &[])
    }

    /// A broker whose config has `extra` after its plain listener (another
    /// listener, say); `start` also waits for each of `ports`.
    pub fn with_extra(extra: &str, ports: &[u16]) -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra}"),
        )
        .unwrap();
        Mosquitto {
            port,
            extra_ports: ports.to_vec(),
            conf,
            child: None,
            _dir: dir,
        }
    }

    pub fn start(&mut self) {
        // Debian puts it in /usr/sbin, which a user's PATH may lack.
        let exe = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("mosquitto");
        let child = Command::new(exe)
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed (.ci/run installs it)");
        self.child = Some(child);
        let t = Instant::now();
        for port in std::iter::once(self.port).chain(self.extra_ports.iter().copied()) {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    t.elapsed() < Duration::from_secs(10),
                    "mosquitto did not start"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Asks the daemon for escalation `id` (on a fresh connection each time)
/// until it reaches `want`; fails after `limit`, naming the state it is in.
pub async fn wait_for_escalation(
    sock: &Path,
    id: &str,
    want: slmd::api::proto::EscalationState,
    limit: Duration,
) -> slmd::api::proto::EscalationMsg {
    use slmd::api::proto::{bounded, Request, Response};
    let t = Instant::now();
    loop {
        let mut c = slmd::api::client::Client::connect(sock, "test", Duration::from_secs(60))
            .await
            .unwrap();
        match c
            .call(&Request::Escalation { id: bounded(id) })
            .await
            .unwrap()
        {
            Response::Escalation(e) if e.state == want => return *e,
            Response::Escalation(e) => assert!(
                t.elapsed() < limit,
                "escalation {id} stuck in {:?}",
                e.state
            ),
            other => panic!("unexpected {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The daemon's status, asked on a fresh connection.
pub async fn status(sock: &Path) -> slmd::api::proto::StatusMsg {
    use slmd::api::proto::{Request, Response};
    let mut c = slmd::api::client::Client::connect(sock, "test", Duration::from_secs(60))
        .await
        .unwrap();
    match c.call(&Request::Status).await.unwrap() {
        Response::Status(s) => s,
        other => panic!("unexpected {other:?}"),
    }
}

/// Waits until each of `ids` is answered on the device, then checks that
/// the central side (whose received ids are `seen`) got every one of them.
/// Returns how many times the central side saw each id, in `ids`' order.
pub async fn each_answered_and_seen(
    sock: &Path,
    ids: &[String],
    seen: impl Fn() -> Vec<String>,
) -> Vec<usize> {
    for id in ids {
        wait_for_escalation(
            sock,
            id,
            slmd::api::proto::EscalationState::Answered,
            Duration::from_secs(60),
        )
        .await;
    }
    let seen = seen();
    ids.iter()
        .map(|id| {
            let times = seen.iter().filter(|s| *s == id).count();
            assert!(times > 0, "{id} never reached the central side");
            times
        })
        .collect()
}

/// Asks `text` on `c`, which must be escalated; returns the escalation id.
pub async fn escalate(c: &mut slmd::api::client::Client, id: &str, text: &str) -> String {
    c.query(id, text, false).await.unwrap();
    c.last_escalation()
        .expect("escalated")
        .escalation
        .to_string()
}

pub static PLACEHOLDER: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"\[[A-Z]+_[0-9]+\]").unwrap());

/// Every request body the LLM server received.
pub type Bodies = Arc<Mutex<Vec<String>>>;

/// A minimal chat-completions server: answers with JSON that echoes the
/// placeholders it was sent, so rehydration on the device can be checked.
pub async fn llm_server() -> (u16, Bodies) {
    llm_server_with(Arc::new(std::sync::atomic::AtomicBool::new(false))).await
}

/// As [`llm_server`]; while `hang` is set, requests are read and never
/// answered, as by a service that stalls.
pub async fn llm_server_with(hang: Arc<std::sync::atomic::AtomicBool>) -> (u16, Bodies) {
    llm_server_opts(hang, Duration::from_millis(150)).await
}

/// As [`llm_server_with`], answering after `delay`.
pub async fn llm_server_opts(
    hang: Arc<std::sync::atomic::AtomicBool>,
    delay: Duration,
) -> (u16, Bodies) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies: Bodies = Arc::new(Mutex::new(Vec::new()));
    let b2 = bodies.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let bodies = b2.clone();
            let hang = hang.clone();
            tokio::spawn(async move {
                let (rd, mut wr) = stream.into_split();
                let mut rd = BufReader::new(rd);
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    let mut first = true;
                    loop {
                        line.clear();
                        if rd.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if first {
                            assert!(line.starts_with("POST /v1/chat/completions"), "{line}");
                            first = false;
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0u8; len];
                    rd.read_exact(&mut body).await.unwrap();
                    let body = String::from_utf8(body).unwrap();
                    let req: serde_json::Value = serde_json::from_str(&body).unwrap();
                    let user = req["messages"][1]["content"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    bodies.lock().unwrap().push(body);
                    if hang.load(std::sync::atomic::Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    let placeholders: Vec<String> = PLACEHOLDER
                        .find_iter(&user)
                        .map(|m| m.as_str().to_string())
                        .collect();
                    tokio::time::sleep(delay).await;
                    let content = serde_json::json!({
                        "answer": format!("Call back {} after checking the SIM.", placeholders.join(" and ")),
                        "category": "network",
                        "urgency": "normal",
                        "sources": ["NET-001"],
                    });
                    let resp = serde_json::json!({
                        "id": "cmpl-1",
                        "object": "chat.completion",
                        "model": "test-llm-7b",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content.to_string()}, "finish_reason": "stop"}],
                    })
                    .to_string();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        resp.len()
                    );
                    if wr.write_all(head.as_bytes()).await.is_err()
                        || wr.write_all(resp.as_bytes()).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (port, bodies)
}

pub struct Gateway(pub Child);

impl Gateway {
    pub fn spawn(broker: &str, llm_port: u16, name: &str) -> Gateway {
        Gateway::spawn_logged(broker, llm_port, name, "warn", None)
    }

    /// As [`Gateway::spawn`], logging at `filter` to `log` (else stderr).
    pub fn spawn_logged(
        broker: &str,
        llm_port: u16,
        name: &str,
        filter: &str,
        log: Option<&Path>,
    ) -> Gateway {
        let stderr = log_sink(log);
        let child = slmd()
            .args(["gateway", "--broker", broker])
            .args(["--llm-url", &format!("http://127.0.0.1:{llm_port}")])
            .args(["--llm-model", "test-llm-7b", "--client-id", name])
            .args(["--timeout-s", "20"])
            .env("RUST_LOG", filter)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn slmd gateway");
        Gateway(child)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
