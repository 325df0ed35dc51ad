//! The decision policy: `local`, `escalate` or `human`, from the signals
//! triage computed and the device's situation. Pure: no I/O, no clock; the
//! caller passes connectivity and the escalation budget in.
//!
//! The rules, in order:
//! 1. A request to send configuration, credentials or customer data
//!    anywhere is refused and goes to a person.
//! 2. A critical case goes to a person (the answer carries the local safety
//!    steps) and is also escalated when egress and the budget allow.
//! 3. A question that needs a safety or liability sign-off goes to a person.
//! 4. Out of scope, or a calibrated confidence under the category's
//!    threshold, or a cited passage under the similarity floor: escalate;
//!    a person when the request forbids egress or the budget is spent.
//! 5. Otherwise the device answers locally.

use crate::labels::{Category, Route, Urgency};
use crate::triage::{Reason, ReasonCode};

/// Thresholds of the policy; they come from the `[policy]` config table so
/// fleet operators can change them.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// Minimum calibrated confidence to answer locally, per category, in
    /// [`Category::ALL`] order.
    pub category_thresholds: [f32; 7],
    /// Below this probability of being in scope, a query is out of scope.
    pub in_scope_min: f32,
    /// The cited passage must be at least this similar to answer locally.
    pub similarity_floor: f32,
    /// Escalate critical cases as well as handing them to a person.
    pub escalate_critical: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            category_thresholds: [0.45; 7],
            in_scope_min: 0.5,
            similarity_floor: 0.30,
            escalate_critical: true,
        }
    }
}

impl PolicyConfig {
    pub fn threshold(&self, c: Category) -> f32 {
        self.category_thresholds[c.index()]
    }
}

/// The uplink as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connectivity {
    /// Session up: an escalation goes out now.
    Online,
    /// No session (or no broker): an escalation is queued in the outbox.
    #[default]
    Offline,
}

/// What triage measured about one query.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    pub category: Category,
    /// Calibrated probability of `category`.
    pub confidence: f32,
    /// Probability that the query is within the knowledge base's scope.
    pub in_scope: f32,
    /// A topic the knowledge base never covers was named.
    pub off_topic: bool,
    /// The question names equipment of another kind than the cited
    /// procedure's (what it names and what the procedure is about).
    pub equipment_mismatch: Option<String>,
    /// Similarity of the best retrieved passage.
    pub similarity: f32,
    /// Urgency after the hazard rules (never lowered by the text).
    pub urgency: Urgency,
    /// What, in the text, asks for a sign-off.
    pub sign_off: Option<String>,
    /// What, in the text, asks to send data away.
    pub data_request: Option<String>,
}

/// The device's situation for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Situation {
    /// The request forbids anything leaving the device.
    pub no_egress: bool,
    pub connectivity: Connectivity,
    /// Escalations still allowed in the current budget window.
    pub budget_left: u32,
}

impl Default for Situation {
    fn default() -> Self {
        Situation {
            no_egress: false,
            connectivity: Connectivity::Offline,
            budget_left: u32::MAX,
        }
    }
}

/// The policy's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub route: Route,
    /// The request is (to be) sent to the central service. True for every
    /// `escalate` route, and for `human` cases that are also escalated.
    pub escalate: bool,
    pub reasons: Vec<Reason>,
}

/// Applies the rules in the module documentation.
pub fn decide(s: &Signals, at: &Situation, cfg: &PolicyConfig) -> Verdict {
    let mut reasons = Vec::new();
    let mut why = |code: ReasonCode, detail: String| reasons.push(Reason { code, detail });
    if let Some(said) = &s.data_request {
        why(
            ReasonCode::DataRequestRefused,
            format!(
                "configuration, credentials and customer data never leave the device: {said:?}"
            ),
        );
        return Verdict {
            route: Route::Human,
            escalate: false,
            reasons,
        };
    }
    if s.urgency == Urgency::Critical {
        why(
            ReasonCode::CriticalToHuman,
            "people or major assets at risk: safety steps now, a person decides".into(),
        );
        let escalate = cfg.escalate_critical && may_send(at, &mut why);
        return Verdict {
            route: Route::Human,
            escalate,
            reasons,
        };
    }
    if let Some(said) = &s.sign_off {
        why(
            ReasonCode::SignOffRequired,
            format!("needs a person's sign-off: {said:?}"),
        );
        return Verdict {
            route: Route::Human,
            escalate: false,
            reasons,
        };
    }

    let threshold = cfg.threshold(s.category);
    let out_of_scope = s.off_topic || s.in_scope < cfg.in_scope_min;
    let weak = s.confidence < threshold;
    let ungrounded = s.similarity < cfg.similarity_floor;
    let mismatch = s.equipment_mismatch.is_some() && !out_of_scope;
    if !(out_of_scope || weak || ungrounded || mismatch) {
        return Verdict {
            route: Route::Local,
            escalate: false,
            reasons,
        };
    }
    // Why a query is out of scope is the caller's to explain (the topic,
    // the similarity, the in-scope head); the route is decided here.
    if weak && !out_of_scope {
        why(
            ReasonCode::LowConfidence,
            format!(
                "confidence {:.2} under the {} threshold {threshold:.2}",
                s.confidence, s.category
            ),
        );
    }
    if let (Some(said), true) = (&s.equipment_mismatch, mismatch) {
        why(
            ReasonCode::EquipmentMismatch,
            format!("the cited procedure is about other equipment: {said}"),
        );
    }
    if ungrounded && !out_of_scope {
        why(
            ReasonCode::Ungrounded,
            format!(
                "best passage {:.2} under the floor {:.2}",
                s.similarity, cfg.similarity_floor
            ),
        );
    }
    if may_send(at, &mut why) {
        Verdict {
            route: Route::Escalate,
            escalate: true,
            reasons,
        }
    } else {
        Verdict {
            route: Route::Human,
            escalate: false,
            reasons,
        }
    }
}

