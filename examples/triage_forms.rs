//! Times one triage model file in tract (batch 1, one thread, one symbolic plan)
//! on slmd's bench queries and prints one JSON line: load time, p50/p95 latency
//! of a full forward pass (embedding and heads), peak RSS. With a reference.json
//! it also runs each reference sentence and reports the cosine of tract's
//! normalised `embedding` to the file's `vectors`, the largest head-logit
//! difference and whether every head's argmax agrees (and, where it does not,
//! the largest reference top-1/top-2 margin among those near-ties).
//!
//! Called by `models/export.py` for the triage models' REPORT.md:
//!
//! `cargo run --example triage_forms -- MODEL.onnx TOKENIZER.json [REFERENCE.json]`

use std::time::Instant;
use tract_onnx::prelude::*;

mod common;

use common::{bench_ids, load};

/// Runs one sequence; returns every output as a flat f32 vector, by output name.
fn run(plan: &Arc<TypedRunnableModel>, ids: &[i64]) -> TractResult<Vec<(String, Vec<f32>)>> {
    let model = plan.model();
    let out = common::run(plan, ids)?;
    let names: Vec<String> = model
        .outputs
        .iter()
        .map(|o| {
            model
                .outlet_label(*o)
                .map(String::from)
                .unwrap_or_else(|| model.node(o.node).name.clone())
        })
        .collect();
    out.iter()
        .zip(names)
        .map(|(t, n)| Ok((n, t.to_plain_array_view::<f32>()?.iter().copied().collect())))
        .collect()
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold(
            (0, f32::NEG_INFINITY),
            |a, (i, &x)| if x > a.1 { (i, x) } else { a },
        )
        .0
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(
        args.len() >= 2,
        "usage: triage_forms MODEL.onnx TOKENIZER.json [REFERENCE.json]"
    );
    let ids = bench_ids(&args[1])?;
    let t = Instant::now();
    let plan = load(&args[0])?;
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    for i in &ids {
        run(&plan, i)?;
    }
    let runs = 200;
    let mut lat = Vec::with_capacity(runs);
    for r in 0..runs {
        let t = Instant::now();
        run(&plan, &ids[r % ids.len()])?;
        lat.push(t.elapsed().as_micros() as u64);
    }
    let p50 = slmd::workers::percentile(&mut lat, 50.0);
    let p95 = slmd::workers::percentile(&mut lat, 95.0);
    let hwm = slmd::board::proc_memory_kib("self").map_or(0, |(_, hwm)| hwm);
    let mut check = String::new();
    if let Some(reference) = args.get(2) {
        let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(reference)?)?;
        let (mut min_cos, mut max_diff, mut agree, mut n) = (f32::INFINITY, 0f32, true, 0);
        // Reference top-1 minus top-2 margin of each head where tract's argmax differs (near-ties).
        let mut flip_margin = 0f32;
        for (k, tids) in r["token_ids"].as_array().unwrap().iter().enumerate() {
            let tids: Vec<i64> = tids
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect();
            for (name, mut v) in run(&plan, &tids)? {
                if name == "embedding" {
                    slmd::engine::normalize(&mut v);
                    let want: Vec<f32> = r["vectors"][k]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap() as f32)
                        .collect();
                    min_cos = min_cos.min(slmd::engine::cosine(&v, &want));
                } else {
                    let head = name.trim_end_matches("_logits");
                    let want: Vec<f32> = r["logits"][k][head]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap() as f32)
                        .collect();
                    for (a, b) in v.iter().zip(&want) {
                        max_diff = max_diff.max((a - b).abs());
                    }
                    if argmax(&v) != argmax(&want) {
                        agree = false;
                        let top = want[argmax(&want)];
                        let second = want
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i != argmax(&want))
                            .fold(f32::NEG_INFINITY, |a, (_, &x)| a.max(x));
                        flip_margin = flip_margin.max(top - second);
                    }
                }
            }
            n += 1;
        }
        check = format!(",\"reference_sentences\":{n},\"cos_min\":{min_cos:.6},\"logit_max_abs_diff\":{max_diff:.5},\"argmax_agree\":{agree},\"flip_margin_max\":{flip_margin:.5}");
    }
    println!(
        "{{\"file\":{:?},\"load_ms\":{load_ms:.0},\"runs\":{runs},\"p50_us\":{p50},\"p95_us\":{p95},\"peak_rss_mib\":{:.1}{check}}}",
        args[0],
        hwm as f64 / 1024.0
    );
    Ok(())
}
