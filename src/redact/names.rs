//! Names that follow a cue: `my name is …`, `reported by …`, `regards, …`,
//! an honorific (`Mr`, `Frau`, `Mme`, …) take one to three words in any
//! case; weaker cues (`ask … to call me`, `this is …`, `customer …`,
//! `technician …`) take only words in title case. Small words, weekdays,
//! months and common technical words end a name, so `ask maintenance`,
//! `tell the supplier` and `tech Support` stay.

use regex::Regex;

pub(super) struct CuedNames {
    strong: Regex,
    weak: Regex,
    word: Regex,
}

/// Words that are never (the start of) a name after a cue.
const STOP: &[&str] = &[
    "a",
    "about",
    "after",
    "again",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "asap",
    "at",
    "back",
    "be",
    "because",
    "before",
    "but",
    "by",
    "can",
    "cheers",
    "could",
    "did",
    "do",
    "does",
    "done",
    "else",
    "everyone",
    "first",
    "for",
    "from",
    "get",
    "go",
    "going",
    "guys",
    "had",
    "has",
    "have",
    "he",
    "her",
    "here",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "last",
    "let",
    "mate",
    "may",
    "me",
    "more",
    "my",
    "need",
    "needed",
    "needs",
    "next",
    "no",
    "not",
    "now",
    "of",
    "off",
    "ok",
    "okay",
    "on",
    "once",
    "one",
    "or",
    "our",
    "out",
    "over",
    "please",
    "pls",
    "re",
    "regarding",
    "she",
    "should",
    "so",
    "some",
    "someone",
    "soon",
    "still",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "they",
    "this",
    "those",
    "to",
    "today",
    "tomorrow",
    "tonight",
    "too",
    "up",
    "urgent",
    "us",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "who",
    "will",
    "with",
    "would",
    "yes",
    "yesterday",
    "you",
    "your",
    "team",
    "support",
    "service",
    "services",
    "maintenance",
    "desk",
    "helpdesk",
    "site",
    "control",
    "room",
    "office",
    "department",
    "dept",
    "ops",
    "operations",
    "shift",
    "night",
    "day",
    "morning",
    "evening",
    "afternoon",
    "week",
    "pump",
    "pumps",
    "chiller",
    "boiler",
    "motor",
    "panel",
    "unit",
    "line",
    "tank",
    "plant",
    "station",
    "compressor",
    "generator",
    "ups",
    "drive",
    "valve",
    "fan",
    "building",
    "block",
    "floor",
    "level",
    "area",
    "zone",
    "supplier",
    "vendor",
    "contractor",
    "manufacturer",
    "customer",
    "client",
    "engineer",
    "engineering",
    "technician",
    "tech",
    "operator",
    "supervisor",
    "manager",
    "electrician",
    "security",
    "reception",
    "facilities",
    "hvac",
    "network",
    "system",
    "alarm",
    "fault",
    "error",
    "warning",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "thanks",
    "thank",
    "regards",
    "hi",
    "hello",
    "dear",
    "sorry",
    "sure",
    "getting",
    "looking",
    "working",
    "trying",
    "stuck",
    "afraid",
    "told",
    "said",
    "says",
    "sent",
    "called",
    "calling",
    "away",
    "around",
    "badge",
    "employee",
    "emp",
    "staff",
    "id",
    "number",
];

/// Particles that may sit inside a name (`Jan van der Berg`), never at its
/// start or end.
const PARTICLES: &[&str] = &[
    "van", "von", "der", "den", "de", "da", "del", "della", "di", "du", "la", "le", "bin", "al",
    "el", "ten", "ter",
];

fn re(p: &str) -> Regex {
    Regex::new(p).expect("built-in name cue pattern")
}

