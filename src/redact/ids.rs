//! Numbers that identify a person or an account: IBANs and payment cards
//! (by their checksums), national-id shapes (US SSN, UK National Insurance,
//! Spanish DNI/NIE, French NIR, Italian codice fiscale, Canadian SIN; any
//! number after a word naming an id document) and dates of birth after a
//! cue. Each check keeps the false-positive rate on technical text low: a
//! shape alone is not enough where a checksum or a cue exists.

use regex::Regex;

pub(super) struct Ids {
    iban: Regex,
    card: Regex,
    ssn: Regex,
    nino: Regex,
    dni: Regex,
    nir: Regex,
    fiscal: Regex,
    sin: Regex,
    id_cue: Regex,
    dob: Regex,
}

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Iban,
    Card,
    NationalId,
    Birth,
}

fn re(p: &str) -> Regex {
    Regex::new(p).expect("built-in id pattern")
}

impl Ids {
    pub(super) fn new() -> Ids {
        Ids {
            iban: re(r"(?i)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"),
            card: re(r"\b\d(?:[ -]?\d){12,18}\b"),
            ssn: re(r"\b(\d{3})([- ])(\d{2})([- ])(\d{4})\b"),
            nino: re(r"\b([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
            dni: re(r"\b([XYZ]?)(\d{7,8})-?([A-Z])\b"),
            nir: re(r"\b[12] ?\d{2} ?(?:0[1-9]|1[0-2]) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b"),
            fiscal: re(r"\b[A-Z]{6}\d{2}[A-EHLMPRST]\d{2}[A-Z]\d{3}[A-Z]\b"),
            sin: re(r"\b\d{3}-\d{3}-\d{3}\b"),
            id_cue: re(
                r"(?i)\b(?:ssn|social\s+security(?:\s+(?:number|no\.?|#))?|social\s+insurance(?:\s+(?:number|no\.?|#))?|national\s+insurance(?:\s+(?:number|no\.?|#))?|ni\s+(?:number|no\.?)|nino|bsn|burgerservicenummer|dni|nie|nif|steuer-?id|tax\s+(?:id|number|no\.?)|tin|personal\s+(?:id|number)|id\s+card(?:\s+(?:number|no\.?))?|national\s+id(?:\s+(?:number|no\.?))?|identity\s+(?:card|number)|sin|passport(?:\s+(?:number|no\.?|#))?|driv(?:er'?s|ing)\s+licen[cs]e(?:\s+(?:number|no\.?|#))?|licen[cs]e\s+(?:number|no\.?|#))\s*(?:is\s+|:\s*|#\s*|=\s*)?([A-Z0-9]*\d[A-Z0-9]*(?:[ -][A-Z0-9]*\d[A-Z0-9]*)*)",
            ),
            dob: re(
                r"(?i)\b(?:dob|d\.o\.b\.?|date\s+of\s+birth|born(?:\s+on)?|birthday(?:\s+is)?|geboren(?:\s+am)?|né(?:e)?\s+le)\s*[:#-]?\s*(\d{1,4}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}(?:st|nd|rd|th)?\s+\p{L}{3,9}\.?,?\s+\d{4}|\p{L}{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})",
            ),
        }
    }

    /// Every finding in `text`: byte span and kind.
    pub(super) fn find(&self, text: &str, out: &mut Vec<(usize, usize, Kind)>) {
        for m in self.iban.find_iter(text) {
            if let Some(end) = iban_end(m.as_str()) {
                out.push((m.start(), m.start() + end, Kind::Iban));
            }
        }
        for m in self.card.find_iter(text) {
            let digits = digits_of(m.as_str());
            if card_like(&digits) && consistent_separators(m.as_str()) {
                out.push((m.start(), m.end(), Kind::Card));
            }
        }
        for c in self.ssn.captures_iter(text) {
            let (area, group, serial) = (&c[1], &c[3], &c[5]);
            let ok = area != "000"
                && area != "666"
                && !area.starts_with('9')
                && group != "00"
                && serial != "0000"
                && c[2] == c[4];
            if ok {
                let m = c.get(0).expect("whole match");
                out.push((m.start(), m.end(), Kind::NationalId));
            }
        }
        for c in self.nino.captures_iter(text) {
            if !matches!(&c[1], "BG" | "GB" | "NK" | "KN" | "TN" | "NT" | "ZZ") {
                let m = c.get(0).expect("whole match");
                out.push((m.start(), m.end(), Kind::NationalId));
            }
        }
        for c in self.dni.captures_iter(text) {
            if dni_letter_ok(&c[1], &c[2], &c[3]) {
                let m = c.get(0).expect("whole match");
                out.push((m.start(), m.end(), Kind::NationalId));
            }
        }
        for m in self.nir.find_iter(text) {
            if nir_key_ok(m.as_str()) {
                out.push((m.start(), m.end(), Kind::NationalId));
            }
        }
        for m in self.fiscal.find_iter(text) {
            out.push((m.start(), m.end(), Kind::NationalId));
        }
        for m in self.sin.find_iter(text) {
            if luhn(&digits_of(m.as_str())) {
                out.push((m.start(), m.end(), Kind::NationalId));
            }
        }
        for c in self.id_cue.captures_iter(text) {
            if let Some(g) = c.get(1) {
                if digits_of(g.as_str()).len() >= 4 {
                    out.push((g.start(), g.end(), Kind::NationalId));
                }
            }
        }
        for c in self.dob.captures_iter(text) {
            if let Some(g) = c.get(1) {
                out.push((g.start(), g.end(), Kind::Birth));
            }
        }
    }
}

fn digits_of(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

/// The Luhn check over decimal digits.
pub(super) fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let v = d * 2;
                if v > 9 {
                    v - 9
                } else {
                    v
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// A payment card number: 13 to 19 digits, a known issuer prefix, the Luhn
/// check, and not one digit repeated.
fn card_like(d: &[u8]) -> bool {
    let n = d.len();
    if !(13..=19).contains(&n) || d.iter().all(|&x| x == d[0]) || !luhn(d) {
        return false;
    }
    let prefix = |k: usize| d[..k].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    let issuer = match d[0] {
        // Visa; Mastercard and Maestro; Discover, UnionPay and Maestro.
        4..=6 => true,
        // Mastercard's 2-series.
        2 => (2221..=2720).contains(&prefix(4)),
        // American Express, JCB, Diners Club.
        3 => (34..=39).contains(&prefix(2)) || (300..=305).contains(&prefix(3)),
        _ => false,
    };
    issuer && (n != 15 || matches!(prefix(2), 34 | 37))
}

/// Whether a grouped number uses one kind of separator throughout and the
/// groups of a printed card (4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3, …).
fn consistent_separators(s: &str) -> bool {
    if s.contains(' ') && s.contains('-') {
        return false;
    }
    let groups: Vec<usize> = s
        .split([' ', '-'])
        .filter(|g| !g.is_empty())
        .map(str::len)
        .collect();
    groups.len() == 1
        || matches!(
            groups.as_slice(),
            [4, 4, 4, 4]
                | [4, 6, 5]
                | [4, 6, 4]
                | [4, 4, 4, 4, 3]
                | [4, 4, 4, 1]
                | [4, 4, 4, 3]
                | [4, 4, 4, 2]
        )
}

/// The end of a valid IBAN at the start of `s` (print or electronic form),
/// trying shorter prefixes where the match ran into a following word.
fn iban_end(s: &str) -> Option<usize> {
    let mut ends: Vec<usize> = s
        .char_indices()
        .filter(|&(_, c)| c == ' ')
        .map(|(i, _)| i)
        .collect();
    ends.push(s.len());
    for &end in ends.iter().rev() {
        let compact: String = s[..end]
            .chars()
            .filter(|c| *c != ' ')
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.len() >= 15 && compact.parse::<iban::Iban>().is_ok() {
            return Some(end);
        }
    }
    None
}

/// The control letter of a Spanish DNI (or NIE, whose first letter stands
/// for a digit).
fn dni_letter_ok(prefix: &str, number: &str, letter: &str) -> bool {
    const LETTERS: &[u8] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let lead = match prefix {
        "" => "",
        "X" => "0",
        "Y" => "1",
        "Z" => "2",
        _ => return false,
    };
    if prefix.is_empty() && number.len() != 8 {
        return false;
    }
    let Ok(n) = format!("{lead}{number}").parse::<u64>() else {
        return false;
    };
    LETTERS.get((n % 23) as usize).map(|&b| b as char) == letter.chars().next()
}

/// The key of a French NIR: its last two digits are 97 minus the first 13
/// modulo 97 (Corsica's 2A/2B count as 19/18).
fn nir_key_ok(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| *c != ' ').collect();
    if compact.len() != 15 {
        return false;
    }
    let body = compact[..13].replace("2A", "19").replace("2B", "18");
    let (Ok(n), Ok(key)) = (body.parse::<u64>(), compact[13..].parse::<u64>()) else {
        return false;
    };
    97 - n % 97 == key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        assert!(luhn(&digits_of("4111 1111 1111 1111")));
        assert!(!luhn(&digits_of("4111 1111 1111 1112")));
        assert!(card_like(&digits_of("5500 0000 0000 0004")));
        assert!(card_like(&digits_of("3782 822463 10005")));
        assert!(!card_like(&digits_of("0000 0000 0000 0000")));
        assert!(!card_like(&digits_of("1234 5678 9012 3452")));
        assert_eq!(iban_end("DE89 3704 0044 0532 0130 00"), Some(27));
        assert_eq!(iban_end("GB82 WEST 1234 5698 7654 32 ASAP"), Some(27));
        assert_eq!(iban_end("DE89 3704 0044 0532 0130 01"), None);
        assert!(dni_letter_ok("", "12345678", "Z"));
        assert!(!dni_letter_ok("", "12345678", "A"));
        assert!(dni_letter_ok("X", "1234567", "L"));
        assert!(nir_key_ok("1 84 12 76 451 089 46"));
        assert!(!nir_key_ok("1 84 12 76 451 089 47"));
    }
}
