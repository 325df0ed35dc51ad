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

/// Each domain's words with their weight: a leak or a hose outweighs the
/// part it is on ("hose on the brake leaking" is fluid).
static WORDS: LazyLock<Vec<(Category, u32, Regex)>> = LazyLock::new(|| {
    vec![
        (
            Category::Fluid,
            3,
            re(
                r"(?i)\b(leak\w*|hoses?|hyd\w*|oil (leak|level|press\w*)|coolant|fuel|cylinders?|rams?|seep\w*|weep\w*|spray\w*)\b",
            ),
        ),
        (
            Category::Fluid,
            1,
            re(
                r"(?i)\b(pumps?|oil|water|filters?|air (lines?|leaks?)|pneumatic\w*|valves?|radiators?|fittings?|tanks?|lubricator)\b",
            ),
        ),
        (
            Category::Hvac,
            3,
            re(
                r"(?i)\b(a/?c|air ?con\w*|aircon|heaters?|refrigerant|pressuri[sz]ers?|climate control|cab fan|evaporator|condenser)\b",
            ),
        ),
        (
            Category::Electrical,
            2,
            re(
                r"(?i)\b(starter( motor| relay)?s?|alternators?|batter(y|ies)|lights?|lamps?|wiring|wires?|looms?|cables?|plugs?|fuses?|relays?|horns?|electrical|elec|power supply|no power|volt\w*|breakers?|c/b|isolators?|earth\w*|hv|lv|mg sets?|blower motors?|motors?|mtrs?|generators?|substations?|sub\b|switch(es|board)?|jump start|charging|sockets?)\b",
            ),
        ),
        (
            Category::Controls,
            2,
            re(
                r"(?i)\b(sensors?|gauges?|ecm|ecu|controllers?|monitor\w*|displays?|screens?|alarms?|fault codes?|calibrat\w*|software|firmware|plcs?|cameras?|payload|vims|gui|interface|computers?|speed sensor|proximity|prox|limit switch\w*|transmitters?|indicator)\b",
            ),
        ),
        (
            Category::Network,
            3,
            re(
                r"(?i)\b(radios?|two[- ]way|2[- ]way|uhf|vhf|antenna\w*|wi-?fi|modems?|telemetry|dispatch|comms|network)\b",
            ),
        ),
        (
            Category::Mechanical,
            1,
            re(
                r"(?i)\b(welds?|weld\w*|crack\w*|frames?|pins?|bush(ing)?e?s?|bearings?|brgs?|gears?|gearbox\w*|g/box|engines?|eng\b|turbo\w*|exhaust|brakes?|tyres?|tires?|wheels?|rims?|tracks?|idlers?|rollers?|buckets?|bkt|teeth|tooth|ropes?|chains?|seats?|doors?|hinges?|steps?|ladders?|hand ?rails?|mirrors?|glass|windscreen|steering|uni|shafts?|axles?|diff\w*|belts?|couplings?|grease\w*|lube|greas\w*|mounts?|bolts?|covers?|guards?|liners?|plates?|ndt|booms?|sticks?|tray|body|wear|bent|broken|loose|missing|worn|noise|noisy|vibrat\w*|knock\w*)\b",
            ),
        ),
    ]
});

/// The domain with the most weight of words in `text`, with the first
/// words that named it; `None` when no technical word is there.
pub fn domain(text: &str) -> Option<(Category, String)> {
    let mut score = [0u32; 7];
    let mut said: [Option<String>; 7] = Default::default();
    for (c, w, r) in WORDS.iter() {
        let n = r.find_iter(text).count() as u32;
        if n > 0 {
            score[c.index()] += w * n;
            if said[c.index()].is_none() {
                said[c.index()] = r.find(text).map(|m| m.as_str().to_string());
            }
        }
    }
    let (i, best) = score
        .iter()
        .enumerate()
        .max_by_key(|(i, s)| (**s, std::cmp::Reverse(*i)))?;
    if *best == 0 {
        return None;
    }
    Some((Category::ALL[i], said[i].clone().unwrap_or_default()))
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
        assert_eq!(domain("can we move friday's toolbox talk"), None);
    }
}
