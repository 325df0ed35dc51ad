//! Quality metrics of the decision pipeline over a labelled set: what
//! `slmd eval` prints. Pure: the caller runs the pipeline and hands over
//! each item's labels and decision.

use crate::labels::{Category, Route, Urgency};
use crate::triage::{Decision, ReasonCode};
use serde::{Deserialize, Serialize};

/// One labelled line of an evaluation file.
#[derive(Debug, Clone, Deserialize)]
pub struct Item {
    pub text: String,
    pub category: Category,
    pub urgency: Urgency,
    pub in_scope: bool,
    pub expect_route: Route,
}

/// What the pipeline did with one item.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub decision: Decision,
    pub latency_us: u64,
    /// The decision passed the schema checks of [`schema_valid`].
    pub schema_ok: bool,
}

/// Accuracy and macro-F1 of one head.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HeadScore {
    pub accuracy: f64,
    pub macro_f1: f64,
}

/// One row of the risk–coverage table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RiskRow {
    pub threshold: f32,
    /// Share of the eligible items answered locally at this threshold.
    pub coverage: f64,
    /// Category accuracy of those local answers.
    pub accuracy: f64,
    pub answered: usize,
}

/// Everything `slmd eval` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub items: usize,
    /// Route as expected, category right when answered locally, and every
    /// critical item marked critical.
    pub task_success: f64,
    pub category: HeadScore,
    pub urgency: HeadScore,
    pub in_scope: HeadScore,
    /// Critical items marked critical, over critical items.
    pub critical_recall: f64,
    pub critical_items: usize,
    /// Critical items the model's urgency head alone marked critical (no
    /// hazard rule), over critical items; 0 for a model without heads.
    pub model_critical_recall: f64,
    /// Critical items a hazard rule named (whatever the head said), over
    /// critical items: how much of the recall rests on the rules.
    pub rules_critical_recall: f64,
    /// Items not critical that were marked critical, over those items.
    pub false_critical_rate: f64,
    /// In-scope low and normal items answered locally, over those items.
    pub local_coverage: f64,
    /// Category accuracy on the items answered locally.
    pub local_category_accuracy: f64,
    pub local_answers: usize,
    /// Out-of-scope items answered locally (must be 0).
    pub out_of_scope_local: usize,
    pub escalation_rate: f64,
    pub human_rate: f64,
    /// Local answers whose cited procedure has the item's category and is
    /// above the similarity floor, over local answers.
    pub grounded_rate: f64,
    pub schema_validity: f64,
    /// Expected calibration error of the decision confidence as the
    /// probability that the category is right (15 equal-width bins).
    pub ece: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub risk_coverage: Vec<RiskRow>,
}

/// What the pipeline got wrong on one item, if anything: a critical item
/// not marked critical, an item marked critical that is not, another
/// urgency, the category, the scope, or an out-of-scope item answered
/// locally.
pub fn miss(item: &Item, d: &Decision) -> Option<String> {
    let mut what = Vec::new();
    if item.urgency == Urgency::Critical && d.urgency != Urgency::Critical {
        what.push(format!("CRITICAL MISSED (said {})", d.urgency));
    } else if item.urgency != Urgency::Critical && d.urgency == Urgency::Critical {
        // Which rule or head made it critical, so a near miss can be fixed
        // where it went wrong.
        let by: Vec<String> = d
            .reasons
            .iter()
            .filter(|r| {
                matches!(
                    r.code,
                    ReasonCode::HazardRule | ReasonCode::UrgencyHead | ReasonCode::HazardProcedure
                )
            })
            .map(|r| format!("{}: {}", r.code.as_str(), r.detail))
            .collect();
        what.push(format!(
            "false critical (is {}; {})",
            item.urgency,
            by.join("; ")
        ));
    } else if item.urgency != d.urgency {
        what.push(format!("urgency {} not {}", d.urgency, item.urgency));
    }
    if item.category != d.category {
        what.push(format!("category {} not {}", d.category, item.category));
    }
    if item.in_scope != d.in_scope {
        what.push(format!("in_scope {} not {}", d.in_scope, item.in_scope));
    }
    if !item.in_scope && d.route == Route::Local {
        let from = d.sources.first().map_or("no procedure", |s| s.id.as_str());
        what.push(format!("OUT OF SCOPE ANSWERED LOCALLY (from {from})"));
    }
    (!what.is_empty()).then(|| what.join(", "))
}

/// Bins of the calibration error.
const ECE_BINS: usize = 15;

