//! `slmd bench`: encoder latency, end-to-end socket latency, model load
//! time, daemon start-to-accepting time and RSS, and the same int8 file on
//! the same token ids under ONNX Runtime in the same run.

use crate::api::client::Client;
use crate::api::proto::Response;
use crate::engine::Engine;
use crate::kb::Index;
use crate::pipeline::Pipeline;
use crate::workers::percentile;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Fixed query set: typical technician sentences of 8–35 tokens.
pub const QUERIES: &[&str] = &[
    "P-101 vibration high after bearing swap",
    "VFD-12 tripped on overcurrent fault F0001 during start",
    "compressor CMP-2 discharge temp 110 C and rising, unit unloaded",
    "AHU-3 not cooling, supply air 22 C, compressor short cycling",
    "cellular router at lift station 4 offline since last night",
    "how do I megger test a 415 V motor before re-energising",
    "generator GEN-1 failed to start on weekly test, battery 11.2 V",
    "PLC-4 in stop mode with red fault LED after power dip",
    "pressure transmitter PT-203 stuck at 4 mA while line pressure is 6 bar",
    "chiller CH-1 high head pressure trip on a hot afternoon",
    "hyd power unit HPU-1 oil temp 68 C, pump whining",
    "conveyor CV-3 belt tracking off to one side and rubbing the frame",
    "UPS-2 on battery alarm although mains is present",
    "solar inverter INV-7 isolation fault in the morning, clears by noon",
    "mechanical seal on pump P-7 leaking about 10 drops a minute",
    "ATS not transferring back to utility after the outage ended",
    "ethernet switch port 7 link flapping, PLC comms dropping",
    "breaker on MCC-1 feeder nuisance tripping when the chiller starts",
    "rooftop unit belt squeal on start-up",
    "level radar LT-5 reading jumps between 40 and 90 percent",
];

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Timed runs per measurement (queries are cycled).
    #[arg(long, default_value_t = 200)]
    runs: usize,
    #[arg(long)]
    model_dir: Option<PathBuf>,
    #[arg(long)]
    kb_index: Option<PathBuf>,
    /// Python with onnxruntime for the side-by-side run (default:
    /// $SLMD_PYTHON, then models/.venv/bin/python, then python3).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Skip the ONNX Runtime comparison.
    #[arg(long)]
    no_ort: bool,
    /// Measure the escalation outbox instead: N durable accepts (redact,
    /// store, commit to disk) per second.
    #[arg(long, value_name = "N")]
    outbox: Option<usize>,
    /// With --outbox: then drain the N queued escalations through this MQTT
    /// broker (mqtt://HOST:PORT), as after an outage, and report the rate.
    #[arg(long, value_name = "URL", requires = "outbox")]
    broker: Option<String>,
    /// Measure the daemon under load instead: queries per second and p95
    /// at 1, 2, 4 clients and twice the engine pool, busy replies past the
    /// pool, RSS with 1 000 idle and 1 000 header-only connections, and the
    /// outbox at its byte budget.
    #[arg(long, conflicts_with = "outbox")]
    load: bool,
    /// With --load: seconds per client count.
    #[arg(long, default_value_t = 10, requires = "load")]
    seconds: u64,
}

struct Lat {
    p50: u64,
    p95: u64,
    mean: u64,
}

