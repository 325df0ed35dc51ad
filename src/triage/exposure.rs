//! People in the line of fire, however it is worded: a person (or a hand,
//! a face, a sleeve) close to or inside something whose energy is still
//! there — live, running, on auto, under pressure, charged, hanging or
//! raised — in the same sentence. None of this needs the words "shock",
//! "injury" or "fire", and the pattern lists of [`super::rules`] cannot
//! name every way of saying it, so these rules compose three parts: who,
//! how close, and which energy is still there.
//!
//! A sentence that asks how to do the job safely, plans it, or tells of
//! something over and done is not an exposure now: questions ("how do I
//! isolate … before"), plans ("tomorrow", "next week", "we will"),
//! conditions ("if", "what if", "in case") and past events ("last week",
//! "yesterday", "was fixed") keep a sentence out.

use crate::labels::Hazard;
use regex::Regex;
use std::sync::LazyLock;

use super::rules::re;

/// Who is exposed: a person, or a part of one.
const WHO: &str = r"(some ?one|some ?body|any ?one|guys?|lads?|kid|man|men|woman|person|people|workers?|operators?|fitters?|electricians?|apprentices?|techs?|technicians?|mechanics?|sparky|sparkies|sparkie|contractors?|colleagues?|mates?|buddy|chef|cook|cleaners?|welders?|drivers?|engineers?|setters?|operatives?|riggers?|supervisor|crew|staff|trainees?|new guy|he|she|they|him|her|hands?|arms?|fingers?|face|head|body|feet|foot|legs?|hair|sleeves?|clothing|hi-?vis|gloves?|screwdriver|spanner|probes?|bare hands?)";

/// How close: inside, under, touching, reaching into, in front of.
const CLOSE: &str = r"(inside|in the|into|in there|down (in|there)|under(neath)?|beneath|below it|reach(ing|ed|es)?|touch(ing|ed|es)?|hold(ing|s)?|grabb?(ed|ing|s)?|gripping|hand on|hands on|leaning|bending|in front of|right beside|beside|next to|probing|pull(ing|s)? (the |out|apart|at)|lying|kneeling|standing|climb(ed|ing)|working on|on the (terminals?|bus|busbars?|frame|belt)|face right|with his|with her|undoing|loosening|unscrewing|unbolting|knocking|kicking|rodding|wiping|scraping|lining up|guiding|feel(ing)? (for|where)|trying to (free|hold|feel|pull|clear|stop)|mid[- ]?(swap|job|change|repair)|(fingers?|hands?|arms?|thumbs?) (on|in|inside|under|round|around|between) the|swapping|cracking|splitting|opening|removing|taking (off|out|the)|on (the )?([\w-]+ ){0,3}(lugs?|terminals?|contacts?|conductors?|bus ?bars?|studs?|connections?)|checking (the )?(tightness|torque)|(re-?)?torqu(e|ing) (the )?([\w-]+ ){0,2}(lugs?|terminals?|connections?))";