/// The largest escalation budget per hour that can be configured.
pub const MAX_PER_HOUR: u32 = 10_000;

/// The escalation budget: at most `per_hour` escalations in any sliding
/// hour. The pipeline reads what is left when it decides; the server spends
/// one when an escalation is stored. Kept in memory: a restart starts a
/// fresh window. Fleet operators may change the limit while it runs.
#[derive(Debug)]
pub struct Budget {
    per_hour: std::sync::atomic::AtomicU32,
    spent: std::sync::Mutex<std::collections::VecDeque<std::time::Instant>>,
}

impl Budget {
    const WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);

    /// `per_hour = 0` means no limit.
    pub fn new(per_hour: u32) -> Budget {
        Budget {
            per_hour: per_hour.into(),
            spent: std::sync::Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// Changes the limit; escalations already spent in the window count
    /// against the new one.
    pub fn set_per_hour(&self, per_hour: u32) {
        self.per_hour
            .store(per_hour, std::sync::atomic::Ordering::Relaxed);
    }

    fn per_hour(&self) -> u32 {
        self.per_hour.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Escalations still allowed now.
    pub fn left(&self) -> u32 {
        self.left_at(std::time::Instant::now())
    }

    fn left_at(&self, now: std::time::Instant) -> u32 {
        let per_hour = self.per_hour();
        if per_hour == 0 {
            return u32::MAX;
        }
        let mut q = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        while q
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= Self::WINDOW)
        {
            q.pop_front();
        }
        per_hour.saturating_sub(q.len() as u32)
    }

    /// Counts one escalation.
    pub fn spend(&self) {
        self.spend_at(std::time::Instant::now());
    }

    fn spend_at(&self, now: std::time::Instant) {
        // Counted even without a limit, so a limit set later sees the
        // escalations of the last hour; never more than the largest limit.
        let mut q = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        q.push_back(now);
        while q.len() > MAX_PER_HOUR as usize
            || q.front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= Self::WINDOW)
        {
            q.pop_front();
        }
    }
}