fn lat(mut v: Vec<u64>) -> Lat {
    let mean = v.iter().sum::<u64>() / v.len().max(1) as u64;
    Lat {
        p50: percentile(&mut v, 50.0),
        p95: percentile(&mut v, 95.0),
        mean,
    }
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(n) = args.outbox {
        return outbox_bench(&args, n.max(10));
    }
    let cfg = crate::config::Config::default_config();
    if args.load {
        return super::load::run(
            &super::model_dir(args.model_dir.clone(), &cfg),
            &super::kb_index(args.kb_index.clone(), &cfg),
            args.seconds.max(1),
        );
    }
    let model_dir = super::model_dir(args.model_dir.clone(), &cfg);
    let kb_index = super::kb_index(args.kb_index.clone(), &cfg);
    let runs = args.runs.max(20);
    println!(
        "slmd bench: {} queries, {runs} runs each, 1 inference thread",
        QUERIES.len()
    );
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model()
    );

    // Load.
    let t = Instant::now();
    let engine = Engine::load(&model_dir)?;
    let load = t.elapsed();
    let m = engine.manifest();
    println!(
        "model: {} ({}), {}",
        m.name,
        m.quantization,
        model_dir.display()
    );
    println!(
        "model load (hash check + parse + optimise + first run): {:.0} ms",
        load.as_secs_f64() * 1000.0
    );

    // Encoder alone.
    let ids: Vec<Vec<u32>> = QUERIES
        .iter()
        .map(|q| engine.tokenize(q).map(|(ids, _)| ids))
        .collect::<Result<_, _>>()?;
    let tokens: Vec<usize> = ids.iter().map(Vec::len).collect();
    println!(
        "tokens per query: min {} / mean {:.1} / max {}",
        tokens.iter().min().unwrap_or(&0),
        tokens.iter().sum::<usize>() as f64 / tokens.len() as f64,
        tokens.iter().max().unwrap_or(&0)
    );
    for i in ids.iter().take(5) {
        engine.embed_ids(i)?;
    }
    let mut enc = Vec::with_capacity(runs);
    for r in 0..runs {
        let t = Instant::now();
        engine.embed_ids(&ids[r % ids.len()])?;
        enc.push(t.elapsed().as_micros() as u64);
    }
    let enc = lat(enc);
    println!(
        "tract encoder, 1 thread:   p50 {}  p95 {}  mean {}",
        ms(enc.p50),
        ms(enc.p95),
        ms(enc.mean)
    );

    // End-to-end through a real socket server in this process.
    let index = Index::load(&kb_index, engine.model_sha256())?;
    let pipeline = Pipeline::new(engine, index, cfg.triage.clone(), cfg.top_k)?;

    // A long message, read whole in windows, against a short query, the
    // two interleaved in one run (the pipeline in process, no socket).
    let long = long_message(4096);
    let windows = pipeline.embed(&long)?.len();
    let (mut short_t, mut long_t) = (Vec::new(), Vec::new());
    let pairs = (runs / 4).max(10);
    for r in 0..pairs {
        let t = Instant::now();
        pipeline.decide(QUERIES[r % QUERIES.len()], false)?;
        short_t.push(t.elapsed().as_micros() as u64);
        let t = Instant::now();
        pipeline.decide(&long, false)?;
        long_t.push(t.elapsed().as_micros() as u64);
    }
    let (short_l, long_l) = (lat(short_t), lat(long_t));
    println!(
        "decision, short query:     p50 {}  p95 {}",
        ms(short_l.p50),
        ms(short_l.p95)
    );
    println!(
        "decision, 4 KiB message:   p50 {}  p95 {}  ({windows} windows; p95 {:.1}x the short query's)",
        ms(long_l.p50),
        ms(long_l.p95),
        long_l.p95 as f64 / short_l.p95.max(1) as f64
    );
    let e2e = end_to_end(pipeline, &cfg, runs)?;
    println!(
        "socket query -> decision:  p50 {}  p95 {}  mean {}  (p95 ratio to encoder p95: {:.2}x)",
        ms(e2e.p50),
        ms(e2e.p95),
        ms(e2e.mean),
        e2e.p95 as f64 / enc.p95.max(1) as f64
    );

    // A real daemon process: time to accepting, and its memory.
    match daemon_figures(&model_dir, &kb_index) {
        Ok((ready, rss, hwm)) => {
            println!(
                "daemon start -> socket answering Hello: {:.0} ms",
                ready.as_secs_f64() * 1000.0
            );
            println!(
                "daemon RSS after 40 queries: {:.1} MiB (peak {:.1} MiB)",
                rss as f64 / 1024.0,
                hwm as f64 / 1024.0
            );
        }
        Err(e) => println!("daemon figures unavailable: {e:#}"),
    }

    // ONNX Runtime on the same file and token ids.
    if !args.no_ort {
        match ort(&args, &model_dir.join("model.onnx"), &ids, runs) {
            Ok((version, o)) => {
                println!(
                    "onnxruntime {version}, 1 thread: p50 {}  p95 {}  mean {}",
                    ms(o.p50),
                    ms(o.p95),
                    ms(o.mean)
                );
                println!(
                    "ratio tract/ORT: p50 {:.2}x  p95 {:.2}x",
                    enc.p50 as f64 / o.p50.max(1) as f64,
                    enc.p95 as f64 / o.p95.max(1) as f64
                );
            }
            Err(e) => println!("onnxruntime comparison unavailable: {e:#}"),
        }
    }
    Ok(())
}