/// Which energy is still there. Each alternative says the energy is
/// present now, or that it was never removed.
const LIVE: &str = concat!(
    r"(still (live|on|energi[sz]ed|running|turning|going|moving|spinning|rotating|cycling|producing|charged|",
    r"pressuri[sz]ed|under pressure|has pressure|holding pressure|connected|in service|on auto|lit|hanging|up|wound)|",
    r"(is|are) (live|energi[sz]ed|running|turning|spinning|rotating|moving|cycling|on auto|going round|creeping|slipping|sinking)|",
    r"(supply|power|pump|unit|machine|belt|spindle|shaft|drive|motor|fan|string|bus|utility side|line|engine)( is| are)? (still )?(on|live|energi[sz]ed|running|turning|moving|going|producing)\b|",
    r"(nobody|no one|no-one|never|not|wasn'?t|weren'?t|isn'?t|hasn'?t|haven'?t|didn'?t|without)( been| being| yet)? (isolat\w+|locked( |-)?out|lock(ed)? (it )?out|pulled the (main|fuse|breaker)|opened the (breaker|isolator)|tripped|discharged|bled|bled off|depressuri[sz]ed|vented|propped|blocked|chocked|dumped)|",
    r"(isolat\w+|breaker|lock ?out|loto)\b[^.;!?]{0,20}\b(not|never|hasn'?t|has not|wasn'?t|was not|isn'?t|is not)\b[^.;!?]{0,10}\b(done|opened|applied|tripped|pulled|isolated|off)|",
    r"skipped the (lock ?out|loto|isolation)|no (lock ?out|loto|isolation|props?|blocks?|stands?|chocks?)\b|",
    r"on auto\b|gauge (still )?(says|shows|reads|showing) \d|(holding|has|still has|with) \d+(\.\d+)? ?(bar|psi|kpa)\b|\d+ ?v? still on|(showing|reading|at) \d+(\.\d+)? ?(bar|psi|kpa|vdc|vac|v|kv)\b|",
    r"(charge|dc bus) (led|light|lamp) (is )?(still )?(lit|on)|under (full )?(pressure|load|sun)|",
    r"while (it'?s|it is|its|it was|the [\w-]+ (is|was)|still) (still )?(running|on|live|turning|moving|going|cycling|energi[sz]ed)|",
    r"while it (runs|turns|moves|cycles)|with the (supply|power|mains?|pump|drive|machine|belt|unit|engine)( still)? (on|live|running)|",
    r"(boom|bucket|forks?|load|hopper gate|gate|motor|part|block|tray|body)\b[^.;!?]{0,25}\b(up|raised|hanging|suspended|held|stuck half open|creeping|slipping|dropping|sinking)\b|",
    r"(sling|chain|hook|brake)\b[^.;!?]{0,20}\b(slipping|creeping|not holding|won'?t hold)|",
    r"held (up )?(only |just )?(on|by) (the |a |its )?(hydraulics?|hydraulic valve|valve|jack|cylinder|ram|rams|pump|pressure)|",
    r"(spring|accumulator|receiver|capacitors?|cap bank)\b[^.;!?]{0,30}\b(still )?(wound|tight|charged|(under|has|with) pressure|pressuri[sz]ed)|",
    r"\bcan (start|kick in|cut in|restart) (any|at any)|(keeps|kept|is|are) (cycling|starting|running|moving|turning) (on (its|their) own|by itself)|stat is calling|calling for (cool|heat)\w*|(will|could|might) (kick|cut|start) (in|up)|(restarted|started|kicked in|came on)\b[^.;!?]{0,20}\b(on its own|by itself)|",
    r"(utility|mains|power|supply)( has| is)? (just )?(came|come|is|has come) back|re-?transferred|re-?energi[sz]ed|(hit|pressed|pushed) (the )?start|guard( switch)? (is )?(off|removed|missing|tied back|bypassed|open)|has had no guard|(is|are) still (inside|in there|under|down there|at the bottom))",
);

static WHO_RE: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"(?i)\b{WHO}\b")));
/// A person by name: a capitalised word that is inside, under or working
/// on something ("Marco is inside the terminal box").
static NAMED_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b[A-Z][a-z]{2,}( is| was| has|'s|\u{2019}s) (still )?(inside|in there|in the|under|underneath|beneath|reaching|working|got his|got her|hand|hands|arm)\b",
    )
});
static CLOSE_RE: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"(?i)\b{CLOSE}\b")));
static LIVE_RE: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"(?i)\b{LIVE}")));

/// A load that is raised or hanging, held by nothing solid.
static RAISED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(boom|bucket|forks?|load|hopper gate|gate|motor|part|block|tray|body|sling|chain|hook|brake|held|still (hanging|up)$|no (props?|blocks?|stands?|chocks?)$)\b|\b(propped|blocked|chocked)$",
    )
});

/// Words that say which energy it is, so that the hazard named is the one
/// the procedure is written for.
static ELECTRICAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(live|energi[sz]ed|volts?|vdc|vac|kv|\d+ ?v\b|supply|breaker|isolator|mains|bus ?bars?|bus\b|terminals?|cables?|wires?|conductors?|panel|board|mcc|dc bus|capacitors?|cap bank|string|mc4|inverter|ups|battery|intercell|links?|neutral|incomer|utility side|ats|fuse|electric\w*)\b",
    )
});
static PRESSURE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(pressure|pressuri[sz]ed|bar|psi|kpa|receiver|accumulator|flange|hose|fitting|line|cap|plug|valve|steam|hydraulic|air|nitrogen|precharge|charged)\b",
    )
});

