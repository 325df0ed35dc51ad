//! The decision on text nobody here templated, through the real model,
//! index and pipeline (`tests/fixtures/sets/`, see models/DATA.md):
//! hand-written hazard reports and near misses, MaintNorm work orders
//! labelled by reading, near-scope equipment outside the knowledge base,
//! hand-written in-scope questions, and long pastes with the hazard at the
//! end. None of these lines is in the model's training data.

mod common;

use slmd::eval::{self, Item, Outcome};
use slmd::labels::{Route, Urgency};
use slmd::triage::ReasonCode;

fn set(name: &str) -> Vec<Item> {
    let path = common::root().join(format!("tests/fixtures/sets/{name}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
        .collect()
}

fn run(items: &[Item]) -> (eval::Report, Vec<Outcome>) {
    let p = common::pipeline();
    let outcomes: Vec<Outcome> = items
        .iter()
        .map(|i| Outcome {
            decision: p.decide(&i.text, false).unwrap(),
            latency_us: 0,
            schema_ok: true,
        })
        .collect();
    (eval::report(items, &outcomes, 0.30), outcomes)
}

fn missed_criticals(items: &[Item], outcomes: &[Outcome]) -> Vec<String> {
    items
        .iter()
        .zip(outcomes)
        .filter(|(i, o)| i.urgency == Urgency::Critical && o.decision.urgency != Urgency::Critical)
        .map(|(i, o)| format!("{} -> {}", i.text, o.decision.urgency))
        .collect()
}

fn local_out_of_scope(items: &[Item], outcomes: &[Outcome]) -> Vec<String> {
    items
        .iter()
        .zip(outcomes)
        .filter(|(i, o)| !i.in_scope && o.decision.route == Route::Local)
        .map(|(i, o)| {
            format!(
                "{} -> {:?}",
                i.text,
                o.decision.sources.first().map(|s| &s.id)
            )
        })
        .collect()
}

#[test]
fn every_hand_written_critical_report_is_caught() {
    for name in ["hazard_a", "hazard_b", "hazard_c"] {
        let items = set(name);
        assert!(items.len() >= 150, "{name} has {} items", items.len());
        let (r, outcomes) = run(&items);
        let missed = missed_criticals(&items, &outcomes);
        assert!(
            missed.is_empty(),
            "{name}: {} of {} critical items missed:\n{}",
            missed.len(),
            r.critical_items,
            missed.join("\n")
        );
        // Measured 2.2 %, 2.3 % and 3.1 % on the near misses (negations,
        // plans, past events, tests, equipment words); the goal is 5 %.
        assert!(
            r.false_critical_rate <= 0.05,
            "{name}: false-critical rate {:.3}",
            r.false_critical_rate
        );
    }
}

/// Sets D and E were written by a fourth and a fifth writer. D was first
/// measured with every critical caught and 23.6 % false critical, E with
/// 91.7 % recall and 26.4 % false critical; the fixes since took them to
/// 5.6 % and 9.7 % false critical, short of the 5 % the other sets are
/// held to, with every critical caught and no out-of-scope item answered
/// locally.
#[test]
fn every_critical_report_of_the_fourth_and_fifth_writers_is_caught() {
    for (name, bound) in [("hazard_d", 0.07), ("hazard_e", 0.11)] {
        let items = set(name);
        assert!(items.len() >= 120, "{name} has {} items", items.len());
        let (r, outcomes) = run(&items);
        let missed = missed_criticals(&items, &outcomes);
        assert!(missed.is_empty(), "{name}:\n{}", missed.join("\n"));
        assert!(
            r.false_critical_rate <= bound,
            "{name}: false-critical rate {:.3}",
            r.false_critical_rate
        );
        let wrong = local_out_of_scope(&items, &outcomes);
        assert!(wrong.is_empty(), "{name}:\n{}", wrong.join("\n"));
    }
}

#[test]
fn near_scope_equipment_is_never_answered_locally() {
    let items = set("near_scope");
    let (r, outcomes) = run(&items);
    let wrong = local_out_of_scope(&items, &outcomes);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(r.out_of_scope_local, 0);
    // Every one of them is refused by the equipment check or the scope.
    for (i, o) in items.iter().zip(&outcomes) {
        assert!(
            !o.decision.in_scope || o.decision.route != Route::Local,
            "{}",
            i.text
        );
    }
}

#[test]
fn hand_written_in_scope_questions_are_answered_in_the_right_domain() {
    let items = set("in_scope");
    let (r, outcomes) = run(&items);
    assert!(
        r.local_category_accuracy >= 0.93,
        "local category accuracy {:.3}",
        r.local_category_accuracy
    );
    assert!(
        r.category.accuracy >= 0.90,
        "category {:.3}",
        r.category.accuracy
    );
    assert!(r.local_coverage >= 0.65, "coverage {:.3}", r.local_coverage);
    // A local answer cites a procedure about the equipment asked about.
    for (i, o) in items.iter().zip(&outcomes) {
        if o.decision.route == Route::Local {
            assert!(
                !o.decision.has_reason(ReasonCode::EquipmentMismatch),
                "{}",
                i.text
            );
        }
    }
}

/// A set of real work orders: at least 400 lines, category accuracy at
/// least `min`, no critical missed, and at most one out-of-scope line
/// answered locally (none on x86_64; the bound leaves room for one
/// borderline item on other targets).
fn work_orders_get_their_fault_domain(name: &str, min: f64) {
    let items = set(name);
    assert!(items.len() >= 400, "{} items", items.len());
    let (r, outcomes) = run(&items);
    assert!(
        r.category.accuracy >= min,
        "category accuracy {:.3} on {name}",
        r.category.accuracy
    );
    assert!(missed_criticals(&items, &outcomes).is_empty());
    let wrong = local_out_of_scope(&items, &outcomes);
    assert!(wrong.len() <= 1, "{}:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn real_work_orders_get_their_fault_domain() {
    // Measured 0.816 with the work-order lexicon tuned on the development
    // set below (0.737 before it; the head alone 0.253). The goal
    // is 0.85: not met yet; this bound keeps it from falling back.
    work_orders_get_their_fault_domain("maintnorm_real", 0.80);
}

/// The development set of real work orders: other MaintNorm lines
/// (`val.norm`), labelled the same way by other readers, on which the
/// work-order lexicon (`triage/domain.rs`) was tuned. Its figure flatters
/// for that reason; the test above is the held-out one.
#[test]
fn real_work_orders_of_the_development_set_get_their_fault_domain() {
    // Measured 0.893 (0.750 before the lexicon was tuned on it).
    work_orders_get_their_fault_domain("maintnorm_dev", 0.87);
}

/// A fault log of about `bytes` bytes: register reads, timestamps and
/// trips, the way a drive or PLC exports it.
fn fault_log(bytes: usize) -> String {
    let mut s = String::from("VFD-7 keeps tripping, log pasted below, what is wrong with it?\n");
    let mut n = 0u32;
    while s.len() < bytes {
        s.push_str(&format!(
            "2026-11-{:02} 03:{:02}:{:02} F{:04} DC bus {} V, Iout {}.{} A, reg 0x{:04X}=0x{:04X} state RUN\n",
            1 + n % 28,
            n % 60,
            (n * 7) % 60,
            2300 + n % 9,
            560 + n % 40,
            10 + n % 7,
            n % 10,
            40001 + n,
            n.wrapping_mul(2654435761) >> 16
        ));
        n += 1;
    }
    s
}

#[test]
fn a_hazard_at_the_end_of_a_long_paste_makes_it_critical() {
    let p = common::pipeline();
    for size in [1900, 3700, 8 * 1024, 15 * 1024] {
        for tail in [
            "btw there's smoke coming out of the door seal now",
            "also the apprentice has the cover off and is probing the terminals with the supply still on",
        ] {
            let text = format!("{}{tail}", fault_log(size));
            assert!(text.len() <= slmd::limits::MAX_TEXT, "{}", text.len());
            let d = p.decide(&text, false).unwrap();
            assert_eq!(d.urgency, Urgency::Critical, "{size} bytes, {tail:?}");
            assert_eq!(d.route, Route::Human);
            assert!(d.answer.starts_with("SAFETY FIRST"), "{}", d.answer);
            // The text was read in windows, and the reasons say which
            // window asked the question.
            assert!(d.has_reason(ReasonCode::QuestionWindow), "{:?}", d.reasons);
            assert!(!d.has_reason(ReasonCode::Truncated), "{:?}", d.reasons);
        }
    }
}

#[test]
fn a_long_paste_without_a_hazard_is_not_critical_and_takes_the_question_from_its_window() {
    let p = common::pipeline();
    let text = fault_log(6 * 1024);
    let d = p.decide(&text, false).unwrap();
    assert_ne!(d.urgency, Urgency::Critical, "{:?}", d.reasons);
    let q = d
        .reasons
        .iter()
        .find(|r| r.code == ReasonCode::QuestionWindow)
        .expect("read in windows");
    // The question is in the first line, so in the first window.
    assert!(q.detail.contains("from window 1 "), "{}", q.detail);
    // The urgency window is named when the model's head decided it.
    if let Some(u) = d
        .reasons
        .iter()
        .find(|r| r.code == ReasonCode::UrgencyWindow)
    {
        assert!(u.detail.starts_with("window "), "{}", u.detail);
    }
}

#[test]
fn the_question_window_is_the_one_that_asks() {
    use slmd::pipeline::question_window;
    let log = "0x0001 0x0002 0x0003 40001=17 40002=0 40003=255 ; 12:00:01 F23";
    assert_eq!(
        question_window(&[log, "why does it trip on decel?", log]),
        1
    );
    assert_eq!(question_window(&[log, log]), 0);
    assert_eq!(
        question_window(&[log, "the pump runs hot after the seal change"]),
        1
    );
}

#[test]
fn every_part_of_a_long_text_is_in_some_window() {
    let p = common::pipeline();
    let text = fault_log(12 * 1024);
    let windows = p.embed(&text).unwrap();
    // 128 tokens a window, 16 shared with the one before: a 12 KiB log
    // needs dozens.
    assert!(windows.len() >= 20, "{} windows", windows.len());
    assert_eq!(windows[0].start, 0);
    for pair in windows.windows(2) {
        assert!(pair[1].start <= pair[0].end, "a gap between windows");
        assert!(pair[1].end > pair[0].end, "windows move forward");
    }
    let last = windows.last().unwrap();
    assert!(
        last.end + 2 >= text.trim_end().len(),
        "{} of {}",
        last.end,
        text.len()
    );
}

#[test]
fn a_text_of_the_protocols_limit_is_read_whole_even_at_a_token_a_byte() {
    let p = common::pipeline();
    // Punctuation is one token a byte: the densest text there is.
    let mut text = "!".repeat(slmd::limits::MAX_TEXT - 80);
    text.push_str(" the fitter is inside the guard and the belt is still running");
    assert!(text.len() <= slmd::limits::MAX_TEXT);
    let d = p.decide(&text, false).unwrap();
    assert!(!d.has_reason(ReasonCode::Truncated), "{:?}", d.reasons);
    assert_eq!(d.urgency, Urgency::Critical, "{:?}", d.reasons);
}