/// A pasted fault log of about `bytes` bytes with the question on top and
/// a hazard in its last line, as technicians send them.
fn long_message(bytes: usize) -> String {
    let mut s = String::from(
        "VFD-7 keeps tripping on overcurrent, log below. what should I check first?\n",
    );
    let mut n = 0u32;
    while s.len() + 64 < bytes {
        s.push_str(&format!(
            "2026-11-{:02} 03:{:02}:{:02} F{:04} DC bus {} V Iout {} A state RUN\n",
            1 + n % 28,
            n % 60,
            (n * 7) % 60,
            2300 + n % 9,
            560 + n % 40,
            10 + n % 7
        ));
        n += 1;
    }
    s.push_str("btw there's smoke coming out of the door seal now");
    s
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn end_to_end(pipeline: Pipeline, cfg: &crate::config::Config, runs: usize) -> anyhow::Result<Lat> {
    use crate::api::server::{self, Server, ServerInfo};
    use crate::workers::{Stats, WorkerPool};
    use std::sync::Arc;
    let dir = super::scratch_dir("bench")?;
    let sock = dir.join("bench.sock");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let info = ServerInfo {
            model: String::new(),
            model_sha256: String::new(),
            kb_procedures: 0,
            kb_hash: String::new(),
        };
        let (pool, _workers) =
            WorkerPool::start(Arc::new(pipeline), 1, 16, Arc::new(Stats::default()))?;
        let server = Arc::new(Server::new(pool, cfg.api.clone(), info));
        let listener = tokio::net::UnixListener::bind(&sock)?;
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(server::run(listener, server, stop.clone()));
        let mut c = Client::connect(&sock, "bench", Duration::from_secs(30)).await?;
        let mut v = Vec::with_capacity(runs);
        for r in 0..runs + 5 {
            let t = Instant::now();
            match c.query("b", QUERIES[r % QUERIES.len()], false).await? {
                Response::Decision(_) => {}
                other => bail!("unexpected reply {other:?}"),
            }
            if r >= 5 {
                v.push(t.elapsed().as_micros() as u64);
            }
        }
        drop(c);
        stop.cancel();
        let _ = task.await;
        Ok(lat(v))
    })
    .inspect(|_| {
        let _ = std::fs::remove_dir_all(&dir);
    })
}

fn daemon_figures(model_dir: &Path, kb_index: &Path) -> anyhow::Result<(Duration, u64, u64)> {
    let dir = super::scratch_dir("bench")?;
    let sock = dir.join("d.sock");
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args(["serve", "--socket"])
        .arg(&sock)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--model-dir")
        .arg(model_dir)
        .arg("--kb-index")
        .arg(kb_index)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("spawning slmd serve")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let ready = loop {
            if let Ok(mut c) = Client::connect(&sock, "bench", Duration::from_secs(5)).await {
                let ready = started.elapsed();
                for r in 0..40 {
                    c.query("d", QUERIES[r % QUERIES.len()], false).await?;
                }
                break ready;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("daemon not accepting after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let (rss, hwm) = crate::board::proc_memory_kib(&child.id().to_string())
            .context("reading /proc status")?;
        Ok((ready, rss, hwm))
    });
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn ort(
    args: &BenchArgs,
    model: &Path,
    ids: &[Vec<u32>],
    runs: usize,
) -> anyhow::Result<(String, Lat)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("models/ort_bench.py");
    let python = args
        .python
        .clone()
        .or_else(|| std::env::var_os("SLMD_PYTHON").map(PathBuf::from))
        .or_else(|| Some(root.join("models/.venv/bin/python")).filter(|p| p.exists()))
        .unwrap_or_else(|| PathBuf::from("python3"));
    let dir = super::scratch_dir("bench")?;
    let tokens = dir.join("tokens.json");
    std::fs::write(
        &tokens,
        serde_json::to_vec(&serde_json::json!({ "token_ids": ids, "runs": runs }))?,
    )?;
    let out = Command::new(&python)
        .arg(&script)
        .arg(model)
        .arg(&tokens)
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {} {}", python.display(), script.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing ort_bench output")?;
    let get = |k: &str| {
        v[k].as_f64()
            .map(|x| x as u64)
            .context(format!("missing {k}"))
    };
    Ok((
        v["version"].as_str().unwrap_or("?").to_string(),
        Lat {
            p50: get("p50_us")?,
            p95: get("p95_us")?,
            mean: get("mean_us")?,
        },
    ))
}

/// What the uplink reports while the bench drains the outbox.
struct BenchReport;

impl crate::uplink::Report for BenchReport {
    fn status(&self) -> serde_json::Value {
        serde_json::json!({"v": 1, "online": true, "bench": true})
    }
    fn telemetry(&self) -> serde_json::Value {
        serde_json::json!({"v": 1, "bench": true})
    }
    fn apply_config(&self, _payload: &[u8]) -> serde_json::Value {
        serde_json::json!({"ok": false, "error": "bench"})
    }
    fn reload_kb(&self) -> Result<serde_json::Value, String> {
        Err("bench".into())
    }
}

