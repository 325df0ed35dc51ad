//! The fault domain named by a text's technical words, for what the
//! category head calls `general` although a part or a fault is named: on
//! terse work orders about equipment outside the knowledge base ("REPL
//! BOOM HOSE", "alternator light on") the head, trained on plant wording,
//! often falls back to `general`, but the taxonomy's category is the fault
//! domain of every technical item, in scope or not.

use crate::labels::Category;
use regex::Regex;
use std::sync::LazyLock;

use super::rules::re;

/// What a matched word says about the line: a part names where the repair
/// is, a fault what is wrong, a task work that is not technical.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Part,
    Fault,
    Task,
}

/// Each domain's words with their weight and kind. A leak outweighs the
/// part it is on ("oil leaking down swing shafts" is fluid); items that are
/// kit rather than plant (extinguishers, chocks, straps, stickers) are
/// `general`. Misspellings and shorthand seen in real work orders are
/// spelled out ("feul", "moter", "earrth", "vlv", "a/con").
static WORDS: LazyLock<Vec<(Category, u32, Kind, Regex)>> = LazyLock::new(|| {
    [
        (
            Category::Fluid,
            5,
            Kind::Fault,
            r"leak\w*|seep\w*|weep\w*",
        ),
        (
            Category::Fluid,
            3,
            Kind::Part,
            r"hoses?|hosing|hyd\w*|coolant|fuel|feul|cyl(inder)?s?|rams?|accum\w*|o'?-?rings?|struts?|breathers?|lift circuit|steer\w* (pump|cyl\w*|hoses?|tank|press\w*)|strg pump",
        ),
        (
            Category::Fluid,
            1,
            Kind::Part,
            r"diff(erential)? press\w*|injectors?|pumps?|oil|iol|water|filters?|fltr|air (lines?|tank|reg\w*|leaks?)|pneumatic\w*|valves?|vlvs?|radiators?|fittings?|tanks?|pipes?|pip|tubes?|manifold|coolers?|dip ?stick|(re)?sampl\w*|sight glass|air cleaner|pre-?cleaner|intake|spray\w*|fuel rail|case drain|drain",
        ),
        (
            Category::Hvac,
            3,
            Kind::Part,
            r"a/?c|air ?/?con\w*|aircon|heaters?|refrigerant|pressuri[sz]ers?|evap\w*|condens\w*|thermostat|cab (blower|fan|filter|fliter)( fan| unit)?|climate control|air handl\w*|chillers?|rtus?|rooftop units?|ahus?|suct\w* press\w*|head press\w*|superheat|subcool\w*|compressor\w* (short[- ]?)?cycl\w*",
        ),
        (
            Category::Electrical,
            2,
            Kind::Part,
            r"starter( motor| relay)?s?|alternators?|batter(y|ies)|\w*lights?|\w*lite|lighting|beams?|globes?|fluro|lamps?|wiring|wires?|looms?|harness\w*|cables?|plugs?|fuses?|relays?|horns?|elec\w*|power supply|volt\w*|breakers?|c/b|isolat\w*|earth\w*|earrth|hv|lv|mg sets?|motors?|mtrs?|generators?|gen|substations?|sub|switch(es|board)?|swth|jump start|charging|sockets?|excit\w*|field loss|commutator\w*|brush\w*|insulat\w*|resistors?|d/b|e/l|appliance|blowers?|synch?|sinc|neutral plane",
        ),
        (
            Category::Electrical,
            3,
            Kind::Part,
            r"vfds?|drives? (fault|trip\w*)|ups|inverters?|dc bus|igbt|contactors?|mccs?",
        ),
        (
            Category::Electrical,
            2,
            Kind::Fault,
            r"no power|trip\w*|spark\w*|over ?voltage|(ground|earth) faults?",
        ),
        (
            Category::Controls,
            2,
            Kind::Part,
            r"(fire )?alarm panels?|facp|dp (switch|transmitter)s?|sensors?|gauges?|ecm|ecu|controllers?|monitor\w*|displays?|screens?|alarms?|fault codes?|calibrat\w*|recalibrat\w*|software|programs?|firmware|plcs?|cameras?|payload|vims|gui|interface|computers?|proximity|prox|limit switch\w*|transmitters?|indicators?|senders?|timers?|resolvers?|can ?bus|tacho\w*|rtd'?s?|joysticks?|throttle|afff|fire suppression|(pressure|flow|temp\w*|overspeed|aba|level|micro) ?sw\w*|watermeter|e-? ?stop",
        ),
        (
            Category::Controls,
            2,
            Kind::Fault,
            r"errs?|errors?",
        ),
        (
            Category::Network,
            3,
            Kind::Part,
            r"radios?|two-? ?way|2-? ?way|uhf|vhf|antenna\w*|wi-?fi|modems?|telemetry|dispatch|comms|network|remotes?|tel/rem|modbus",
        ),
        (
            Category::Mechanical,
            1,
            Kind::Part,
            r"(gearbox|gear|g/box|lube|bearing) oil|welds?|weld\w*|frames?|pins?|bush(ing)?e?s?|bearings?|brgs?|gears?|gearbox\w*|g/box|engines?|eng|turbo\w*|exhaust|brakes?|tyres?|tires?|wheels?|rims?|tracks?|idlers?|rollers?|buckets?|bkt|teeth|tooth|ropes?|chains?|seats?|doors?|hinges?|steps?|ladders?|hand ?rails?|mirrors?|glass|windscreen|steering|unis?|shafts?|axles?|diff\w*|belts?|pulleys?|couplings?|grease\w*|lube|greas\w*|mounts?|bolts?|covers?|guards?|liners?|plates?|ndt|booms?|sticks?|tray|body|bars?|shrouds?|adaptors?|g\.?e\.?t|gates?|sunvisor|bullgear|hubs?|fans?|clutch\w*|latch\w*|links?|transmission|trans|tranny|torque converter|suspension|chassis|springs?|cab|seals?|boss",
        ),
        (
            Category::Mechanical,
            1,
            Kind::Fault,
            r"crack\w*|bent|broken|loose|missing|worn|wear|noise|noisy|vibrat\w*|knock\w*|low power|overhaul",
        ),
        (
            Category::General,
            6,
            Kind::Part,
            r"fire ext\w*|extinguishers?|self rescuers?|chocks?|straps?|stickers?|labels?|decals?|racks?|strops?",
        ),
        (
            Category::General,
            1,
            Kind::Task,
            r"clean\w*|housekeeping|assist\w*|move|moving|shutdown|labour|sort out|meeting|training|paperwork",
        ),
    ]
    .into_iter()
    .map(|(c, w, k, p)| (c, w, k, re(&format!(r"(?i)\b(?:{p})\b"))))
    .collect()
});