/// Checks a decision against the wire contract: finite confidence in
/// [0, 1], a non-empty answer, a local answer cites a source, and it
/// survives the JSON encoding clients read.
pub fn schema_valid(d: &Decision, id: &str) -> bool {
    let msg = crate::api::proto::DecisionMsg::from_decision(crate::api::proto::bounded(id), d, 0);
    let json_ok = serde_json::to_string(&msg)
        .ok()
        .and_then(|s| serde_json::from_str::<crate::api::proto::DecisionMsg>(&s).ok())
        .is_some_and(|back| back == msg);
    json_ok
        && d.confidence.is_finite()
        && (0.0..=1.0).contains(&d.confidence)
        && !d.answer.trim().is_empty()
        && (d.route != Route::Local || !d.sources.is_empty())
}

fn head<T: PartialEq + Copy>(pairs: &[(T, T)], labels: &[T]) -> HeadScore {
    if pairs.is_empty() {
        return HeadScore {
            accuracy: 0.0,
            macro_f1: 0.0,
        };
    }
    let right = pairs.iter().filter(|(t, p)| t == p).count();
    let mut f1s = Vec::new();
    for l in labels {
        let tp = pairs.iter().filter(|(t, p)| t == l && p == l).count() as f64;
        let fp = pairs.iter().filter(|(t, p)| t != l && p == l).count() as f64;
        let fneg = pairs.iter().filter(|(t, p)| t == l && p != l).count() as f64;
        if tp + fp + fneg == 0.0 {
            continue; // label absent from both truth and predictions
        }
        f1s.push(2.0 * tp / (2.0 * tp + fp + fneg));
    }
    HeadScore {
        accuracy: right as f64 / pairs.len() as f64,
        macro_f1: f1s.iter().sum::<f64>() / f1s.len().max(1) as f64,
    }
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() - 1) as f64 * p).round() as usize;
    sorted_us[i] as f64 / 1000.0
}

/// Expected calibration error over (confidence, correct) pairs.
pub fn ece(pairs: &[(f32, bool)]) -> f64 {
    if pairs.is_empty() {
        return 0.0;
    }
    let mut bins = [(0usize, 0.0f64, 0usize); ECE_BINS];
    for (c, ok) in pairs {
        let c = c.clamp(0.0, 1.0) as f64;
        let b = ((c * ECE_BINS as f64) as usize).min(ECE_BINS - 1);
        bins[b].0 += 1;
        bins[b].1 += c;
        bins[b].2 += *ok as usize;
    }
    let n = pairs.len() as f64;
    bins.iter()
        .filter(|b| b.0 > 0)
        .map(|&(k, conf, ok)| (k as f64 / n) * (ok as f64 / k as f64 - conf / k as f64).abs())
        .sum()
}