/// Whether the request may leave the device; says why not, or that it
/// waits in the outbox.
fn may_send(at: &Situation, why: &mut impl FnMut(ReasonCode, String)) -> bool {
    if at.no_egress {
        why(
            ReasonCode::NoEgress,
            "escalation forbidden for this request".into(),
        );
        return false;
    }
    if at.budget_left == 0 {
        why(
            ReasonCode::BudgetExhausted,
            "escalation budget for this hour is spent".into(),
        );
        return false;
    }
    if at.connectivity == Connectivity::Offline {
        why(
            ReasonCode::QueuedOffline,
            "uplink down: kept in the outbox until it is back".into(),
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_allows_so_many_per_sliding_hour() {
        let b = Budget::new(2);
        let t0 = std::time::Instant::now();
        assert_eq!(b.left_at(t0), 2);
        b.spend_at(t0);
        b.spend_at(t0 + std::time::Duration::from_secs(10));
        assert_eq!(b.left_at(t0 + std::time::Duration::from_secs(20)), 0);
        assert_eq!(b.left_at(t0 + std::time::Duration::from_secs(3600)), 1);
        assert_eq!(b.left_at(t0 + std::time::Duration::from_secs(3611)), 2);
        assert_eq!(Budget::new(0).left(), u32::MAX, "0 is unlimited");
    }

    fn routine() -> Signals {
        Signals {
            category: Category::Mechanical,
            confidence: 0.9,
            in_scope: 0.95,
            off_topic: false,
            equipment_mismatch: None,
            similarity: 0.8,
            urgency: Urgency::Normal,
            sign_off: None,
            data_request: None,
        }
    }

    fn online() -> Situation {
        Situation {
            connectivity: Connectivity::Online,
            ..Situation::default()
        }
    }

    fn has(v: &Verdict, code: ReasonCode) -> bool {
        v.reasons.iter().any(|r| r.code == code)
    }

    #[test]
    fn confident_grounded_in_scope_query_is_answered_locally() {
        let v = decide(&routine(), &online(), &PolicyConfig::default());
        assert_eq!(v.route, Route::Local);
        assert!(!v.escalate);
    }

    #[test]
    fn a_procedure_about_other_equipment_is_never_answered_locally() {
        let mut s = routine();
        s.equipment_mismatch = Some("asks about a chiller, cites an air compressor".into());
        let v = decide(&s, &online(), &PolicyConfig::default());
        assert_eq!(v.route, Route::Escalate);
        assert!(has(&v, ReasonCode::EquipmentMismatch));
        let v = decide(
            &s,
            &Situation {
                no_egress: true,
                ..online()
            },
            &PolicyConfig::default(),
        );
        assert_eq!(v.route, Route::Human);
    }

    #[test]
    fn each_category_has_its_own_threshold() {
        let mut cfg = PolicyConfig::default();
        cfg.category_thresholds[1] = 0.95; // mechanical
        let v = decide(&routine(), &online(), &cfg);
        assert_eq!(v.route, Route::Escalate);
        assert!(has(&v, ReasonCode::LowConfidence));
        let mut s = routine();
        s.category = Category::Electrical;
        assert_eq!(decide(&s, &online(), &cfg).route, Route::Local);
    }

    #[test]
    fn critical_goes_to_a_person_and_is_also_escalated_when_allowed() {
        let mut s = routine();
        s.urgency = Urgency::Critical;
        let v = decide(&s, &online(), &PolicyConfig::default());
        assert_eq!(v.route, Route::Human);
        assert!(v.escalate);
        let v = decide(
            &s,
            &Situation {
                no_egress: true,
                ..online()
            },
            &PolicyConfig::default(),
        );
        assert_eq!(v.route, Route::Human);
        assert!(!v.escalate);
        assert!(has(&v, ReasonCode::NoEgress));
    }

    #[test]
    fn out_of_scope_is_never_local_however_confident() {
        let mut s = routine();
        s.in_scope = 0.1;
        let v = decide(&s, &online(), &PolicyConfig::default());
        assert_eq!(v.route, Route::Escalate);
        assert!(!has(&v, ReasonCode::LowConfidence));
        s.in_scope = 0.99;
        s.off_topic = true;
        assert_eq!(
            decide(&s, &online(), &PolicyConfig::default()).route,
            Route::Escalate
        );
    }

    #[test]
    fn an_ungrounded_answer_is_not_given_locally() {
        let mut s = routine();
        s.similarity = 0.1;
        let v = decide(&s, &online(), &PolicyConfig::default());
        assert_eq!(v.route, Route::Escalate);
        assert!(has(&v, ReasonCode::Ungrounded));
    }

    #[test]
    fn low_confidence_with_no_egress_or_no_budget_goes_to_a_person() {
        let mut s = routine();
        s.confidence = 0.1;
        let no_egress = Situation {
            no_egress: true,
            ..online()
        };
        let v = decide(&s, &no_egress, &PolicyConfig::default());
        assert_eq!((v.route, v.escalate), (Route::Human, false));
        let spent = Situation {
            budget_left: 0,
            ..online()
        };
        let v = decide(&s, &spent, &PolicyConfig::default());
        assert_eq!(v.route, Route::Human);
        assert!(has(&v, ReasonCode::BudgetExhausted));
    }

    #[test]
    fn offline_escalations_are_queued_not_dropped() {
        let mut s = routine();
        s.confidence = 0.1;
        let v = decide(&s, &Situation::default(), &PolicyConfig::default());
        assert_eq!((v.route, v.escalate), (Route::Escalate, true));
        assert!(has(&v, ReasonCode::QueuedOffline));
    }

    #[test]
    fn data_requests_and_sign_offs_go_to_a_person_and_never_leave() {
        let mut s = routine();
        s.data_request = Some("send the config".into());
        let v = decide(&s, &online(), &PolicyConfig::default());
        assert_eq!((v.route, v.escalate), (Route::Human, false));
        assert!(has(&v, ReasonCode::DataRequestRefused));
        let mut s = routine();
        s.sign_off = Some("bypass the interlock".into());
        let v = decide(&s, &online(), &PolicyConfig::default());
        assert_eq!((v.route, v.escalate), (Route::Human, false));
        assert!(has(&v, ReasonCode::SignOffRequired));
    }

    #[test]
    fn a_data_request_wins_over_a_hazard() {
        let mut s = routine();
        s.urgency = Urgency::Critical;
        s.data_request = Some("email the customer list".into());
        let v = decide(&s, &online(), &PolicyConfig::default());
        assert_eq!((v.route, v.escalate), (Route::Human, false));
    }
}