/// A line that begins by ordering, buying, shipping or towing is about the
/// errand, not about the part it names ("ORDER WEAR BARS FOR BUCKET").
static ERRAND: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\s*(?:[a-z]{1,3}\d[\w-]*\s*[-=]?\s*)?(order|purchase|puchase|supply|freight|air freight|restock|tow)\b",
    )
});

/// Routine work on a whole machine, with no part named ("Loader 7 weekly
/// inspections").
static ROUTINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(service|servicing|insp\w*|pm|maint\w*|check)\b"));

/// Where a work-order line's first phrase ends: the part before "on",
/// "to", "for", "at" … is what the line is about ("CRACKED PIPE ON
/// IMPLEMENT VLV" is about the pipe).
static PHRASE_END: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\s(?:on|to|for|at|@|in|into|through|off|from|of|around|with|near|under|inside|behind|-)\s|,|;|\(",
    )
});

/// Words that written sentences have and work-order lines do not:
/// pronouns, articles, auxiliaries and question words.
static SENTENCE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(i|i'm|i've|we|we're|my|our|you|your|it's|there's|is|are|was|were|has|have|had|does|do|did|can|could|should|what|how|why|when|which|the)\b",
    )
});

/// Whether `text` reads as a line of work-order shorthand ("CC708 REPL
/// CRACKED PIPE ON IMPLEMENT VLV", "a/c not working"): ten words or fewer,
/// no question and none of the words sentences are made of. The category
/// head learned its domains mostly from sentences about plant, so on such
/// a line the part named is the better witness of the fault domain.
pub fn work_order_shorthand(text: &str) -> bool {
    let words = text.split_whitespace().count();
    (1..=10).contains(&words) && !text.contains('?') && !SENTENCE_WORDS.is_match(text)
}

/// Bonus of the head part: the last part named in the line's first phrase
/// that names one ("coolant gauge broken" is about the gauge, "radiator
/// protection bar" about the bar).
const HEAD: u32 = 3;