/// Computes the report. `floor` is the similarity floor of grounding.
pub fn report(items: &[Item], outcomes: &[Outcome], floor: f32) -> Report {
    assert_eq!(items.len(), outcomes.len(), "one outcome per item");
    let n = items.len();
    let pairs = || items.iter().zip(outcomes.iter().map(|o| &o.decision));

    let cat: Vec<_> = pairs().map(|(i, d)| (i.category, d.category)).collect();
    let urg: Vec<_> = pairs().map(|(i, d)| (i.urgency, d.urgency)).collect();
    let scope: Vec<_> = pairs().map(|(i, d)| (i.in_scope, d.in_scope)).collect();

    let critical: Vec<_> = pairs()
        .filter(|(i, _)| i.urgency == Urgency::Critical)
        .collect();
    let critical_hit = critical
        .iter()
        .filter(|(_, d)| d.urgency == Urgency::Critical)
        .count();

    let model_hit = critical
        .iter()
        .filter(|(_, d)| d.model_urgency == Some(Urgency::Critical))
        .count();
    let rule_hit = critical
        .iter()
        .filter(|(_, d)| d.reasons.iter().any(|r| r.code == ReasonCode::HazardRule))
        .count();
    let calm: Vec<_> = pairs()
        .filter(|(i, _)| i.urgency != Urgency::Critical)
        .collect();
    let false_critical = calm
        .iter()
        .filter(|(_, d)| d.urgency == Urgency::Critical)
        .count();

    let routine: Vec<_> = pairs()
        .filter(|(i, _)| i.in_scope && matches!(i.urgency, Urgency::Low | Urgency::Normal))
        .collect();
    let routine_local = routine
        .iter()
        .filter(|(_, d)| d.route == Route::Local)
        .count();

    let local: Vec<_> = pairs().filter(|(_, d)| d.route == Route::Local).collect();
    let local_right = local
        .iter()
        .filter(|(i, d)| i.category == d.category)
        .count();
    let grounded = local
        .iter()
        .filter(|(i, d)| {
            d.sources.first().is_some_and(|s| s.score >= floor)
                && d.category == i.category
                && d.has_reason(crate::triage::ReasonCode::Grounded)
        })
        .count();
    let oos_local = local.iter().filter(|(i, _)| !i.in_scope).count();

    let success = pairs()
        .filter(|(i, d)| {
            d.route == i.expect_route
                && (d.route != Route::Local || d.category == i.category)
                && (i.urgency != Urgency::Critical || d.urgency == Urgency::Critical)
        })
        .count();

    let calib: Vec<(f32, bool)> = pairs()
        .filter(|(_, d)| d.in_scope)
        .map(|(i, d)| (d.confidence, d.category == i.category))
        .collect();

    let mut lat: Vec<u64> = outcomes.iter().map(|o| o.latency_us).collect();
    lat.sort_unstable();

    // Risk–coverage: items the policy may answer locally at all (not sent to
    // a person by a rule), answered when confidence reaches the threshold.
    let eligible: Vec<_> = pairs()
        .filter(|(_, d)| d.route != Route::Human && d.in_scope)
        .collect();
    let eligible_all = pairs().filter(|(_, d)| d.route != Route::Human).count();
    let risk_coverage = (0..10)
        .map(|k| {
            let t = k as f32 / 10.0;
            let ans: Vec<_> = eligible.iter().filter(|(_, d)| d.confidence >= t).collect();
            let right = ans
                .iter()
                .filter(|(i, d)| i.in_scope && i.category == d.category)
                .count();
            RiskRow {
                threshold: t,
                coverage: ratio(ans.len(), eligible_all),
                accuracy: ratio(right, ans.len()),
                answered: ans.len(),
            }
        })
        .collect();

    Report {
        items: n,
        task_success: ratio(success, n),
        category: head(&cat, Category::ALL),
        urgency: head(&urg, Urgency::ALL),
        in_scope: head(&scope, &[true, false]),
        critical_recall: ratio(critical_hit, critical.len()),
        critical_items: critical.len(),
        model_critical_recall: ratio(model_hit, critical.len()),
        rules_critical_recall: ratio(rule_hit, critical.len()),
        false_critical_rate: ratio(false_critical, calm.len()),
        local_coverage: ratio(routine_local, routine.len()),
        local_category_accuracy: ratio(local_right, local.len()),
        local_answers: local.len(),
        out_of_scope_local: oos_local,
        escalation_rate: ratio(
            pairs().filter(|(_, d)| d.route == Route::Escalate).count(),
            n,
        ),
        human_rate: ratio(pairs().filter(|(_, d)| d.route == Route::Human).count(), n),
        grounded_rate: ratio(grounded, local.len()),
        schema_validity: ratio(outcomes.iter().filter(|o| o.schema_ok).count(), n),
        ece: ece(&calib),
        p50_ms: percentile_ms(&lat, 0.50),
        p95_ms: percentile_ms(&lat, 0.95),
        risk_coverage,
    }
}

impl Report {
    /// The report as text for people.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let pct = |x: f64| format!("{:6.1} %", x * 100.0);
        let mut s = String::new();
        let _ = writeln!(s, "items                      {}", self.items);
        let _ = writeln!(s, "task success               {}", pct(self.task_success));
        for (name, h) in [
            ("category", &self.category),
            ("urgency", &self.urgency),
            ("in scope", &self.in_scope),
        ] {
            let _ = writeln!(
                s,
                "{name:<10} accuracy        {}   macro-F1 {:.3}",
                pct(h.accuracy),
                h.macro_f1
            );
        }
        let _ = writeln!(
            s,
            "critical recall            {}   ({} critical items)",
            pct(self.critical_recall),
            self.critical_items
        );
        let _ = writeln!(
            s,
            "  model alone              {}   (urgency head, no hazard rule)",
            pct(self.model_critical_recall)
        );
        let _ = writeln!(
            s,
            "  rules alone              {}   (a hazard rule named it)",
            pct(self.rules_critical_recall)
        );
        let _ = writeln!(
            s,
            "false-critical rate        {}   (items not critical marked critical)",
            pct(self.false_critical_rate)
        );
        let _ = writeln!(
            s,
            "local coverage             {}   (in-scope low/normal answered locally)",
            pct(self.local_coverage)
        );
        let _ = writeln!(
            s,
            "local category accuracy    {}   ({} local answers)",
            pct(self.local_category_accuracy),
            self.local_answers
        );
        let _ = writeln!(s, "out-of-scope answered here {}", self.out_of_scope_local);
        let _ = writeln!(
            s,
            "escalation rate            {}",
            pct(self.escalation_rate)
        );
        let _ = writeln!(s, "human rate                 {}", pct(self.human_rate));
        let _ = writeln!(s, "grounded-answer rate       {}", pct(self.grounded_rate));
        let _ = writeln!(
            s,
            "schema validity            {}",
            pct(self.schema_validity)
        );
        let _ = writeln!(s, "ECE (category confidence)  {:.3}", self.ece);
        let _ = writeln!(
            s,
            "latency                    p50 {:.1} ms   p95 {:.1} ms",
            self.p50_ms, self.p95_ms
        );
        let _ = writeln!(
            s,
            "\nrisk-coverage (answer locally when confidence >= threshold)"
        );
        let _ = writeln!(s, "threshold  coverage  accuracy  answered");
        for r in &self.risk_coverage {
            let _ = writeln!(
                s,
                "  {:.1}      {}  {}  {:>6}",
                r.threshold,
                pct(r.coverage),
                pct(r.accuracy),
                r.answered
            );
        }
        s
    }
}

