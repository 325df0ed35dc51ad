//! When the model's urgency head says `critical` and no hazard rule fired,
//! whether the text gives that word anything to rest on.
//!
//! The head learned urgency from wording, and on text it never saw it calls
//! safety vocabulary critical: a smoke detector with a low battery, a flame
//! scanner that drops out, a gas alarm that has cleared, a cut hand from
//! last Friday. Two checks turn such a `critical` into `high` (a person
//! still looks soon):
//!
//! - [`calm_context`]: every sentence that speaks of danger tells of
//!   something not happening now (a question or plan, a past event that is
//!   over, a test or drill, a reading of zero, an all-clear) or denies it.
//!   A sentence speaks of danger when it names a harm or a release (smoke,
//!   sparks, blood, dizzy, spraying) or names a person beside a word of
//!   energy (alarm, hose, pressure, live); sentences that only name a
//!   piece of equipment (`smoke detector`, `flame scanner`, `fire
//!   extinguisher`) do not count.
//! - [`danger_evidence`]: the text names no person, no harm to one and no
//!   release or uncontrolled energy at all ("blast chiller takes three hours
//!   to pull down").
//!
//! Neither ever lowers what a hazard rule decided; they only weigh the
//! head's word when it stands alone.

use regex::Regex;
use std::sync::LazyLock;

use super::rules::{negated, re, FRAMED, NOT_NOW, NOW};

/// Words of danger: harms, releases and energy.
static DANGER: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b(smok\w*|fire|flames?|burn\w*|scorch\w*|spark\w*|arc\w*|flash\w*|shock\w*|live|energi[sz]ed|gas|smell\w*|",
        r"fumes?|h2s|ammonia|refrigerant|leak\w*|flood\w*|water|hurt|injur\w*|blood|bleed\w*|fell|fall\w*|trapped|stuck|",
        r"pinned|crush\w*|collaps\w*|unconscious|dizzy|faint\w*|casualty|man[- ]down|hose|whip\w*|pressure|relief|explo\w*|",
        r"overspeed\w*|runaway|e-?stop|guard|lock ?out|loto|glow\w*|melt\w*|hot|hiss\w*|alarm|",
        r"cut|cuts|tingl\w*|slipp?\w*|stitch\w*|vent\w*|whipp?\w*|blew|blown|bang|rescue|got out|swoll\w*|blister\w*|",
        r"dizz\w*|headache|unwell|lock(ed|s)? out|o2|co2|oxygen|toxic|steam|spray\w*|blast\w*|crackl\w*|soot|haze|caught|",
        r"struck|hit|burst|arc ?flash|flashover|gas (smell|leak|escape)|smell(s|ing)? (of )?gas|refrigerant (leak|smell|release)|",
        r"fell (off|from|down|over|in)|leak(ing)? (gas|refrigerant|ammonia)|confined( space)?|spill\w*)\b",
    ))
});

/// Danger words that, without a person in the sentence, name equipment
/// or a condition rather than a harm ("water", "hose", "alarm").
static WEAK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(water|hose|pressure|relief|e-?stop|guard|lock(ed|s)? ?out|loto|hot|alarm|gas|refrigerant|steam|live|stuck|hit|caught|o2|co2|oxygen|leak\w*|fall\w*|fell|blast\w*|flash\w*|arc\w*)$",
    )
});

/// Names of equipment and gear made of danger words; masked before the
/// words are looked for.
static DEVICE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b((smoke|flame|fire|gas|heat|co|co2|h2s|o2|refrigerant|leak|flood|water) (detectors?|sensors?|scanners?|heads?|monitors?|",
        r"alarm (panel|test)s?|panel|display|ext\w*|dampers?|doors?|blankets?|suppression|rated|proof|failure)|fire ext\w*|",
        r"shock absorbers?|blast (chiller|freezer)s?|arc[- ]rated|arc[- ]flash (ppe|suits?|gloves?|hoods?|kits?|clothing|study|labels?|boundary)|",
        r"flame (failure|rod|proving)|burners?|fires up|fired up|live (data|feed|view|stream)|",
        r"hot (water|tap|standby|swap|side|gas (valve|bypass))|steam (trap|traps|valve|line|header)s? (fault|passing|leak\w*|noisy)|",
        r"by hand|passenger lift|face shields?|re-?arm|staff (room|canteen|kitchen|toilets?)|blood (gas|glucose|pressure) (analy[sz]ers?|monitors?|machines?|cuffs?))\b",
    ))
});

