//! `slmd eval FILE.jsonl [--json]`: runs exactly the daemon's pipeline over
//! a labelled set and prints the quality metrics.

use crate::eval::{self, Item, Outcome};
use crate::labels::{Category, Route};
use crate::pipeline::Pipeline;
use anyhow::Context;
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

/// Reads the labelled lines; a bad line is an error naming its number.
pub fn read_items(path: &Path) -> anyhow::Result<Vec<Item>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut items = Vec::new();
    for (n, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("{}:{}: cannot read", path.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let item: Item = serde_json::from_str(&line).with_context(|| {
            format!(
                "{}:{}: expected {{text, category, urgency, in_scope, expect_route}}",
                path.display(),
                n + 1
            )
        })?;
        items.push(item);
    }
    anyhow::ensure!(!items.is_empty(), "{} has no items", path.display());
    Ok(items)
}

/// Runs the pipeline over `file` and prints the report.
pub fn run(
    pipeline: &Pipeline,
    file: &Path,
    json: bool,
    misses: bool,
    floor: f32,
) -> anyhow::Result<()> {
    let items = read_items(file)?;
    let mut outcomes = Vec::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        let t = Instant::now();
        let decision = pipeline
            .decide(&item.text, false)
            .with_context(|| format!("item {} failed", n + 1))?;
        let latency_us = t.elapsed().as_micros() as u64;
        let schema_ok = eval::schema_valid(&decision, &format!("e{}", n + 1));
        outcomes.push(Outcome {
            decision,
            latency_us,
            schema_ok,
        });
    }
    let report = eval::report(&items, &outcomes, floor);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    if misses {
        for (n, (item, o)) in items.iter().zip(&outcomes).enumerate() {
            if let Some(what) = eval::miss(item, &o.decision) {
                println!("{}: {what}: {}", n + 1, item.text);
            }
        }
    }
    Ok(())
}

/// Values tried for each setting by `--tune`.
const TUNE_RETRIEVAL_WEIGHT: [f32; 6] = [0.0, 0.2, 0.35, 0.5, 0.65, 0.8];
const TUNE_IN_SCOPE_MIN: [f32; 6] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
/// `policy.local_threshold` from 0.30 to 0.90 in steps of 0.05.
const TUNE_THRESHOLD_STEPS: usize = 13;

fn threshold_step(k: usize) -> f32 {
    // Rounded to two decimals, so the printed value is the one scored.
    ((30 + 5 * k) as f32) / 100.0
}

