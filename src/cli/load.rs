//! `slmd bench --load`: the daemon's limits under load, measured on a real
//! `slmd serve` child on a temporary socket and state directory.
//!
//! - Sustained queries per second and latency at 1, 2 and 4 clients and at
//!   twice the engine pool (threads + queue), each client sending its next
//!   query as soon as the last one is answered.
//! - The share of busy replies once more queries are in flight than the
//!   pool holds (a busy client waits 10 ms and tries again).
//! - Resident memory with 1 000 idle connections (hello done, then
//!   silent) and 1 000 header-only connections (a whole length prefix
//!   declaring a body just under the frame limit, then silent: the worst a
//!   stalled peer can ask for), against the idle daemon.
//! - The outbox at its byte budget: escalations are accepted until the
//!   outbox refuses one with a clear error, and every one accepted before
//!   is still queued.

use super::bench::QUERIES;
use crate::api::client::Client;
use crate::api::proto::{bounded, EscalationState, Request, Response};
use crate::workers::percentile;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// Connections held open for the memory figures.
const HELD: usize = 1000;
/// The outbox budget of the run, small so that it fills in seconds.
const OUTBOX_BYTES: u64 = 64 * 1024;

/// The daemon under test, killed on drop.
struct Served {
    child: Child,
    sock: PathBuf,
    dir: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Served {
    fn rss_kib(&self) -> anyhow::Result<u64> {
        crate::board::proc_memory_kib(&self.child.id().to_string())
            .map(|(rss, _)| rss)
            .context("reading the daemon's /proc status")
    }
}

fn serve(model_dir: &Path, kb_index: &Path) -> anyhow::Result<Served> {
    let dir = super::scratch_dir("load")?;
    let conf = dir.join("slmd.toml");
    // Room for the held connections; no broker, so escalations stay queued;
    // an hourly budget that the run does not spend.
    std::fs::write(
        &conf,
        format!(
            "[api]\nmax_connections = {}\n\n[escalation]\nmax_per_hour = 10000\n\n[outbox]\nmax_bytes = {OUTBOX_BYTES}\n",
            2 * HELD + 64
        ),
    )?;
    let (child, sock) = super::serve_child(&dir, &conf, model_dir, kb_index, &[])?;
    Ok(Served { child, sock, dir })
}

/// What one load level gave.
struct Level {
    clients: usize,
    answered: usize,
    busy: usize,
    latencies_us: Vec<u64>,
    secs: f64,
}

async fn level(sock: &Path, clients: usize, secs: u64) -> anyhow::Result<Level> {
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for n in 0..clients {
        let sock = sock.to_path_buf();
        tasks.push(tokio::spawn(async move {
            let mut c = super::connect_when_up(&sock, "bench-load").await?;
            let (mut answered, mut busy, mut lat) = (0usize, 0usize, Vec::new());
            let mut k = n;
            while Instant::now() < until {
                let t = Instant::now();
                match c
                    .query(&format!("l{n}-{k}"), QUERIES[k % QUERIES.len()], true)
                    .await?
                {
                    Response::Decision(_) => {
                        answered += 1;
                        lat.push(t.elapsed().as_micros() as u64);
                        k += 1;
                    }
                    Response::Busy { .. } => {
                        busy += 1;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    other => bail!("unexpected reply under load: {other:?}"),
                }
            }
            anyhow::Ok((answered, busy, lat))
        }));
    }
    let started = Instant::now();
    let mut out = Level {
        clients,
        answered: 0,
        busy: 0,
        latencies_us: Vec::new(),
        secs: 0.0,
    };
    for t in tasks {
        let (a, b, l) = t.await??;
        out.answered += a;
        out.busy += b;
        out.latencies_us.extend(l);
    }
    out.secs = started.elapsed().as_secs_f64().max(secs as f64);
    Ok(out)
}

fn print_level(l: &mut Level, pool: usize) {
    let p50 = percentile(&mut l.latencies_us, 50.0);
    let p95 = percentile(&mut l.latencies_us, 95.0);
    let tried = l.answered + l.busy;
    println!(
        "{:>3} clients{:<14} {:>6.1} queries/s  p50 {:>7.1} ms  p95 {:>7.1} ms  busy {:>5.1} % ({} of {})",
        l.clients,
        if l.clients > pool { " (past pool)" } else { "" },
        l.answered as f64 / l.secs,
        p50 as f64 / 1000.0,
        p95 as f64 / 1000.0,
        100.0 * l.busy as f64 / tried.max(1) as f64,
        l.busy,
        tried
    );
}

/// Opens `n` connections; with `header_only`, each sends a length prefix
/// declaring a body just under the default frame limit and stalls, else
/// each says hello and stays.
async fn hold(sock: &Path, n: usize, header_only: bool) -> anyhow::Result<Vec<HeldConn>> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        if header_only {
            let mut s = tokio::net::UnixStream::connect(sock)
                .await
                .context("opening a header-only connection")?;
            let declared = (crate::limits::DEFAULT_MAX_FRAME - 16) as u32;
            s.write_all(&declared.to_be_bytes()).await?;
            held.push(HeldConn::Raw(s));
        } else {
            held.push(HeldConn::Client(Box::new(
                super::connect_when_up(sock, "bench-load").await?,
            )));
        }
    }
    Ok(held)
}