/// One setting tried by `slmd eval --tune`, with what it gave.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TuneRow {
    pub retrieval_weight: f32,
    pub in_scope_min: f32,
    pub local_threshold: f32,
    /// Per category, in [`Category::ALL`] order (`[policy.thresholds]`).
    pub category_thresholds: [f32; 7],
    pub critical_recall: f64,
    pub local_category_accuracy: f64,
    pub local_coverage: f64,
    pub out_of_scope_local: usize,
    /// Out-of-scope items answered locally with every threshold one step
    /// ([`OOS_MARGIN`]) lower: a setting that keeps them out only by a hair
    /// is not trusted to keep them out on other data.
    pub out_of_scope_margin: usize,
    pub task_success: f64,
    pub ece: f64,
}

/// How far under the chosen thresholds `slmd eval --tune` still wants no
/// out-of-scope item answered locally.
pub const OOS_MARGIN: f32 = 0.05;

impl TuneRow {
    /// The row for one setting from its report, and the count of
    /// out-of-scope items answered locally at thresholds [`OOS_MARGIN`] lower.
    pub fn from_report(
        retrieval_weight: f32,
        in_scope_min: f32,
        local_threshold: f32,
        category_thresholds: [f32; 7],
        r: &Report,
        out_of_scope_margin: usize,
    ) -> Self {
        TuneRow {
            retrieval_weight,
            in_scope_min,
            local_threshold,
            category_thresholds,
            critical_recall: r.critical_recall,
            local_category_accuracy: r.local_category_accuracy,
            local_coverage: r.local_coverage,
            out_of_scope_local: r.out_of_scope_local,
            out_of_scope_margin,
            task_success: r.task_success,
            ece: r.ece,
        }
    }
}

/// What `slmd eval --tune` aims for on the tuning split.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct TuneTargets {
    /// Category accuracy of local answers, at least.
    pub accuracy: f64,
    /// Share of in-scope low/normal items answered locally, at least.
    pub coverage: f64,
    /// Expected calibration error of the confidence, at most.
    pub ece: f64,
}

impl TuneTargets {
    /// Which targets `r` meets: (accuracy, coverage, ECE).
    fn met(&self, r: &TuneRow) -> (bool, bool, bool) {
        (
            r.local_category_accuracy >= self.accuracy,
            r.local_coverage >= self.coverage,
            r.ece <= self.ece,
        )
    }

    /// Whether `r` meets every target.
    pub fn all_met(&self, r: &TuneRow) -> bool {
        self.met(r) == (true, true, true)
    }
}

