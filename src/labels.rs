//! The triage labels fixed by the taxonomy: category, urgency and route.
//!
//! These exact lowercase strings appear in the knowledge base, in the socket
//! API (JSON), in `slmd triage` output and in evaluation files.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What kind of equipment or problem a query is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Electrical,
    Mechanical,
    Fluid,
    Hvac,
    Controls,
    Network,
    General,
}

/// How soon someone must act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Normal,
    High,
    Critical,
}

/// Where the decision is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Local,
    Escalate,
    Human,
}

/// Safety level of a knowledge-base procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Safety {
    Routine,
    Caution,
    Danger,
}

/// A critical hazard: named in a query by the hazard rules, and in a
/// procedure's front matter (`hazards`) when it is the one to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    Gas,
    Smoke,
    Fire,
    ArcFlash,
    Shock,
    Injury,
    Flooding,
    RefrigerantRelease,
    ToxicRelease,
    RunawayMachine,
    UnguardedMachine,
    OverPressure,
}

/// A label string that is not one of the allowed values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}; allowed: {allowed}")]
pub struct UnknownLabel {
    pub kind: &'static str,
    pub value: String,
    pub allowed: &'static str,
}

macro_rules! label_impls {
    ($ty:ident, $kind:literal, [$($variant:ident => $text:literal),+ $(,)?]) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// This value's position in [`Self::ALL`].
            pub fn index(self) -> usize {
                self as usize
            }

            /// The taxonomy's spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownLabel;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($ty::$variant),)+
                    other => Err(UnknownLabel {
                        kind: $kind,
                        value: other.to_string(),
                        allowed: concat!($($text, " "),+),
                    }),
                }
            }
        }
    };
}

label_impls!(Category, "category", [
    Electrical => "electrical",
    Mechanical => "mechanical",
    Fluid => "fluid",
    Hvac => "hvac",
    Controls => "controls",
    Network => "network",
    General => "general",
]);

label_impls!(Urgency, "urgency", [
    Low => "low",
    Normal => "normal",
    High => "high",
    Critical => "critical",
]);

label_impls!(Route, "route", [
    Local => "local",
    Escalate => "escalate",
    Human => "human",
]);

label_impls!(Safety, "safety level", [
    Routine => "routine",
    Caution => "caution",
    Danger => "danger",
]);

label_impls!(Hazard, "hazard", [
    Gas => "gas",
    Smoke => "smoke",
    Fire => "fire",
    ArcFlash => "arc_flash",
    Shock => "shock",
    Injury => "injury",
    Flooding => "flooding",
    RefrigerantRelease => "refrigerant_release",
    ToxicRelease => "toxic_release",
    RunawayMachine => "runaway_machine",
    UnguardedMachine => "unguarded_machine",
    OverPressure => "over_pressure",
]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_their_taxonomy_spelling() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), *c);
            assert_eq!(Category::ALL[c.index()], *c);
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{c}\""));
        }
        for u in Urgency::ALL {
            assert_eq!(u.as_str().parse::<Urgency>().unwrap(), *u);
            assert_eq!(Urgency::ALL[u.index()], *u);
        }
        for r in Route::ALL {
            assert_eq!(r.as_str().parse::<Route>().unwrap(), *r);
        }
        for h in Hazard::ALL {
            assert_eq!(h.as_str().parse::<Hazard>().unwrap(), *h);
            assert_eq!(serde_json::to_string(h).unwrap(), format!("\"{h}\""));
        }
    }

    #[test]
    fn unknown_label_names_the_allowed_values() {
        let err = "plumbing".parse::<Category>().unwrap_err();
        assert!(err.to_string().contains("electrical"), "{err}");
    }

    #[test]
    fn urgency_orders_from_low_to_critical() {
        assert!(Urgency::Critical > Urgency::High);
        assert!(Urgency::High > Urgency::Normal);
        assert!(Urgency::Normal > Urgency::Low);
    }
}