#[allow(dead_code)] // held only to keep the connections open
enum HeldConn {
    Raw(tokio::net::UnixStream),
    Client(Box<Client>),
}

async fn fill_outbox(sock: &Path) -> anyhow::Result<()> {
    let mut c = super::connect_when_up(sock, "bench-load").await?;
    let mut accepted: Vec<String> = Vec::new();
    let mut refusal = None;
    for n in 0..10_000 {
        let text = format!(
            "what is the capital of Australia, ticket {n} {}",
            "x".repeat(300)
        );
        let Response::Decision(_) = c.query(&format!("o{n}"), &text, false).await? else {
            continue;
        };
        match c.last_escalation() {
            Some(e) if e.state == EscalationState::Queued => {
                accepted.push(e.escalation.to_string())
            }
            Some(e) if e.state == EscalationState::Failed => {
                refusal = Some(e.note.to_string());
                break;
            }
            Some(e) => bail!("escalation in state {:?} with no broker", e.state),
            None => bail!("query {n} was not escalated"),
        }
    }
    let Some(refusal) = refusal else {
        bail!("the outbox never refused an escalation");
    };
    let mut kept = 0;
    for id in &accepted {
        if let Response::Escalation(e) = c.call(&Request::Escalation { id: bounded(id) }).await? {
            kept += usize::from(e.state == EscalationState::Queued);
        }
    }
    println!(
        "outbox at its budget ({} KiB): {} escalations accepted, the next refused ({refusal:?}); {kept} of {} still queued, {} lost",
        OUTBOX_BYTES / 1024,
        accepted.len(),
        accepted.len(),
        accepted.len() - kept
    );
    if kept != accepted.len() {
        bail!("accepted escalations were lost at the budget");
    }
    Ok(())
}

/// Runs the load figures; `secs` per throughput level.
pub fn run(model_dir: &Path, kb_index: &Path, secs: u64) -> anyhow::Result<()> {
    let cfg = crate::config::Config::default_config();
    let pool = cfg.engine.threads + cfg.engine.queue_depth;
    let served = serve(model_dir, kb_index)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!(
        "slmd bench --load: engine pool {pool} ({} thread + {} queued), {secs} s per level, machine {} cores",
        cfg.engine.threads,
        cfg.engine.queue_depth,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    rt.block_on(async {
        // Warm up: the first queries page the model in.
        let mut c = super::connect_when_up(&served.sock, "bench-load").await?;
        for k in 0..20 {
            c.query(&format!("w{k}"), QUERIES[k % QUERIES.len()], true)
                .await?;
        }
        drop(c);
        for clients in [1, 2, 4, 2 * pool] {
            let mut l = level(&served.sock, clients, secs).await?;
            print_level(&mut l, pool);
        }

        tokio::time::sleep(Duration::from_millis(300)).await;
        let base = served.rss_kib()?;
        let idle = hold(&served.sock, HELD, false).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let with_idle = served.rss_kib()?;
        let headers = hold(&served.sock, HELD, true).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let with_both = served.rss_kib()?;
        // Still serving with 2 000 connections held.
        let mut c = super::connect_when_up(&served.sock, "bench-load").await?;
        let t = Instant::now();
        c.query("held", QUERIES[0], true).await?;
        let answered_in = t.elapsed();
        println!(
            "RSS: {:.1} MiB idle daemon; +{:.2} MiB with {HELD} idle connections; +{:.2} MiB more with {HELD} header-only ones (goal: at most 16 MiB over idle); a query among them answered in {:.1} ms",
            base as f64 / 1024.0,
            with_idle.saturating_sub(base) as f64 / 1024.0,
            with_both.saturating_sub(with_idle) as f64 / 1024.0,
            answered_in.as_secs_f64() * 1000.0
        );
        println!(
            "RSS over idle with both: {:.2} MiB",
            with_both.saturating_sub(base) as f64 / 1024.0
        );
        drop(idle);
        drop(headers);
        drop(c);
        fill_outbox(&served.sock).await
    })
}