/// A person exposed to energy that is still there, in one sentence: the
/// hazard it amounts to and the sentence's words.
pub fn exposure(text: &str) -> Option<(Hazard, String)> {
    for sentence in sentences(text) {
        if super::rules::not_now(sentence) {
            continue;
        }
        let (Some(_), Some(_), Some(live)) = (
            WHO_RE.find(sentence).or_else(|| NAMED_RE.find(sentence)),
            CLOSE_RE.find(sentence),
            LIVE_RE.find(sentence),
        ) else {
            continue;
        };
        let said = crate::limits::prefix_within(sentence.trim(), 120).to_string();
        let live = live.as_str();
        // A load held up by nothing solid crushes whoever is under it,
        // whatever holds it (a valve, a jack, a sling).
        let hazard = if LIVE_RE
            .find_iter(sentence)
            .any(|m| RAISED.is_match(m.as_str()))
        {
            Hazard::UnguardedMachine
        } else if ELECTRICAL.is_match(live)
            || (ELECTRICAL.is_match(sentence) && !PRESSURE.is_match(sentence))
        {
            Hazard::Shock
        } else if PRESSURE.is_match(live) || PRESSURE.is_match(sentence) {
            Hazard::OverPressure
        } else {
            Hazard::UnguardedMachine
        };
        return Some((hazard, said));
    }
    None
}

/// The text's sentences: split at full stops, question and exclamation
/// marks, semicolons and line ends (a decimal point is not a full stop).
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut out = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        let end = match b {
            b'!' | b'?' | b';' | b'\n' => true,
            b'.' => {
                !(i > 0
                    && bytes[i - 1].is_ascii_digit()
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
            }
            _ => false,
        };
        if end {
            if i > start {
                out.push(&text[start..i]);
            }
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(t: &str) -> Option<Hazard> {
        exposure(t).map(|(h, _)| h)
    }

    #[test]
    fn a_person_close_to_energy_still_there_is_exposed() {
        assert_eq!(
            named("lad is pulling cardboard out of the tail pulley with his hand while its still running"),
            Some(Hazard::UnguardedMachine)
        );
        assert_eq!(
            named("contractor reaching into the back of the board, it is still live"),
            Some(Hazard::Shock)
        );
        assert_eq!(
            named("gauge still says 6 bar and the apprentice is already undoing the flange bolts"),
            Some(Hazard::OverPressure)
        );
        assert_eq!(
            named("mechanic lying under the bucket with the boom up, no props"),
            Some(Hazard::UnguardedMachine)
        );
        // A tool on live conductors is a hand on them.
        assert_eq!(
            named("the new starter has his screwdriver on the incoming lugs of the isolator, still energised at 415V"),
            Some(Hazard::Shock)
        );
        // A press tool held up only by hydraulics, with a named person
        // beneath it: a crush, not a pressure release.
        assert_eq!(
            named("Priya's under the press bed freeing a jammed blank, the slide is held up only by the hydraulics and the motor is still running"),
            Some(Hazard::UnguardedMachine)
        );
    }

    #[test]
    fn a_person_by_name_or_a_hand_on_a_machine_that_starts_itself_is_exposed() {
        assert_eq!(
            named("generator is running on load and Marco is inside the alternator terminal box"),
            Some(Hazard::Shock)
        );
        assert!(named("panel off RTU 5, tech's fingers on the fan belt, unit on auto").is_some());
        assert_eq!(
            named("press keeps cycling on its own and the setter was reaching in"),
            Some(Hazard::UnguardedMachine)
        );
        // A capitalised word is a name only beside what a person does.
        assert_eq!(named("Pump is running, Inside temp 30 C"), None);
    }

    #[test]
    fn plans_questions_and_past_events_are_not_exposure() {
        for t in [
            "how do I isolate the screw compressor before changing belts while it is on auto",
            "tomorrow we go inside the tank, the agitator will still be energised until permits are signed",
            "last week a fitter was inside the guard while it was running, now fixed",
            "VFD isolated and locked, measured the DC bus at 0 V, swapping the fan",
            "pump 3 is running fine, vibration 2.1 mm/s",
        ] {
            assert_eq!(named(t), None, "{t}");
        }
    }

    #[test]
    fn sentences_split_at_stops_but_not_at_decimal_points() {
        let s: Vec<&str> = sentences("reads 2.5 bar. he is inside\nok").collect();
        assert_eq!(s, vec!["reads 2.5 bar", " he is inside", "ok"]);
    }
}
