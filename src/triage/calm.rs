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

use super::rules::{ends_sentence, negated, re, FRAMED, NOT_NOW, NOW};

/// Words of danger: harms, releases and energy.
static DANGER: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b(smok\w*|fire|flames?|burn\w*|scorch\w*|spark(s|ed|ing|ling|les?)?|arc\w*|flash\w*|shock\w*|live|energi[sz]ed|gas|smell\w*|",
        r"fumes?|h2s|ammonia|refrigerant|leak\w*|flood\w*|water|hurt|injur\w*|blood|bleed\w*|fell|fall\w*|trapped|stuck|",
        r"pinned|crush(ed|es|ing)?|collaps\w*|unconscious|dizzy|faint\w*|casualty|man[- ]down|hose|whip\w*|pressure|relief|explo\w*|",
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
        r"(?i)\b((smoke|flame|fire|gas|heat|co|co2|h2s|o2|refrigerant|leak|flood|water|chlorine|ammonia) (detectors?|sensors?|scanners?|heads?|monitors?|analy[sz]ers?|",
        r"alarm (panel|test)s?|panel|display|ext\w*|dampers?|doors?|blankets?|suppression|rated|proof|failure)|fire ext\w*|",
        r"shock absorbers?|blast (chiller|freezer)s?|arc[- ]rated|arc[- ]flash (ppe|suits?|gloves?|hoods?|kits?|clothing|study|labels?|boundary|face ?shields?|visors?|shields?|rating|survey|training)|dead ?man'?s? (handle|switch|pedal|control|button|lever)s?|vent(ilation)? (fans?|systems?|louvres?|grilles?|slots?|ducts?)|(fans?|valves?|dampers?|relays?|contactors?|buttons?|switch(es)?|actuators?|floats?|pumps?|units?|doors?|keys?|sensors?|readings?|displays?|screens?) (is |are |'s |got )?stuck|fire (brigade|service|department|dept|crew|officers?|marshals?|wardens?|engines?)|",
        r"flame (failure|rod|proving)|burners?|fires up|fired up|live (data|feed|view|stream)|",
        r"hot (water|tap|standby|swap|side|gas (valve|bypass))|steam (trap|traps|valve|line|header)s? (fault|passing|leak\w*|noisy)|",
        r"by hand|passenger lift|face shields?|re-?arm|staff (room|canteen|kitchen|toilets?)|blood (gas|glucose|pressure) (analy[sz]ers?|monitors?|machines?|cuffs?)|",
        r"explosion[- ]proof|ex[- ]?proof|intrinsically safe|trapped (air|water|gas|moisture|dirt|debris|condensate|oil|vapou?r)|(auto(matic)? )?air vents? (is |are )?hiss\w*|",
        r"(belts?|cables?|hoses?|parts?|tools?|bolts?|guards?|covers?|panels?|pipes?|debris|rubbish|oil|pallets?|boxes|stock|cartons?) (is |are |was |were )?(just )?lying|",
        r"(bearings?|motors?|compressors?|pumps?|fans?|chillers?|belts?|gearbox(es)?|units?|machines?|blowers?|engines?|turbos?|it)( \d+)? (is |are |'s |keeps )?(screaming|squealing|howling|whining|shrieking))\b",
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
        r"[1-9]\d*(\.\d+)? ?(ppm|% ?lel)|isn'?t (answering|responding|breathing|moving)|won'?t wake|breath\w*|casualty|man down|trapped|pinned|crush(ed|es|ing)?|stuck|",
        r"can'?t (let go|get (out|up|past))|",
        r"smok\w*|fire|flames|on fire|burning|spark(s|ed|ing|ling|les?)?|arc(ing|ed)?|arc ?flash|crackl\w*|soot|haze|fumes?|smell\w*|odou?r|",
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
        r"needs? (adjusting|a service|replacing|servicing|calibrat\w*)|being (redesigned|replaced|reviewed|changed)|smells? (a bit |slightly |a little )?warm\b|",
        r"nothing to action|span gas|cal(ibration)? gas|calibrat(ing|ed|ion)\b|like it should|as (it )?should|(during|on|in) (the |a |its |our )?(weekly|monthly|annual|routine|scheduled|quarterly|planned) (test|run|check|inspection)\w*|",
        r"(weekly|monthly|annual|routine|scheduled|quarterly|churn) \w* ?(run|test|check)s? (done|complete|completed|passed|ok)|for the (file|records?)|first aid only)",
    ))
});

/// A report of something over and dealt with, whole-text: a near-miss
/// report, equipment back in service, a fault fixed and tested.
static DONE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(near[- ]miss( report| form)?|back in service|returned to service|(fixed|repaired|replaced)\b[^.;!?]{0,20}\b(tested|retested|proven|ok|fine)|incident (form|report)|for (the )?(file|records?)( only)?|for info(rmation)? only|first aid only|root cause|lessons learned)\b",
    )
});

/// The thing made safe, whole-text: tagged out of service, isolated and
/// locked out, parked with its load down.
static MADE_SAFE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b((tagged|taken|put) (it )?out of service|(isolated|off)( now)? (and|\+|&) (locked|tagged)( out| off)?|locked (it )?out (and|\+|&) tagged|parked (it )?(up )?(with|against|in|on|at)\b[^.;!?]{0,30}|(bucket|forks|boom|blade|load|ram|platen|body|bed) (is |are )?(down|lowered|on the ground|blocked|propped))",
    )
});