/// `slmd bench --outbox N [--broker URL]`: durable accepts per second, and
/// the drain rate of N queued escalations once a broker is reachable.
fn outbox_bench(args: &BenchArgs, n: usize) -> anyhow::Result<()> {
    use std::sync::Arc;
    let mut cfg = crate::config::Config::default_config();
    cfg.escalation.outbox.max_bytes = 512 * 1024 * 1024;
    let model_dir = super::model_dir(args.model_dir.clone(), &cfg);
    let kb_index = super::kb_index(args.kb_index.clone(), &cfg);
    let pipeline = Pipeline::load(&model_dir, &kb_index, &cfg)?;
    let decision = pipeline.decide("what is the capital of Australia", false)?;
    let dir = super::scratch_dir("bench")?.join("outbox");
    let device = "bench-outbox";
    let esc = Arc::new(crate::escalations::Escalations::open(
        &dir,
        device,
        &cfg.escalation,
    )?);
    println!(
        "slmd bench --outbox: {n} escalations into {}",
        dir.display()
    );

    // Accepts: each one redacted, stored and committed before it returns.
    let mut each = Vec::with_capacity(n);
    let t = Instant::now();
    for i in 0..n {
        let text = format!(
            "question {i} from jane.doe@example.com at 10.0.{}.{}: {}",
            i / 250,
            i % 250,
            QUERIES[i % QUERIES.len()]
        );
        let t1 = Instant::now();
        esc.submit(&text, &decision, Vec::new())?;
        each.push(t1.elapsed().as_micros() as u64);
    }
    let took = t.elapsed();
    let l = lat(each);
    println!(
        "durable accepts: {:.0} per second ({n} in {:.2} s), each p50 {:.2} ms p95 {:.2} ms",
        n as f64 / took.as_secs_f64(),
        took.as_secs_f64(),
        l.p50 as f64 / 1000.0,
        l.p95 as f64 / 1000.0
    );

    let Some(url) = &args.broker else {
        let _ = std::fs::remove_dir_all(dir.parent().unwrap_or(&dir));
        return Ok(());
    };
    let broker = crate::uplink::Broker::parse(url).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        // A consumer, so the broker acknowledges each publish as delivered.
        let mut o = rumqttc::v5::MqttOptions::new(
            format!("slmd-bench-sink-{}", std::process::id()),
            broker.host.clone(),
            broker.port,
        );
        o.set_keep_alive(Duration::from_secs(10));
        let (sink, mut events) = rumqttc::v5::AsyncClient::new(o, 1024);
        let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let r2 = received.clone();
        let subscribed = Arc::new(tokio::sync::Notify::new());
        let s2 = subscribed.clone();
        let sink_task = tokio::spawn(async move {
            use rumqttc::v5::mqttbytes::v5::Packet;
            loop {
                match events.poll().await {
                    Ok(rumqttc::v5::Event::Incoming(Packet::Publish(_))) => {
                        r2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(rumqttc::v5::Event::Incoming(Packet::SubAck(_))) => s2.notify_one(),
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        sink.subscribe(
            format!("slmd/v1/{device}/escalate"),
            rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
        )
        .await?;
        tokio::time::timeout(Duration::from_secs(10), subscribed.notified())
            .await
            .context("the broker did not confirm the bench's subscription")?;

        let link = Arc::new(crate::uplink::Link::default());
        let stop = tokio_util::sync::CancellationToken::new();
        let t = Instant::now();
        let uplink = tokio::spawn(crate::uplink::run(
            cfg.uplink.clone(),
            broker,
            esc.clone(),
            Arc::new(BenchReport),
            link,
            stop.clone(),
        ));
        let limit = Duration::from_secs(600);
        while esc.depth() > 0 {
            if t.elapsed() > limit {
                stop.cancel();
                bail!("{} escalations still queued after {limit:?}", esc.depth());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let took = t.elapsed();
        stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(3), uplink).await;
        sink_task.abort();
        anyhow::Ok((took, received.load(std::sync::atomic::Ordering::Relaxed)))
    });
    let _ = std::fs::remove_dir_all(dir.parent().unwrap_or(&dir));
    let (took, received) = result?;
    println!(
        "drain after an outage: {n} queued escalations published and acknowledged in {:.2} s: {:.0} per second (connect included); the consumer saw {received}",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
    Ok(())
}