impl CuedNames {
    pub(super) fn new() -> CuedNames {
        CuedNames {
            strong: re(
                r"(?i)\b(?:my\s+name\s+is|my\s+name's|name\s*(?:is|:)|i\s+am\s+called|signed\s*:|attn\.?:?|regards,|from:|mr\.?|mrs\.?|ms\.?|miss|mx\.?|dr\.?|herr|frau|mme\.?|mlle\.?|sr\.?|sra\.?|sig\.?)[ \t]+",
            ),
            weak: re(
                r"(?i)\b(?:signed(?:\s+off)?\s+by|reported\s+by|requested\s+by|raised\s+by|logged\s+by|attended\s+by|submitted\s+by|opened\s+by|contact(?:\s+person)?\s*(?:is|:)|site\s+contact(?:\s+is|:)?|this\s+is|i'?m|i\s+am|ask(?:\s+for)?|tell|call|ring|phone|text|e-?mail|contact|speak\s+(?:to|with)|talk\s+to|customer|client|tenant|owner|resident|caller|homeowner|technician|tech|engineer|operator|supervisor|manager|foreman|electrician|plumber|colleague|landlord|regards|thanks|cheers)[ \t,]+",
            ),
            word: re(r"^(?:\p{L}\.|\p{L}[\p{L}'’-]*\p{L}|\p{L})$"),
        }
    }

    /// Every cued name in `text`, as byte spans.
    pub(super) fn find(&self, text: &str, out: &mut Vec<(usize, usize)>) {
        for m in self.strong.find_iter(text) {
            if let Some(end) = self.name_at(text, m.end(), true) {
                out.push((m.end(), end));
            }
        }
        for m in self.weak.find_iter(text) {
            if let Some(end) = self.name_at(text, m.end(), false) {
                out.push((m.end(), end));
            }
        }
    }

    /// The end of a name of one to three words starting at `at`, if there
    /// is one. `any_case`: words need not be in title case. A word is a
    /// whole whitespace-separated token (less trailing punctuation), so
    /// `P-101` or `jo@example.com` never yield a name.
    fn name_at(&self, text: &str, at: usize, any_case: bool) -> Option<usize> {
        let mut pos = at;
        let mut end = None;
        let mut words = 0;
        let mut tokens = 0;
        let mut first_titled = false;
        while words < 3 && tokens < 6 {
            let rest = &text[pos..];
            let token_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let token = &rest[..token_len];
            let w = token.trim_end_matches([',', ';', ':', '!', '?', ')', '"', '\'']);
            let w = if w.len() > 2 {
                w.trim_end_matches('.')
            } else {
                w
            };
            let stops_here = w.len() < token.len();
            if w.is_empty() || !self.word.is_match(w) {
                break;
            }
            let lower = w.to_lowercase();
            let bare = lower.trim_end_matches('.');
            if STOP.contains(&bare) {
                break;
            }
            let particle = PARTICLES.contains(&bare);
            if particle && words == 0 {
                break;
            }
            if !particle && !any_case && !title_case(w) {
                break;
            }
            if !particle && any_case && !(title_case(w) || all_letters(w)) {
                break;
            }
            // `Frau Schmidt hat angerufen`: after a name in title case, a
            // word in lower case is the sentence going on.
            if !particle && words > 0 && first_titled && !title_case(w) {
                break;
            }
            if words == 0 {
                first_titled = title_case(w);
            }
            pos += w.len();
            tokens += 1;
            if !particle {
                words += 1;
                end = Some(pos);
            }
            if stops_here {
                break;
            }
            // One space (or tab) between the words of a name.
            let gap = text[pos..]
                .bytes()
                .take_while(|b| *b == b' ' || *b == b'\t')
                .count();
            if gap == 0 || gap > 2 {
                break;
            }
            pos += gap;
        }
        end
    }
}

/// `Jane`, `O'Brien`, `McKay`, `J.`: an upper-case letter first and not
/// every letter in upper case (a code such as `VFD`), except an initial.
fn title_case(w: &str) -> bool {
    let mut chars = w.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !first.is_uppercase() {
        return false;
    }
    let letters: Vec<char> = w.chars().filter(|c| c.is_alphabetic()).collect();
    letters.len() == 1 || letters.iter().skip(1).any(|c| c.is_lowercase())
}

fn all_letters(w: &str) -> bool {
    w.chars()
        .all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-' | '.'))
}