/// A person, or a part of one.
const PERSON: &str = concat!(
    r"some ?one'?s?|some ?body|any ?one|every ?one|guys?|lads?|kid|man|men|woman|person|people|workers?|wrkers?|woorkers?|",
    r"operators?|op|ops|fitters?|electricians?|apprentices?|labou?rers?|setter|techs?|technicians?|mechanics?|sparky|",
    r"contractors?|colleagues?|mates?|team|crew|staff|trainees?|engineers?|welders?|drivers?|cook|chef|cleaners?|attendant|",
    r"tenant|occupants?|passengers?|residents?|public|visitors?|he|she|they|him|her|his|hers|them|himself|herself|",
    r"hands?|handed|arms|forearm|fingers?|thumb|palm|face|eyes?|body|skin|legs?|feet|foot|hair",
);

static PERSON_RE: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"(?i)\b({PERSON})\b")));

/// Harm to a person, or a release or energy out of control.
static HARM_OR_RELEASE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b(hurt|injur\w*|blood|bleed\w*|burn(s|t|ed|ing)?|blister\w*|swell\w*|pain|unconscious|collaps\w*|faint\w*|",
        r"dizz\w*|headache|vomit\w*|throwing up|nause\w*|limp|lying|unresponsive|not (answering|responding|breathing|moving)|",
        r"isn'?t (answering|responding|breathing|moving)|won'?t wake|breath\w*|casualty|man down|trapped|pinned|crush\w*|stuck|",
        r"can'?t (let go|get (out|up|past))|",
        r"smok\w*|fire|flames|on fire|burning|spark\w*|arc(ing|ed)?|arc ?flash|crackl\w*|soot|haze|fumes?|smell\w*|odou?r|",
        r"gas (leak|smell)|ammonia|refrigerant|h2s|co2?|o2|oxygen|nitrogen|toxic|chlorine|spray\w*|squirt\w*|blasting|blasted|",
        r"gush\w*|pour\w*|venting|steam|hiss\w*|flood\w*|flod\w*|water (is )?(rising|coming|pouring|spraying|everywhere|across|all over)|",
        r"filling|rising|submerged|won'?t stop|not stopping|can'?t stop|keeps? (running|moving|going|cycling)|",
        r"still (running|moving|turning|going|coasting|climbing|live|on|lit|charged)|overspeed\w*|runaway|revs?|climbing|",
        r"screaming|explo\w*|bang|blew|burst|let go|letting go|whipp?\w*|falling|fell|dropp(ed|ing) (on|onto)|came down|",
        r"coming down|sinking|slipping|tipping|swollen|bulging|melt\w*|glow\w*|scorch\w*|live|energi[sz]ed|bare|exposed|",
        r"under (it|the|him|her)|underneath|inside|in there|down there|in the (tank|pit|vessel|sump|duct|hopper|silo))\b",
    ))
});

