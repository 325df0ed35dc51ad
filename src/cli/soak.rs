//! `slmd soak --minutes N`: the whole device path under a steady mix of
//! work and disruption, checked as it runs.
//!
//! It starts a mosquitto broker, a stand-in for the central LLM (an
//! OpenAI-compatible chat-completions endpoint on loopback that answers
//! every request at once), `slmd gateway` and `slmd serve`, all on
//! temporary ports and directories. Then, until the time is up:
//! - every second, one query answered locally and one that escalates;
//! - every 30 s the broker restarts (no persistence: it forgets every
//!   session); every 45 s the gateway restarts;
//! - every 20 s a new remote configuration is published;
//! - every 5 s the daemon's resident memory and connection count are read.
//!
//! It fails (exit status 1) when a query takes over 60 s (a stuck
//! connection), when an escalation accepted by the daemon is not answered
//! by the end, when the daemon's memory grows beyond noise after warm-up
//! (the first minute or third: the mean of the last half of the rest against
//! its first half, by more than 2 MiB), when a
//! connection is left open at the end, or when the last configuration was
//! not applied.

use crate::api::proto::{bounded, EscalationState, Request, Response};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const DEVICE: &str = "soak-1";
/// Longest a query may take before the connection counts as stuck.
const STUCK: Duration = Duration::from_secs(60);
/// Growth of the daemon's memory after warm-up that counts as a leak; the
/// noise between samples of a steady daemon is a fraction of this.
const GROWTH_MIB: f64 = 2.0;
/// How long the escalations accepted may take to be answered at the end.
const SETTLE: Duration = Duration::from_secs(120);

