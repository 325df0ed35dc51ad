//! `slmd eval FILE.jsonl [--json]`: runs exactly the daemon's pipeline over
//! a labelled set and prints the quality metrics.

use crate::eval::{self, Item, Outcome};
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
pub fn run(pipeline: &Pipeline, file: &Path, json: bool, floor: f32) -> anyhow::Result<()> {
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
    Ok(())
}