/// The fault domain a line's words name, with the word that decided it:
/// each domain scores the weights of its words, the head part adds
/// [`HEAD`], the heaviest domain wins (ties go to the taxonomy's order).
/// An errand is `general`, and so is routine work with no part named;
/// `None` when no word of any domain is there.
pub fn domain(text: &str) -> Option<(Category, String)> {
    if let Some(m) = ERRAND.captures(text).and_then(|c| c.get(1)) {
        return Some((Category::General, m.as_str().to_string()));
    }
    let mut found: Vec<(usize, usize, Category, u32, Kind)> = Vec::new();
    for (c, w, k, r) in WORDS.iter() {
        found.extend(r.find_iter(text).map(|m| (m.start(), m.end(), *c, *w, *k)));
    }
    // A word inside a longer match is that match's ("cab blower fan" is not
    // also a blower and a fan).
    let spans: Vec<(usize, usize)> = found.iter().map(|f| (f.0, f.1)).collect();
    found.retain(|&(s, e, ..)| {
        !spans
            .iter()
            .any(|&(s2, e2)| s2 <= s && e <= e2 && e2 - s2 > e - s)
    });
    if found.is_empty() {
        return ROUTINE
            .find(text)
            .map(|m| (Category::General, m.as_str().to_string()));
    }
    let mut score = [0u32; 7];
    for f in &found {
        score[f.2.index()] += f.3;
    }
    let mut phrases = Vec::new();
    let mut from = 0;
    for m in PHRASE_END.find_iter(text) {
        phrases.push((from, m.start()));
        from = m.end();
    }
    phrases.push((from, text.len()));
    let head = phrases.iter().find_map(|&(a, b)| {
        found
            .iter()
            .filter(|f| f.4 == Kind::Part && a <= f.0 && f.1 <= b)
            .max_by_key(|f| f.0)
    });
    if let Some(h) = head {
        score[h.2.index()] += HEAD;
    }
    let (i, _) = score
        .iter()
        .enumerate()
        .max_by_key(|(i, s)| (**s, std::cmp::Reverse(*i)))?;
    let best = Category::ALL[i];
    let said = match head {
        Some(h) if h.2 == best => h,
        _ => found.iter().find(|f| f.2 == best)?,
    };
    Some((best, text[said.0..said.1].to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_order_shorthand_names_its_fault_domain() {
        for (text, want) in [
            ("REPL BOOM HOSE LEAKING", Category::Fluid),
            ("alternator not charging", Category::Electrical),
            ("truck radio u/s", Category::Network),
            ("a/c blowing hot in cab", Category::Hvac),
            ("replace cracked tooth adaptor", Category::Mechanical),
            ("payload display blank", Category::Controls),
        ] {
            assert_eq!(domain(text).map(|(c, _)| c), Some(want), "{text}");
        }
        assert_eq!(
            domain("can we move friday's toolbox talk").map(|(c, _)| c),
            Some(Category::General)
        );
        assert_eq!(domain("what is the capital of peru"), None);
    }

    #[test]
    fn the_head_part_of_the_first_phrase_decides() {
        for (text, want) in [
            // the gauge, not the coolant it reads
            ("BG9236 RHS coolant gauge broken", Category::Controls),
            // the pipe, not the valve it is on
            ("CC708 REPL CRACKED PIPE ON IMPLEMENT VLV", Category::Fluid),
            // the bar, not the radiator it guards
            ("REPLACE FRT RADIATOR PROTECTION BAR", Category::Mechanical),
            // a leak outweighs the part it runs down
            ("oil leaking down swing shafts 4 1 & 0", Category::Fluid),
            // one match, not a blower and a fan
            ("AN426 REPLACE CAB BLOWER FAN", Category::Hvac),
            ("CH-2 low suct press alm, tripped twice", Category::Hvac),
        ] {
            assert_eq!(domain(text).map(|(c, _)| c), Some(want), "{text}");
        }
    }

    #[test]
    fn errands_kit_and_routine_work_are_general() {
        for text in [
            "CR871 ORDER WEAR BARS FOR BUCKET",
            "OQ524 AIR FREIGHT FOR PUMP",
            "DO7053 Needs R/side fire extinguisher",
            "Loader 7 weekly inspections",
        ] {
            assert_eq!(
                domain(text).map(|(c, _)| c),
                Some(Category::General),
                "{text}"
            );
        }
        // a fault named with the routine word is not routine
        assert_eq!(
            domain("inspect and repair hyd leak").map(|(c, _)| c),
            Some(Category::Fluid)
        );
    }

    #[test]
    fn work_order_lines_are_told_from_sentences() {
        for line in [
            "CC708 REPL CRACKED PIPE ON IMPLEMENT VLV",
            "a/c not working",
            "LH travel motor U/S",
        ] {
            assert!(work_order_shorthand(line), "{line}");
        }
        for text in [
            "the pump on line 2 is leaking from the seal",
            "how do I reset the drive?",
            "we lost comms to the remote io rack",
            "",
            "replace the worn belt on conveyor 4 and then check the alignment of both pulleys before restart",
        ] {
            assert!(!work_order_shorthand(text), "{text}");
        }
    }
}