/// Wordings of "not now" beyond the hazard rules' own: readings of zero,
/// all-clears, made-safe states, reported questions, dates, explanations
/// and requests for parts or forms. Used only to weigh the head's word.
static CALM: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)(no harm( done)?|(nobody|no one|no-one|none of (us|them))( was| were| got| is)? (hurt|injured|affected|hit|harmed|exposed|inside|near( it)?|in (there|the \w+))|",
        r"every(one|body)( is| was|'s)? (ok|okay|fine|out|safe|accounted for)|\b(he|she|they)( is|'s| are|'re)( ok| okay| fine| back)|",
        r"(reads?|reading|showing|shows|at|metered( it)?,?) (0|zero|clean|nothing)\b|\b0 ?(ppm|v|bar|psi|%)\b|",
        r"(gauge|meter|monitor|detector)s? (at|reads?|showing|shows|is) (zero|0|green|clean|normal)|nowhere near|",
        r"\b(is|was) (really|actually|just|only) (the|a|an|from|some|our)\b|turned out|\bprobably (static|the|just|nothing|a|an|from)\b|",
        r"(isolated|drained|bled|depressuri[sz]ed|vented|discharged|locked out|tagged( out)?)(,| and) (drained|isolated|tagged|locked|gauge|proven|verified|bled|valve)|",
        r"(locked|tagged) out (and|until|till)|stopped and (tagged|locked)|\b(asked|wants? to know|asking)\b|\bwho (cut|burned|burnt|fell|got|was) (his|her|their|hurt|injured|burned|burnt|off)\b|",
        r"\bin (january|february|march|april|may|june|july|august|september|october|november|december)\b|",
        r"\b(on|from|since) (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|this morning|\bsince then\b|",
        r"(cleared|reset|replaced|swapped|fixed|repaired)\b.{0,40}\b(runs?|running|working|ok|fine|since)\b|\b(answered|is fine|monitor (is )?green)\b|",
        r"got out after|(aired|ventilated)( out)?|\bwas real\b|\b(on|from|since) (mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\b|",
        r"(the )?night of the|(room|area|building|site|plant) (was|is) (empty|clear)|",
        r"(which|what) (type|size|rating|form|part|one|kit|gasket|torque|interval|setpoint|setting)|any (guidance|advice|repeater|idea)|",
        r"how (to|do (i|we)) (check|report|fix|set|change|order|adjust)|where do i|is (that|this|it) normal|",
        r"needs? (adjusting|a service|replacing|servicing|calibrat\w*)|being (redesigned|replaced|reviewed|changed)|smells? (a bit |slightly |a little )?warm\b)",
    ))
});

/// An all-clear about a person, for a text with no word of danger.
static ALL_CLEAR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(answered|(he|she|they)( is|'s| are|'re) (ok|okay|fine|out)|every(one|body)( is|'s)? (ok|okay|fine|out|safe|accounted for)|monitor (is )?green|no harm done)\b",
    )
});