/// `slmd eval --tune`: runs the model once per item, then the rest of the
/// pipeline under every combination of `triage.retrieval_weight`,
/// `policy.in_scope_min` and `policy.local_threshold` in a fixed grid, takes
/// the setting [`eval::choose`] recommends for `targets`, with `per_category`
/// refines each category's threshold from there, and prints the result. Tune on a
/// development split, never on the test split.
pub fn tune(
    pipeline: &Pipeline,
    file: &Path,
    json: bool,
    targets: eval::TuneTargets,
    per_category: bool,
) -> anyhow::Result<()> {
    for (name, v) in [
        ("accuracy", targets.accuracy),
        ("coverage", targets.coverage),
        ("ece", targets.ece),
    ] {
        anyhow::ensure!(
            (0.0..=1.0).contains(&v),
            "--target-{name} must lie in [0, 1], got {v}"
        );
    }
    let items = read_items(file)?;
    let base = pipeline.triage_config();
    let t = Instant::now();
    let embedded = items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            pipeline
                .embed(&item.text)
                .with_context(|| format!("item {} failed", n + 1))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    tracing::info!(
        items = items.len(),
        ms = t.elapsed().as_millis() as u64,
        "embedded"
    );

    // One pass of the pipeline with every local answer allowed (threshold
    // 0). A threshold only turns a local answer whose confidence is under
    // it into an escalation (eval runs with egress allowed and no budget
    // limit), so this pass serves every threshold.
    let open_pass = |rw: f32, ism: f32| -> anyhow::Result<Vec<Outcome>> {
        let mut cfg = (*base).clone();
        cfg.retrieval_weight = rw;
        cfg.policy.in_scope_min = ism;
        cfg.policy.category_thresholds = [0.0; 7];
        items
            .iter()
            .zip(&embedded)
            .enumerate()
            .map(|(n, (item, e))| {
                let decision = pipeline
                    .decide_windows(&item.text, e, false, &cfg)
                    .with_context(|| format!("item {} failed", n + 1))?;
                Ok(Outcome {
                    decision,
                    latency_us: 0,
                    schema_ok: true,
                })
            })
            .collect()
    };
    let apply = |open: &[Outcome], thr: [f32; 7]| -> Vec<Outcome> {
        open.iter()
            .map(|o| {
                let mut o = o.clone();
                let below = o.decision.confidence < thr[o.decision.category.index()];
                if o.decision.route == Route::Local && below {
                    o.decision.route = Route::Escalate;
                    o.decision.escalate = true;
                }
                o
            })
            .collect()
    };
    let score = |open: &[Outcome], rw: f32, ism: f32, local: f32, thr: [f32; 7]| -> eval::TuneRow {
        let report = eval::report(&items, &apply(open, thr), base.similarity_floor);
        // Out-of-scope items that thresholds OOS_MARGIN lower would answer locally.
        let margin = open
            .iter()
            .zip(&items)
            .filter(|(o, i)| {
                !i.in_scope
                    && o.decision.route == Route::Local
                    && o.decision.confidence >= thr[o.decision.category.index()] - eval::OOS_MARGIN
            })
            .count();
        eval::TuneRow::from_report(rw, ism, local, thr, &report, margin)
    };

    let mut rows = Vec::new();
    for &rw in &TUNE_RETRIEVAL_WEIGHT {
        for &ism in &TUNE_IN_SCOPE_MIN {
            let open = open_pass(rw, ism)?;
            for k in 0..TUNE_THRESHOLD_STEPS {
                let t = threshold_step(k);
                rows.push(score(&open, rw, ism, t, [t; 7]));
            }
        }
    }
    let (chosen, _) = eval::choose(&rows, &targets).context("empty tuning grid")?;

    // With `per_category`, then each category's own threshold
    // (`[policy.thresholds]`), one at a time from the chosen setting, kept
    // only where the choice strictly improves; two rounds.
    let mut best = rows[chosen].clone();
    if per_category {
        let open = open_pass(best.retrieval_weight, best.in_scope_min)?;
        for _ in 0..2 {
            for ci in 0..Category::ALL.len() {
                for k in 0..TUNE_THRESHOLD_STEPS {
                    let mut thr = best.category_thresholds;
                    thr[ci] = threshold_step(k);
                    if thr == best.category_thresholds {
                        continue;
                    }
                    let cand = score(
                        &open,
                        best.retrieval_weight,
                        best.in_scope_min,
                        best.local_threshold,
                        thr,
                    );
                    // `choose` keeps the later of equals, so the candidate
                    // comes first and wins only when strictly better.
                    if eval::choose(&[cand.clone(), best.clone()], &targets).map(|x| x.0) == Some(0)
                    {
                        best = cand;
                    }
                }
            }
        }
    }
    let met = targets.all_met(&best);
    let c = &best;
    if json {
        let out = serde_json::json!({
            "items": items.len(),
            "settings_tried": rows.len(),
            "targets": targets,
            "met": met,
            "chosen": c,
            "grid": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let pct = |x: f64| format!("{:5.1} %", x * 100.0);
    println!(
        "{} items, {} settings tried; targets: local answers {} accurate, coverage {}, ECE {:.3}",
        items.len(),
        rows.len(),
        pct(targets.accuracy),
        pct(targets.coverage),
        targets.ece
    );
    println!("rw    scope  thr   crit.rec  local acc  coverage  oos  success  ECE");
    let mut order: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].out_of_scope_local == 0)
        .collect();
    order.sort_by(|a, b| {
        rows[*b]
            .local_coverage
            .partial_cmp(&rows[*a].local_coverage)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for &i in order
        .iter()
        .filter(|&&i| rows[i].local_category_accuracy >= targets.accuracy)
        .take(10)
    {
        let r = &rows[i];
        println!(
            "{:.2}  {:.2}   {:.2}  {}   {}    {}   {:>3}  {}  {:.3}{}",
            r.retrieval_weight,
            r.in_scope_min,
            r.local_threshold,
            pct(r.critical_recall),
            pct(r.local_category_accuracy),
            pct(r.local_coverage),
            r.out_of_scope_local,
            pct(r.task_success),
            r.ece,
            if i == chosen {
                "  <- best of the grid"
            } else {
                ""
            }
        );
    }
    if !met {
        println!(
            "no setting meets every target without missing a critical case or answering an \
             out-of-scope item; the best one found is shown below"
        );
    }
    println!(
        "\n[triage]\nretrieval_weight = {:.2}\n\n[policy]\nlocal_threshold = {:.2}\nin_scope_min = {:.2}",
        c.retrieval_weight, c.local_threshold, c.in_scope_min
    );
    let own: Vec<String> = Category::ALL
        .iter()
        .zip(c.category_thresholds)
        .filter(|(_, t)| (t - c.local_threshold).abs() > 1e-6)
        .map(|(cat, t)| format!("{cat} = {t:.2}"))
        .collect();
    if !own.is_empty() {
        println!("\n[policy.thresholds]\n{}", own.join("\n"));
    }
    println!(
        "# gives: critical recall {}, local accuracy {}, coverage {}, {} out-of-scope answered locally",
        pct(c.critical_recall),
        pct(c.local_category_accuracy),
        pct(c.local_coverage),
        c.out_of_scope_local
    );
    Ok(())
}
