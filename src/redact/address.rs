//! Street addresses: a house number and a street word, in the orders that
//! English, German, Dutch, Nordic, French, Spanish, Italian and Portuguese
//! addresses use (`12 Baker Street`, `Hauptstraße 5`, `Kerkstraat 12`,
//! `10 rue de la Paix`, `Calle Mayor 3`, `in via Roma 12`).
//!
//! Street words that are also ordinary technical words in English (`drive`,
//! `way`, `place`, `court`, `close`, `row`) need the street's name in title
//! case (`4 Elm Drive`, not `4 motor drive`); a name made only of small
//! words (`2 on the road`) is not a street.

use regex::Regex;

pub(super) struct Addresses {
    english: Regex,
    english_titled: Regex,
    suffixed: Regex,
    german_word: Regex,
    french: Regex,
    french_titled: Regex,
    southern: Regex,
}

/// Small words that cannot make up a street's name on their own.
const SMALL: &[&str] = &[
    "a", "an", "the", "on", "in", "at", "to", "of", "for", "by", "from", "and", "or", "near",
    "off", "side", "down", "up", "via", "per", "x", "is", "are", "was",
];

fn re(p: &str) -> Regex {
    Regex::new(p).expect("built-in address pattern")
}

impl Addresses {
    pub(super) fn new() -> Addresses {
        Addresses {
            english: re(
                r"(?i)\b\d{1,5}[a-z]?(?:[-/]\d{1,5})?,?\s+((?:[\p{L}'.-]+\s+){1,3})(?:street|road|avenue|lane|boulevard|terrace|crescent|highway|parkway|mews|gardens|st|rd|ave|ln|blvd|hwy|pkwy)\b\.?",
            ),
            english_titled: re(
                r"\b\d{1,5}[A-Za-z]?,?\s+((?:\p{Lu}[\p{L}'.-]*\s+){1,3})(?:Drive|Dr|Way|Court|Ct|Place|Pl|Close|Row|Walk|Hill|Circle|Square|Sq|Grove|Trail|Park|Green|Rise|View)\b\.?",
            ),
            suffixed: re(
                r"(?i)\b\p{L}[\p{L}-]*(?:straße|strasse|str\.|gasse|platz|allee|damm|ufer|weg|straat|laan|gracht|plein|singel|kade|dijk|vej|gatan|gata|veien|vägen)\s+\d{1,4}\s?[a-z]?\b",
            ),
            german_word: re(
                r"\b(?:\p{Lu}[\p{L}-]*\s+)?(?:Straße|Strasse|Allee|Platz|Weg|Gasse|Damm)\s+\d{1,4}\s?[a-z]?\b",
            ),
            french: re(
                r"(?i)\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|allée|allee|impasse|quai|chemin)\s+(?:(?:de|du|des|la|le|les|l'|d')\s*){0,2}\p{L}[\p{L}'-]+(?:\s+\p{Lu}[\p{L}'-]+){0,2}",
            ),
            french_titled: re(
                r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?i:avenue|boulevard|bd|av\.|place|route|cours)\s+(?:(?:(?:de|du|des|la|le|les)\s+|l'|d')(?:\p{L}[\p{L}'-]+)|\p{Lu}[\p{L}'-]+)(?:\s+\p{Lu}[\p{L}'-]+){0,2}",
            ),
            southern: re(
                r"\b(?:(?i:calle|avenida|avda\.?|plaza|paseo|camino|carrer|viale|piazza|corso|largo|rua|travessa|praça)|C/|Via|(?i:in|a|at|address:?)\s+via)\s+(?:(?:de|del|la|las|los|dos|das|do|da|di|della|dei|delle)\s+){0,2}\p{Lu}[\p{L}'-]*(?:\s+\p{Lu}[\p{L}'-]*){0,2},?\s+(?:n[º°o]\.?\s*)?\d{1,4}[a-z]?\b",
            ),
        }
    }

    /// Every street address in `text`, as byte spans.
    pub(super) fn find(&self, text: &str, out: &mut Vec<(usize, usize)>) {
        for pattern in [&self.english, &self.english_titled] {
            for c in pattern.captures_iter(text) {
                let name = c.get(1).map_or("", |g| g.as_str());
                let real_name = name.split_whitespace().any(|w| {
                    let w = w.trim_matches(|c: char| !c.is_alphanumeric());
                    !w.is_empty() && !SMALL.contains(&w.to_lowercase().as_str())
                });
                if real_name {
                    let m = c.get(0).expect("whole match");
                    out.push((m.start(), m.end()));
                }
            }
        }
        for pattern in [
            &self.suffixed,
            &self.german_word,
            &self.french,
            &self.french_titled,
            &self.southern,
        ] {
            for m in pattern.find_iter(text) {
                // `via` as in Italian needs what follows to be a place, not a
                // bus or protocol name.
                if m.as_str().to_ascii_lowercase().contains("via ")
                    && m.as_str().bytes().any(|b| b.is_ascii_uppercase())
                    && m.as_str()
                        .split_whitespace()
                        .any(|w| w.len() > 1 && w.bytes().all(|b| b.is_ascii_uppercase()))
                {
                    continue;
                }
                // `in via Roma 12`: the cue word before `via` stays.
                let lower = m.as_str().to_lowercase();
                let start = match lower.find("via ") {
                    Some(i) if i > 0 && !lower.starts_with("via") => m.start() + i,
                    _ => m.start(),
                };
                out.push((start, m.end()));
            }
        }
    }
}
