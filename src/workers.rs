//! Inference workers: a fixed number of threads fed by a bounded queue.
//!
//! tract is synchronous, so each worker is a plain thread that owns nothing
//! but a handle on the shared pipeline. A full queue is refused at once
//! (the API answers "busy"), and a job whose requester has gone away is
//! dropped unrun.

use crate::pipeline::Pipeline;
use crate::triage::Decision;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;
use tokio::sync::oneshot;

/// What a worker sends back.
#[derive(Debug)]
pub enum Outcome {
    Decided(Decision),
    /// The job's deadline passed while it waited in the queue.
    Expired,
    Failed(String),
}

/// One query for the workers.
#[derive(Debug)]
pub struct Job {
    pub text: String,
    pub no_egress: bool,
    pub deadline: Option<Instant>,
    pub reply: oneshot::Sender<Outcome>,
}

/// Counters and a latency window, shared with the API for status.
#[derive(Debug, Default)]
pub struct Stats {
    pub answered: AtomicU64,
    pub busy: AtomicU64,
    pub cancelled: AtomicU64,
    pub errors: AtomicU64,
    latencies_us: Mutex<heapless::HistoryBuffer<u32, 1024>>,
}

impl Stats {
    /// Records one end-to-end latency.
    pub fn record_latency(&self, us: u64) {
        let mut w = self.latencies_us.lock().unwrap_or_else(|p| p.into_inner());
        w.write(us.min(u32::MAX as u64) as u32);
    }

    /// p50 and p95 of the recent latencies, in µs.
    pub fn percentiles(&self) -> (u64, u64) {
        let w = self.latencies_us.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<u32> = w.as_slice().to_vec();
        drop(w);
        (percentile(&mut v, 50.0), percentile(&mut v, 95.0))
    }
}

/// Nearest-rank percentile; sorts `v` in place. 0 when empty.
pub fn percentile<T: Copy + Ord + Into<u64>>(v: &mut [T], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1].into()
}

/// Handle to submit jobs; dropping every handle stops the workers once the
/// queue is empty.
#[derive(Debug, Clone)]
pub struct WorkerPool {
    tx: crossbeam_channel::Sender<Job>,
    stats: Arc<Stats>,
    pipeline: Arc<Pipeline>,
}

impl WorkerPool {
    /// Starts `threads` workers behind a queue of `queue_depth` jobs.
    pub fn start(
        pipeline: Arc<Pipeline>,
        threads: usize,
        queue_depth: usize,
        stats: Arc<Stats>,
    ) -> std::io::Result<(WorkerPool, Vec<JoinHandle<()>>)> {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(queue_depth.max(1));
        let mut handles = Vec::new();
        for n in 0..threads.max(1) {
            let rx = rx.clone();
            let pipeline = pipeline.clone();
            let stats = stats.clone();
            let handle = std::thread::Builder::new()
                .name(format!("slmd-engine-{n}"))
                .spawn(move || {
                    for job in rx.iter() {
                        run_job(&pipeline, &stats, job);
                    }
                })?;
            handles.push(handle);
        }
        Ok((
            WorkerPool {
                tx,
                stats,
                pipeline,
            },
            handles,
        ))
    }

    /// Queues a job, or gives it back when the queue is full.
    pub fn try_submit(&self, job: Job) -> Result<(), Job> {
        self.tx.try_send(job).map_err(|e| {
            self.stats.busy.fetch_add(1, Ordering::Relaxed);
            e.into_inner()
        })
    }

    /// Jobs waiting for a worker.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    /// The pipeline the workers run (read-only: the index, the model).
    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }
}

fn run_job(pipeline: &Pipeline, stats: &Stats, job: Job) {
    if job.reply.is_closed() {
        stats.cancelled.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("requester gone; job dropped unrun");
        return;
    }
    if job.deadline.is_some_and(|d| Instant::now() >= d) {
        let _ = job.reply.send(Outcome::Expired);
        return;
    }
    let outcome = match pipeline.decide(&job.text, job.no_egress) {
        Ok(d) => Outcome::Decided(d),
        Err(e) => {
            stats.errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "inference failed");
            Outcome::Failed(e.to_string())
        }
    };
    if job.reply.send(outcome).is_err() {
        stats.cancelled.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentile_uses_nearest_rank() {
        let mut v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&mut v, 50.0), 50);
        assert_eq!(percentile(&mut v, 95.0), 95);
        let mut e: Vec<u32> = vec![];
        assert_eq!(percentile(&mut e, 95.0), 0);
    }
}