/// The setting `slmd eval --tune` recommends, and whether it meets every
/// target. Only settings with the best critical recall of all and no
/// out-of-scope item answered locally, even with the thresholds
/// [`OOS_MARGIN`] lower, are considered; failing any, those with none
/// answered at the thresholds themselves; failing that, all. Among those,
/// it prefers one that reaches the accuracy target,
/// then one that meets more of the other two targets, then the widest local
/// coverage and the best task success. When none reaches the accuracy
/// target, it takes the most accurate local answers, so the device errs
/// towards escalating. `None` only for an empty grid.
pub fn choose(rows: &[TuneRow], targets: &TuneTargets) -> Option<(usize, bool)> {
    use std::cmp::Ordering;
    let best_recall = rows
        .iter()
        .map(|r| r.critical_recall)
        .fold(f64::NAN, f64::max);
    let safe = |margin: bool| -> Vec<usize> {
        (0..rows.len())
            .filter(|&i| {
                let r = &rows[i];
                r.critical_recall >= best_recall
                    && r.out_of_scope_local == 0
                    && (!margin || r.out_of_scope_margin == 0)
            })
            .collect()
    };
    let pool = [safe(true), safe(false), (0..rows.len()).collect()]
        .into_iter()
        .find(|p| !p.is_empty())
        .unwrap_or_default();
    let cmp = |a: &usize, b: &usize| -> Ordering {
        let (ra, rb) = (&rows[*a], &rows[*b]);
        let (aa, ac, ae) = targets.met(ra);
        let (ba, bc, be) = targets.met(rb);
        let others = |c: bool, e: bool| u8::from(c) + u8::from(e);
        aa.cmp(&ba)
            .then_with(|| {
                if aa {
                    others(ac, ae).cmp(&others(bc, be))
                } else {
                    ra.local_category_accuracy
                        .partial_cmp(&rb.local_category_accuracy)
                        .unwrap_or(Ordering::Equal)
                }
            })
            .then_with(|| {
                (ra.local_coverage, ra.task_success)
                    .partial_cmp(&(rb.local_coverage, rb.task_success))
                    .unwrap_or(Ordering::Equal)
            })
    };
    let best = pool.into_iter().max_by(cmp)?;
    Some((best, targets.all_met(&rows[best])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: f32, recall: f64, acc: f64, cov: f64, oos: usize) -> TuneRow {
        TuneRow {
            retrieval_weight: 0.3,
            in_scope_min: 0.5,
            local_threshold: t,
            category_thresholds: [t; 7],
            critical_recall: recall,
            local_category_accuracy: acc,
            local_coverage: cov,
            out_of_scope_local: oos,
            out_of_scope_margin: oos,
            task_success: 0.8,
            ece: 0.05,
        }
    }

    #[test]
    fn tuning_takes_the_widest_coverage_that_stays_safe_and_accurate() {
        let t = TuneTargets {
            accuracy: 0.90,
            coverage: 0.70,
            ece: 0.05,
        };
        let mut rows = vec![
            row(0.3, 1.0, 0.85, 0.90, 0),  // not accurate enough
            row(0.5, 1.0, 0.91, 0.75, 2),  // answers out-of-scope items
            row(0.6, 0.99, 0.93, 0.80, 0), // misses a critical case
            row(0.7, 1.0, 0.92, 0.72, 0),
            row(0.8, 1.0, 0.96, 0.60, 0),
        ];
        assert_eq!(choose(&rows, &t), Some((3, true)));
        // Badly calibrated there: a setting that meets more targets wins
        // over wider coverage.
        rows[3].ece = 0.09;
        rows[4].local_coverage = 0.71;
        assert_eq!(choose(&rows, &t), Some((4, true)));
        // Nothing reaches 97 %: the most accurate safe setting, not met.
        let strict = TuneTargets {
            accuracy: 0.97,
            ..t
        };
        assert_eq!(choose(&rows, &strict), Some((4, false)));
        assert_eq!(choose(&[], &t), None);
    }

    #[test]
    fn tuning_passes_over_a_setting_that_keeps_out_of_scope_items_out_by_a_hair() {
        let t = TuneTargets {
            accuracy: 0.90,
            coverage: 0.70,
            ece: 0.05,
        };
        let mut rows = vec![row(0.6, 1.0, 0.92, 0.80, 0), row(0.7, 1.0, 0.93, 0.72, 0)];
        // One step lower, the wider setting would answer an out-of-scope item.
        rows[0].out_of_scope_margin = 1;
        assert_eq!(choose(&rows, &t), Some((1, true)));
        // With no setting that has the margin, one without it is still taken.
        rows[1].out_of_scope_margin = 2;
        assert_eq!(choose(&rows, &t), Some((0, true)));
    }

    #[test]
    fn perfectly_calibrated_bins_have_zero_error() {
        let pairs: Vec<(f32, bool)> = (0..10).map(|i| (0.5, i % 2 == 0)).collect();
        assert!(ece(&pairs) < 1e-9);
        // Always 90 % sure, always wrong: error 0.9.
        let wrong = vec![(0.9, false); 4];
        assert!((ece(&wrong) - 0.9).abs() < 1e-6);
    }

    #[test]
    fn macro_f1_averages_over_present_labels() {
        let pairs = [(1, 1), (1, 2), (2, 2), (2, 2)];
        let h = head(&pairs, &[1, 2, 3]);
        assert!((h.accuracy - 0.75).abs() < 1e-9);
        // label 1: tp1 fp0 fn1 -> 2/3; label 2: tp2 fp1 fn0 -> 0.8
        assert!((h.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
    }
}
