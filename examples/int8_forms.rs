//! Times one ONNX encoder file in tract, batch 1, one thread, on the bench
//! query set, and prints one JSON line: load time, p50/p95 latency, peak RSS
//! and the mean-pooled embeddings' cosine to a reference file's.
//!
//! Used by `models/measure_forms.sh` to fill the int8 table in
//! `models/README.md`. Run one process per file so RSS is per model:
//!
//! `cargo run --release --example int8_forms -- FILE.onnx TOKENIZER.json [REFERENCE.onnx]`

use std::time::Instant;
use tract_onnx::prelude::*;

mod common;

use common::{bench_ids, load};

fn embed(plan: &Arc<TypedRunnableModel>, ids: &[i64]) -> TractResult<Vec<f32>> {
    let out = common::run(plan, ids)?;
    let v = out[0].to_plain_array_view::<f32>()?;
    let dim = v.shape()[2];
    let mut pooled = vec![0f32; dim];
    for row in v.outer_iter().next().unwrap().outer_iter() {
        for (a, x) in pooled.iter_mut().zip(row.iter()) {
            *a += x;
        }
    }
    slmd::engine::normalize(&mut pooled);
    Ok(pooled)
}

fn main() -> TractResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(
        args.len() >= 2,
        "usage: int8_forms FILE.onnx TOKENIZER.json [REFERENCE.onnx]"
    );
    let ids = bench_ids(&args[1])?;
    let t = Instant::now();
    let plan = load(&args[0])?;
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    let embs: Vec<Vec<f32>> = ids
        .iter()
        .map(|i| embed(&plan, i))
        .collect::<TractResult<_>>()?;
    let runs = 100;
    let mut lat = Vec::with_capacity(runs);
    for r in 0..runs {
        let t = Instant::now();
        embed(&plan, &ids[r % ids.len()])?;
        lat.push(t.elapsed().as_micros() as u64);
    }
    let p50 = slmd::workers::percentile(&mut lat, 50.0);
    let p95 = slmd::workers::percentile(&mut lat, 95.0);
    let hwm = slmd::board::proc_memory_kib("self").map_or(0, |(_, hwm)| hwm);
    let (mut mean_cos, mut min_cos) = (f32::NAN, f32::NAN);
    if let Some(reference) = args.get(2) {
        let r = load(reference)?;
        let cos: Vec<f32> = ids
            .iter()
            .zip(&embs)
            .map(|(i, e)| embed(&r, i).map(|x| slmd::engine::cosine(&x, e)))
            .collect::<TractResult<_>>()?;
        mean_cos = cos.iter().sum::<f32>() / cos.len() as f32;
        min_cos = cos.iter().cloned().fold(f32::INFINITY, f32::min);
    }
    println!(
        "{{\"file\":{:?},\"load_ms\":{load_ms:.0},\"p50_us\":{p50},\"p95_us\":{p95},\"peak_rss_mib\":{:.1},\"cos_mean\":{mean_cos:.5},\"cos_min\":{min_cos:.5}}}",
        args[0],
        hwm as f64 / 1024.0
    );
    Ok(())
}
