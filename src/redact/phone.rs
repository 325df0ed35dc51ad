//! Phone numbers.
//!
//! A candidate is a run of digit groups (with spaces, dots, dashes or
//! parentheses between them) holding 7 to 15 digits. It is a phone number
//! when one of these holds:
//! - it starts with `+` or `00` (an international number);
//! - it has the North American shape `(NXX) NXX-XXXX` / `NXX-NXX-XXXX`;
//! - it starts with a trunk prefix `0` or an area code in parentheses and
//!   libphonenumber's numbering plan (the `phonenumber` crate) finds it
//!   valid in one of the configured regions;
//! - a word that says a number follows (`call`, `ring`, `tel`, `mobile`,
//!   `my number is`, …) comes just before it.
//!
//! Dates, times, readings in a row (`120 130 140 150`) and bare digit runs
//! (`1714567890`) with no such word before them stay.

use regex::Regex;

use super::{char_after, char_before, continues_number, is_word, looks_like_date};

/// Regions whose national numbers are checked when no region is configured.
pub const DEFAULT_REGIONS: &[&str] = &[
    "US", "CA", "GB", "IE", "DE", "AT", "CH", "FR", "BE", "NL", "LU", "ES", "PT", "IT", "DK", "SE",
    "NO", "FI", "PL", "AU", "NZ", "IN", "ZA", "SG",
];

/// How far before a candidate a cue word may end, in bytes.
const CUE_WINDOW: usize = 40;

pub(super) struct Phones {
    candidate: Regex,
    nanp: Regex,
    cue: Regex,
    regions: Vec<phonenumber::country::Id>,
}

/// A region code the numbering plans do not know.
#[derive(Debug)]
pub(super) struct UnknownRegion(pub String);

impl Phones {
    pub(super) fn new(regions: &[String]) -> Result<Phones, UnknownRegion> {
        let mut ids = Vec::new();
        let names: Vec<String> = if regions.is_empty() {
            DEFAULT_REGIONS.iter().map(|s| s.to_string()).collect()
        } else {
            regions.to_vec()
        };
        for r in &names {
            let id: phonenumber::country::Id = r
                .trim()
                .to_ascii_uppercase()
                .parse()
                .map_err(|_| UnknownRegion(r.clone()))?;
            ids.push(id);
        }
        Ok(Phones {
            // Groups of digits, one separator between groups; an optional
            // leading `+`, and area codes or `(0)` in parentheses.
            candidate: Regex::new(
                r"\+?\(?\d{1,5}\)?(?:(?:[ .\-]|\s?\(|\)\s?)?\d{1,6}\)?){1,7}",
            )
            .expect("phone candidate pattern"),
            nanp: Regex::new(r"^(?:\+?1[ .\-]?)?(?:\(\d{3}\)\s?|\d{3}[ .\-])\d{3}[ .\-]\d{4}$")
                .expect("NANP pattern"),
            cue: Regex::new(
                r"(?i)\b(?:call(?:ed)?|calling|ring|rang|phone|phoned|tel|telephone|mobile|mob|cell|cellphone|text|txt|sms|whatsapp|dial|fax|hotline|reach|contact|ext|extension|(?:my|his|her|their|contact|phone|cell|mobile|direct|call-?back|home|work|office|landline)\s+(?:number|no\.?|#))\b(?:\W+[^\W\d]+){0,4}\W*$",
            )
            .expect("phone cue pattern"),
            regions: ids,
        })
    }

    /// Every phone number in `text`, as byte spans.
    pub(super) fn find(&self, text: &str, out: &mut Vec<(usize, usize)>) {
        for m in self.candidate.find_iter(text) {
            let (start, end) = trim_span(text, m.start(), m.end());
            if end <= start {
                continue;
            }
            let s = &text[start..end];
            let glued = char_before(text, start)
                .is_some_and(|c| is_word(c) || matches!(c, '-' | '.' | '/' | '+' | ':'))
                || char_after(text, end).is_some_and(|c| is_word(c) || c == '/')
                || continues_number(&text[end..]);
            if glued {
                continue;
            }
            if self.is_phone(text, start, s) {
                out.push((start, end));
            }
        }
    }

    fn is_phone(&self, text: &str, start: usize, s: &str) -> bool {
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        if !(7..=15).contains(&digits.len()) || looks_like_date(s) {
            return false;
        }
        if s.starts_with('+') || (s.starts_with("00") && digits.len() >= 9) {
            return digits.len() >= 8;
        }
        if self.nanp.is_match(s) {
            return true;
        }
        let trunk = s.starts_with('0') || s.starts_with('(');
        if trunk && self.valid_somewhere(s) {
            return true;
        }
        let grouped = s.bytes().any(|b| !b.is_ascii_digit());
        if self.cued(text, start) {
            return grouped || digits.len() >= 9 || self.valid_somewhere(s);
        }
        false
    }

    fn valid_somewhere(&self, s: &str) -> bool {
        self.regions
            .iter()
            .any(|&r| phonenumber::parse(Some(r), s).is_ok_and(|n| phonenumber::is_valid(&n)))
    }

    fn cued(&self, text: &str, start: usize) -> bool {
        let mut from = start.saturating_sub(CUE_WINDOW);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        self.cue.is_match(&text[from..start])
    }
}

/// Trims separators and unmatched parentheses off a candidate's ends.
fn trim_span(text: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    let b = text.as_bytes();
    while end > start && matches!(b[end - 1], b' ' | b'.' | b'-' | b'(') {
        end -= 1;
    }
    if end > start && b[end - 1] == b')' {
        let s = &text[start..end];
        if s.matches('(').count() < s.matches(')').count() {
            end -= 1;
        }
    }
    while end > start && matches!(b[start], b' ' | b'.' | b'-' | b')') {
        start += 1;
    }
    (start, end)
}