/// `text` with the equipment names of [`DEVICE`] overwritten by `x`, byte
/// for byte, so offsets stay valid.
fn masked(text: &str) -> String {
    DEVICE
        .replace_all(text, |c: &regex::Captures<'_>| "x".repeat(c[0].len()))
        .into_owned()
}

fn sentences(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(['.', '!', '?', ';', '/', '\n']).map(move |s| {
        let start = s.as_ptr() as usize - text.as_ptr() as usize;
        (start, s)
    })
}

/// Whether a sentence tells of something not happening now (and says
/// nothing that is).
fn calm_sentence(sentence: &str) -> Option<String> {
    if let Some(m) = FRAMED.find(sentence) {
        return Some(m.as_str().to_string());
    }
    if NOW.is_match(sentence) {
        return None;
    }
    NOT_NOW
        .find(sentence)
        .or_else(|| CALM.find(sentence))
        .map(|m| m.as_str().trim().to_string())
}

/// The verdict over the sentences that speak of danger: the words that
/// show each is calm or denied, or `None` as soon as one is neither.
/// `words` are the danger words' byte spans in `text`.
fn judge(text: &str, speaking: &[(&str, Vec<(usize, usize)>)]) -> Option<String> {
    let mut calm = None;
    for (sentence, words) in speaking {
        if let Some(said) = calm_sentence(sentence) {
            calm.get_or_insert(said);
        } else if words.iter().all(|&(a, b)| negated(text, a, b)) {
            calm.get_or_insert_with(|| "denied".to_string());
        } else {
            return None;
        }
    }
    calm
}

/// The sentences of `text` that speak of danger, judged on `scan` (the
/// text itself or its masked form, of the same length): first those that
/// name a harm or a person, else those with weaker words only.
fn verdict(text: &str, scan: &str) -> Option<Option<String>> {
    let mut strong = Vec::new();
    let mut weak = Vec::new();
    for (start, sentence) in sentences(text) {
        let seen = &scan[start..start + sentence.len()];
        let words: Vec<(usize, usize)> = DANGER
            .find_iter(seen)
            .map(|m| (start + m.start(), start + m.end()))
            .collect();
        if words.is_empty() {
            continue;
        }
        let any_strong = words.iter().any(|&(a, b)| !WEAK.is_match(&scan[a..b]));
        if any_strong || PERSON_RE.is_match(seen) {
            strong.push((sentence, words));
        } else {
            weak.push((sentence, words));
        }
    }
    if !strong.is_empty() {
        Some(judge(text, &strong))
    } else if !weak.is_empty() {
        Some(judge(text, &weak))
    } else {
        None
    }
}

/// When every sentence of `text` that speaks of danger tells of something
/// not happening now or denies it, the words that show it; `None` when any
/// such sentence speaks of now. A text whose only words of danger are
/// equipment names is judged on those names; one with none at all is calm
/// only on an all-clear about a person ("he answered, he is fine").
pub fn calm_context(text: &str) -> Option<String> {
    let scan = masked(text);
    match verdict(text, &scan) {
        Some(v) => v,
        None => {
            if let Some(Some(said)) = verdict(text, text) {
                return Some(said);
            }
            if NOW.is_match(text) {
                return None;
            }
            ALL_CLEAR.find(text).map(|m| m.as_str().to_string())
        }
    }
}

/// The first word of `text` that names a person, a harm or a release (not
/// negated, and not part of an equipment name); `None` when there is none,
/// so a `critical` from the head alone rests on nothing said.
pub fn danger_evidence(text: &str) -> Option<String> {
    let scan = masked(text);
    [&*HARM_OR_RELEASE, &*PERSON_RE].iter().find_map(|r| {
        r.find_iter(&scan)
            .find(|m| !negated(&scan, m.start(), m.end()))
            .map(|m| text[m.start()..m.end()].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_events_tests_all_clears_and_readings_of_zero_are_calm() {
        for text in [
            "plant room gas alarm cleared. went round with the portable, 0 ppm everywhere, nobody felt unwell",
            "cut hand from friday was 4 stitches, he's ok and back on light duties",
            "put test gas on the refrigerant detector by the chiller, alarm came in at 300 ppm not 100",
            "the H2S alarm at the wet well on monday was real, we got everyone out and nobody was affected",
            "colleague in the tank answered on the second call, he is fine, monitor green",
            "its not smoking, the motor just smells a bit warm after the long run",
        ] {
            assert!(calm_context(text).is_some(), "{text}");
        }
    }

    #[test]
    fn danger_now_is_not_calm() {
        for text in [
            "guy on the ladder is stuck to the conduit at the junction box, he's shaking and cant let go",
            "Kitchen: the cook slipped on oil by the fryer and is just lying there, says his back, can't get up",
            "strong sweet chemical smell in the chiller plant room, doors closed, eyes watering, two guys still in there",
            "the fire in the switchroom was out yesterday but smoke is coming off MCC-2 right now",
            "bit of blood on the conveyor guard, guy who cleared the jam has his hand wrapped in a rag, he says it's fine",
        ] {
            assert_eq!(calm_context(text), None, "{text}");
        }
    }

    #[test]
    fn equipment_faults_give_a_critical_nothing_to_rest_on() {
        for text in [
            "Blast chiller takes three hours to pull down instead of 90 minutes",
            "network printer picked up a 169.254 address and nobody on the floor can print",
            "fixed gas detector in the boiler house shows fault and isnt reading, no one working in there",
            "Fire ext out of date",
            "smoke detector in the comms room chirping every minute, low battery i think",
        ] {
            assert_eq!(danger_evidence(text), None, "{text}");
        }
        for (text, word) in [
            (
                "new guy has his hand in the back of MCC bucket 4B pulling a wire",
                "guy",
            ),
            (
                "water coming in under the switchroom door, up to the MCC and rising",
                "water coming",
            ),
            ("genset revs still climbing after we pressed stop", "revs"),
        ] {
            assert_eq!(danger_evidence(text).as_deref(), Some(word), "{text}");
        }
    }
}