/// An all-clear about a person, for a text with no word of danger.
static ALL_CLEAR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(answered|(he|she|they)( is|'s| are|'re) (ok|okay|fine|out)|every(one|body)( is|'s)? (ok|okay|fine|out|safe|accounted for)|monitor (is )?green|no harm done)\b",
    )
});

/// An all-clear about a person that is not itself denied ("hasn't
/// answered" is no answer).
fn all_clear(text: &str) -> Option<regex::Match<'_>> {
    ALL_CLEAR.find_iter(text).find(|m| {
        let before = text[..m.start()].trim_end().to_ascii_lowercase();
        !(before.ends_with("n't")
            || before.ends_with("nt")
            || before.ends_with("not")
            || before.ends_with("never")
            || before.ends_with("no"))
    })
}

/// `text` with the equipment names of [`DEVICE`] overwritten by `x`, byte
/// for byte, so offsets stay valid.
fn masked(text: &str) -> String {
    DEVICE
        .replace_all(text, |c: &regex::Captures<'_>| "x".repeat(c[0].len()))
        .into_owned()
}

/// The sentences of `text` with their byte offsets, bounded as
/// [`ends_sentence`] says.
fn sentences(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in (0..b.len()).filter(|&i| ends_sentence(b, i)) {
        out.push((start, &text[start..i]));
        start = i + 1;
    }
    out.push((start, &text[start..]));
    out.into_iter()
}

/// Whether `text` says the danger goes on ("still shaking"): an all-clear
/// does not answer that.
fn still_now(text: &str) -> bool {
    NOW.find_iter(text)
        .any(|n| n.as_str().to_ascii_lowercase().starts_with("still"))
}

/// Whether a sentence tells of something not happening now (and says
/// nothing that is).
fn calm_sentence(sentence: &str) -> Option<String> {
    if let Some(m) = FRAMED.find(sentence) {
        return Some(m.as_str().to_string());
    }
    if NOW.is_match(sentence) {
        // "wasn't answering … he's fine": an all-clear about the person
        // answers a past "not answering", never a "still".
        if still_now(sentence) {
            return None;
        }
        return all_clear(sentence).map(|m| m.as_str().to_string());
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
    // A report of something over and dealt with, or of the thing made
    // safe, with nothing said to be happening now; a person beside a harm
    // in any sentence keeps the text out of these.
    let scan = masked(text);
    let person_harmed =
        sentences(&scan).any(|(_, s)| PERSON_RE.is_match(s) && HARM_OR_RELEASE.is_match(s));
    if !NOW.is_match(text) && !person_harmed {
        if let Some(m) = DONE.find(text).or_else(|| MADE_SAFE.find(text)) {
            return Some(m.as_str().trim().to_string());
        }
    }
    match verdict(text, &scan) {
        Some(v) => v,
        None => {
            if let Some(Some(said)) = verdict(text, text) {
                return Some(said);
            }
            if still_now(text) {
                return None;
            }
            // A past "not answering" is answered by an all-clear.
            all_clear(text).map(|m| m.as_str().to_string())
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

    #[test]
    fn made_safe_reports_finished_work_and_calibration_are_calm() {
        for text in [
            "hydraulic ram on the baler drifting down overnight, ram lowered onto blocks and isolated + locked, will look monday",
            "contactor on AHU-3 was buzzing and smelt hot, replaced it and tested ok, back in service",
            "near miss report: ladder slipped on the wet floor, nobody on it at the time",
            "calibrating the LEL head on the boiler house detector with 50% LEL span gas, reads like it should",
            "forklift tagged out of service with a hydraulic weep at the mast, parked it up against the wall",
            "for the file: operator reported the guard interlock on press 2 was loose last week, tightened",
        ] {
            assert!(calm_context(text).is_some(), "{text}");
        }
    }

    #[test]
    fn made_safe_words_do_not_hide_a_person_in_danger_now() {
        for text in [
            "isolated and locked the feeder but sam is still inside the panel and his arm is burnt",
            "repaired the valve yesterday, today it's spraying oil again and the fitter is covered in it right now",
            "near miss? no - he's on the floor by the press and isn't answering",
        ] {
            assert_eq!(calm_context(text), None, "{text}");
        }
    }

    #[test]
    fn an_all_clear_after_a_past_worry_is_calm_unless_the_danger_goes_on() {
        assert!(
            calm_context("lone worker in the pump house was not answering the radio, found him, he's fine, flat battery")
                .is_some()
        );
        assert_eq!(
            calm_context("he said he's fine but he is still shaking and his hand is still stuck to the cabinet"),
            None
        );
    }

    #[test]
    fn sensor_and_machine_words_are_not_harm() {
        for text in [
            "chlorine analyser on the dosing skid reads 0.0 ppm and shows a flow fault",
            "explosion-proof light fitting in the paint store has a cracked lens",
            "crusher house belt tracking off to one side, no one near it",
            "supply fan is screaming at start up, bearing probably",
        ] {
            assert_eq!(danger_evidence(text), None, "{text}");
        }
    }
}