/// Options of `slmd soak`.
#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// How long to run.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// The mosquitto binary (default: mosquitto on PATH, then /usr/sbin/mosquitto).
    #[arg(long)]
    mosquitto: Option<PathBuf>,
    #[arg(long)]
    model_dir: Option<PathBuf>,
    #[arg(long)]
    kb_index: Option<PathBuf>,
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn mosquitto_bin(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("mosquitto"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/mosquitto")])
        .find(|p| p.is_file())
        .context("no mosquitto binary (install mosquitto or pass --mosquitto)")
}

struct Broker {
    bin: PathBuf,
    conf: PathBuf,
    port: u16,
    proc: Option<Proc>,
}

impl Broker {
    fn new(bin: PathBuf, dir: &Path) -> anyhow::Result<Broker> {
        let port = free_port()?;
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )?;
        Ok(Broker {
            bin,
            conf,
            port,
            proc: None,
        })
    }

    fn start(&mut self) -> anyhow::Result<()> {
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.proc = Some(Proc(child));
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if t.elapsed() > Duration::from_secs(10) {
                bail!("mosquitto not listening on {} after 10 s", self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn stop(&mut self) {
        self.proc = None;
    }

    fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

/// The central LLM's stand-in: answers every chat completion at once with
/// a JSON answer in the gateway's schema, keeping the placeholders it got.
async fn llm_standin() -> anyhow::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (rd, mut wr) = stream.into_split();
                let mut rd = BufReader::new(rd);
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match rd.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let l = line.trim_end().to_ascii_lowercase();
                        if l.is_empty() {
                            break;
                        }
                        if let Some(v) = l.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; len.min(1 << 20)];
                    if rd.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let content = serde_json::json!({
                        "answer": "Check the supply, then follow the procedure.",
                        "category": "network", "urgency": "normal", "sources": ["NET-001"],
                    });
                    let resp = serde_json::json!({
                        "id": "cmpl-soak", "object": "chat.completion", "model": "soak-llm",
                        "choices": [{"index": 0, "finish_reason": "stop",
                            "message": {"role": "assistant", "content": content.to_string()}}],
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
    Ok(port)
}

fn gateway(broker: &str, llm_port: u16) -> anyhow::Result<Proc> {
    let child = Command::new(std::env::current_exe()?)
        .args(["gateway", "--broker", broker])
        .args(["--llm-url", &format!("http://127.0.0.1:{llm_port}")])
        .args(["--llm-model", "soak-llm", "--client-id", "soak-gateway"])
        .args(["--timeout-s", "20"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .context("starting slmd gateway")?;
    Ok(Proc(child))
}

/// Publishes remote configuration `version` (retained, QoS 1).
async fn publish_config(broker_port: u16, version: u64) -> anyhow::Result<()> {
    let mut opts =
        rumqttc::MqttOptions::new(format!("soak-operator-{version}"), "127.0.0.1", broker_port);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = rumqttc::AsyncClient::new(opts, 8);
    let payload = serde_json::json!({"version": version,
        "set": {"escalation.max_per_hour": 5_000 + version}})
    .to_string();
    client
        .publish(
            crate::escalation::device_topic(DEVICE, "config"),
            rumqttc::QoS::AtLeastOnce,
            true,
            payload,
        )
        .await?;
    let acked = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    let _ = client.disconnect().await;
    match acked {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => bail!("publishing config v{version}: {e}"),
        Err(_) => bail!("publishing config v{version}: no PUBACK in 10 s"),
    }
}

fn rss_mib(pid: u32) -> f64 {
    crate::board::proc_memory_kib(&pid.to_string()).map_or(0.0, |(rss, _)| rss as f64 / 1024.0)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Runs the soak; an error is a failed check.
pub fn run(args: SoakArgs) -> anyhow::Result<()> {
    let cfg = crate::config::Config::default_config();
    let model_dir = super::model_dir(args.model_dir.clone(), &cfg);
    let kb_index = super::kb_index(args.kb_index.clone(), &cfg);
    let dir = super::scratch_dir("soak")?;
    let result = soak(&args, &model_dir, &kb_index, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn soak(args: &SoakArgs, model_dir: &Path, kb_index: &Path, dir: &Path) -> anyhow::Result<()> {
    let total = Duration::from_secs_f64((args.minutes * 60.0).max(10.0));
    let mut broker = Broker::new(mosquitto_bin(args.mosquitto.clone())?, dir)?;
    broker.start()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let llm_port = rt.block_on(llm_standin())?;
    let mut gw = Some(gateway(&broker.url(), llm_port)?);
    let conf = dir.join("slmd.toml");
    std::fs::write(
        &conf,
        "[escalation]\nmax_per_hour = 10000\nanswer_timeout_s = 5\n",
    )?;
    let broker_url = broker.url();
    let (child, sock) = super::serve_child(
        dir,
        &conf,
        model_dir,
        kb_index,
        &["--broker", &broker_url, "--device-id", DEVICE],
    )?;
    let daemon = Proc(child);
    let pid = daemon.0.id();
    println!(
        "slmd soak: {:.1} min; broker restarts every 30 s, gateway every 45 s, config every 20 s",
        total.as_secs_f64() / 60.0
    );
    let started = Instant::now();
    let mut accepted: Vec<String> = Vec::new();
    let mut rss: Vec<f64> = Vec::new();
    let (mut local, mut escalated, mut broker_restarts, mut gateway_restarts) = (0u64, 0u64, 0, 0);
    let mut config_version = 1u64;
    let mut c = rt.block_on(super::connect_when_up(&sock, "soak"))?;
    let (mut next_broker, mut next_gateway, mut next_config, mut next_sample) = (
        Duration::from_secs(30),
        Duration::from_secs(45),
        Duration::from_secs(20),
        Duration::ZERO,
    );
    let mut n = 0u64;
    while started.elapsed() < total {
        let tick = Instant::now();
        let t = started.elapsed();
        if t >= next_sample {
            rss.push(rss_mib(pid));
            next_sample += Duration::from_secs(5);
        }
        if t >= next_broker {
            broker.stop();
            std::thread::sleep(Duration::from_millis(500));
            broker.start()?;
            broker_restarts += 1;
            next_broker += Duration::from_secs(30);
        }
        if t >= next_gateway {
            drop(gw.take());
            gw = Some(gateway(&broker.url(), llm_port)?);
            gateway_restarts += 1;
            next_gateway += Duration::from_secs(45);
        }
        if t >= next_config {
            config_version += 1;
            if let Err(e) = rt.block_on(publish_config(broker.port, config_version)) {
                // The broker may be restarting; the next one carries on.
                eprintln!("{e}");
                config_version -= 1;
            }
            next_config += Duration::from_secs(20);
        }
        n += 1;
        let text = super::bench::QUERIES[n as usize % super::bench::QUERIES.len()];
        let answer = rt.block_on(async {
            tokio::time::timeout(STUCK, c.query(&format!("l{n}"), text, true)).await
        });
        match answer {
            Err(_) => bail!("a local query took over {} s (stuck)", STUCK.as_secs()),
            Ok(Err(e)) => bail!("local query failed: {e}"),
            Ok(Ok(Response::Decision(_))) => local += 1,
            Ok(Ok(other)) => bail!("unexpected reply to a local query: {other:?}"),
        }
        let text = format!("what is the capital of Australia, ticket {n}");
        let answer = rt.block_on(async {
            tokio::time::timeout(STUCK, c.query(&format!("e{n}"), &text, false)).await
        });
        match answer {
            Err(_) => bail!(
                "an escalating query took over {} s (stuck)",
                STUCK.as_secs()
            ),
            Ok(Err(e)) => bail!("escalating query failed: {e}"),
            Ok(Ok(Response::Decision(_))) => {
                if let Some(e) = c.last_escalation() {
                    if e.state == EscalationState::Queued {
                        accepted.push(e.escalation.to_string());
                        escalated += 1;
                    }
                }
            }
            Ok(Ok(other)) => bail!("unexpected reply to an escalating query: {other:?}"),
        }
        if let Some(left) = Duration::from_secs(1).checked_sub(tick.elapsed()) {
            std::thread::sleep(left);
        }
    }
    rss.push(rss_mib(pid));
    drop(c);

    // Every accepted escalation answered.
    let settle = Instant::now();
    let mut c = rt.block_on(super::connect_when_up(&sock, "soak"))?;
    let mut unanswered = accepted.clone();
    while !unanswered.is_empty() && settle.elapsed() < SETTLE {
        let mut still = Vec::new();
        for id in &unanswered {
            match rt.block_on(c.call(&Request::Escalation { id: bounded(id) }))? {
                Response::Escalation(e) if e.state == EscalationState::Answered => {}
                _ => still.push(id.clone()),
            }
        }
        unanswered = still;
        if !unanswered.is_empty() {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let status = match rt.block_on(c.call(&Request::Status))? {
        Response::Status(s) => s,
        other => bail!("unexpected reply to status: {other:?}"),
    };
    drop(c);
    // The applied configuration, from the retained status on the broker.
    let applied = rt.block_on(applied_config_version(broker.port))?;
    drop(gw);

    // Warm-up: the first minute or the first third, whichever is longer
    // (the first reloads and reconnects grow the allocator's pools once),
    // leaving at least four samples to compare.
    let warm = (rss.len() / 3).max(12).min(rss.len().saturating_sub(4));
    let steady = &rss[warm..];
    let (second, last) = steady.split_at(steady.len() / 2);
    let (m2, m3) = (mean(second), mean(last));
    let growth = m3 - m2;
    println!(
        "{local} local queries, {escalated} escalations accepted, {} answered, {} unanswered; {broker_restarts} broker restarts, {gateway_restarts} gateway restarts; config v{applied} applied of v{config_version} published",
        accepted.len() - unanswered.len(),
        unanswered.len()
    );
    println!(
        "daemon RSS: {:.1} MiB after start, {m2:.1} MiB then {m3:.1} MiB after warm-up (growth {growth:+.2} MiB), {:.1} MiB at the end; {} connections open at the end",
        rss.first().copied().unwrap_or(0.0),
        rss.last().copied().unwrap_or(0.0),
        status.connections.saturating_sub(1)
    );
    println!(
        "RSS every 5 s (MiB): {}",
        rss.iter()
            .map(|r| format!("{r:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut failed = Vec::new();
    if !unanswered.is_empty() {
        failed.push(format!(
            "{} accepted escalations never answered: {:?}",
            unanswered.len(),
            &unanswered[..unanswered.len().min(5)]
        ));
    }
    if escalated == 0 {
        failed.push("no escalation was accepted".to_string());
    }
    if growth > GROWTH_MIB {
        failed.push(format!("memory grew {growth:.2} MiB after warm-up"));
    }
    // The status request's own connection is the one open.
    if status.connections > 1 {
        failed.push(format!("{} connections left open", status.connections - 1));
    }
    if applied != config_version {
        failed.push(format!(
            "configuration v{config_version} was published but v{applied} is applied"
        ));
    }
    drop(daemon);
    broker.stop();
    if failed.is_empty() {
        println!("soak passed");
        Ok(())
    } else {
        bail!("soak failed: {}", failed.join("; "))
    }
}

/// The `config_version` of the daemon's retained status message.
async fn applied_config_version(broker_port: u16) -> anyhow::Result<u64> {
    let mut opts = rumqttc::MqttOptions::new("soak-reader", "127.0.0.1", broker_port);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = rumqttc::AsyncClient::new(opts, 8);
    let status_topic = crate::escalation::device_topic(DEVICE, "status");
    client
        .subscribe(status_topic.clone(), rumqttc::QoS::AtLeastOnce)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut best = None;
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(2), events.poll()).await {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))))
                if p.topic == status_topic =>
            {
                let v: serde_json::Value = serde_json::from_slice(&p.payload).unwrap_or_default();
                if let Some(n) = v["config_version"].as_u64() {
                    best = Some(n);
                    break;
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => bail!("reading the retained status: {e}"),
            Err(_) => {}
        }
    }
    let _ = client.disconnect().await;
    best.context("no retained status with a config_version on the broker")
}
