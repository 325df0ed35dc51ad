//! Redaction: removes what must not leave the device from a text before it
//! is escalated, and puts it back into the central service's answer.
//!
//! [`Redactor::redact`] replaces, in this order of precedence when two
//! findings overlap (the one starting first wins, then the longer one):
//! operator patterns, emails, MAC addresses, IPv6 and IPv4 addresses (less
//! those in the configured technical networks), IBANs and payment cards (by
//! checksum), national-id numbers, phone numbers ([`phone`]), dates of birth,
//! street addresses ([`address`]), badge numbers, serial numbers, the
//! configured names (a roster) and names after a cue ([`names`]). Each
//! distinct original becomes a placeholder such as `[EMAIL_1]`, numbered per
//! label in order of appearance; the same original gets the same
//! placeholder throughout one text (names compare case-insensitively).
//!
//! So two spellings of one name, `Jane Doe` and `JANE DOE`, share a
//! placeholder (the central service should see one person), and the answer
//! gets back the first spelling at both places: rehydration restores the
//! text exactly up to the case of names, as [`fold_case`] compares it.
//!
//! Measurements (`3.5 bar`, `400 V`, `20 A`, `12000rpm`), dates
//! (`2024-05-01`, `01/05/2024`), times (`14:30`) and asset tags (`P-101`,
//! `MCC-2`, `AHU-3`) are left alone.
//!
//! # Placeholders already in the text
//! A placeholder is `[`, a label of `A`–`Z`, `0`–`9` and `_` starting with a
//! letter, `_`, a decimal number, `]`. Anything in the input that already
//! has that form is itself replaced by a `[LITERAL_n]` placeholder, so every
//! placeholder in the redacted text is one this module made and is in the
//! map. [`rehydrate`] replaces in a single left-to-right pass and never
//! rescans what it inserted, so an original that looks like a placeholder
//! comes back verbatim. Placeholders unknown to the map are left as they
//! are; lowercase look-alikes are not placeholders.
//!
//! The map holds the originals: it stays on the device, is never logged,
//! and [`Redacted`]'s `Debug` prints only sizes and placeholders.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt;
use std::net::Ipv6Addr;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

mod address;
mod ids;
mod names;
mod phone;

pub use phone::DEFAULT_REGIONS as DEFAULT_PHONE_REGIONS;

/// Most operator patterns.
pub const MAX_PATTERNS: usize = 64;
/// Longest operator pattern source, in bytes.
pub const MAX_PATTERN_LEN: usize = 1024;
/// Compiled size limit of one operator pattern, in bytes.
pub const MAX_PATTERN_BYTES: usize = 256 * 1024;
/// Longest custom label.
pub const MAX_LABEL_LEN: usize = 32;
/// Most configured names.
pub const MAX_NAMES: usize = 1024;
/// Longest configured name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Compiled size limit of the names matcher, in bytes.
const MAX_NAMES_BYTES: usize = 16 * 1024 * 1024;

/// Label of placeholders that stand for placeholder look-alikes found in
/// the input; reserved for that.
pub const LITERAL_LABEL: &str = "LITERAL";

const EMAIL: &str = "EMAIL";
const PHONE: &str = "PHONE";
const IP: &str = "IP";
const MAC: &str = "MAC";
const SERIAL: &str = "SERIAL";
const BADGE: &str = "BADGE";
const NAME: &str = "NAME";
const IBAN: &str = "IBAN";
const CARD: &str = "CARD";
const NATIONAL_ID: &str = "NATIONAL_ID";
const BIRTH: &str = "DOB";
const ADDRESS: &str = "ADDRESS";

/// Most technical networks.
pub const MAX_NETWORKS: usize = 256;

/// Unit suffixes that make `digits+letters` a measurement, not a serial.
const UNITS: &[&str] = &[
    "a", "ah", "bar", "barg", "c", "cfm", "cm", "db", "dba", "degc", "degf", "f", "g", "gb",
    "gbps", "ghz", "gpm", "h", "hpa", "hr", "hrs", "hz", "k", "ka", "kb", "kbps", "kg", "khz",
    "km", "kpa", "kv", "kva", "kvar", "kw", "kwh", "l", "lpm", "m", "ma", "mah", "mb", "mbar",
    "mbps", "mg", "mhz", "min", "ml", "mm", "mpa", "ms", "mv", "mw", "mwh", "nd", "nm", "ns", "pa",
    "ppm", "psi", "psig", "rd", "rpm", "s", "sec", "st", "tb", "th", "us", "v", "va", "vac", "var",
    "vdc", "w", "wh",
];

/// Redaction settings, from the `[redact]` config table. Its `Debug`
/// counts the names rather than printing them.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedactConfig {
    /// Names to remove (people, sites, customers): whole words,
    /// case-insensitive; whitespace inside a name matches any whitespace.
    pub names: Vec<String>,
    /// Operator patterns, applied before the built-in detectors.
    pub patterns: Vec<CustomPattern>,
    /// Regions (ISO 3166 codes) whose national phone numbers are checked
    /// against their numbering plans; empty: [`DEFAULT_PHONE_REGIONS`].
    pub phone_regions: Vec<String>,
    /// Networks (`10.20.0.0/16`, `fd00::/8`, or one address) whose
    /// addresses are plant equipment: they are kept, as the central answer
    /// needs them. Every other IP address is removed.
    pub technical_networks: Vec<String>,
}

impl fmt::Debug for RedactConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactConfig")
            .field("names", &self.names.len())
            .field("patterns", &self.patterns)
            .field("phone_regions", &self.phone_regions)
            .field("technical_networks", &self.technical_networks)
            .finish()
    }
}

/// An operator-defined pattern; the whole match is replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    /// Placeholder label: letters, digits and `_`, starting with a letter,
    /// at most [`MAX_LABEL_LEN`]; uppercased.
    pub label: String,
    /// The pattern, in the syntax of the `regex` crate.
    pub regex: String,
}

/// A configuration the redactor cannot use. Names are reported by position
/// only, so the error can be logged.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// A custom label is empty, too long, reserved, or has characters
    /// outside `[A-Za-z0-9_]`.
    #[error("redaction label {label:?} is invalid: {reason}")]
    InvalidLabel {
        /// The label as configured.
        label: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A pattern does not compile, or compiles past the size limit.
    #[error("redaction pattern {label:?} is invalid: {source}")]
    InvalidPattern {
        /// The pattern's label (`NAME` for the names list).
        label: String,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// A pattern's source is longer than [`MAX_PATTERN_LEN`].
    #[error("redaction pattern {label:?} is {len} bytes long; the limit is {max}")]
    PatternTooLong {
        /// The pattern's label.
        label: String,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_PATTERNS`] patterns.
    #[error("{count} redaction patterns configured; the limit is {max}")]
    TooManyPatterns {
        /// How many were configured.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_NAMES`] names.
    #[error("{count} redaction names configured; the limit is {max}")]
    TooManyNames {
        /// How many were configured.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A phone region is not an ISO 3166 code the numbering plans know.
    #[error("redaction phone region {0:?} is unknown")]
    UnknownRegion(String),
    /// A technical network is not an address or `address/prefix`, or there
    /// are more than [`MAX_NETWORKS`].
    #[error("redaction technical network #{index} is invalid: {reason}")]
    InvalidNetwork {
        /// Position in the list, from 0.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A name is empty, too long, or does not start and end with a letter
    /// or digit.
    #[error("redaction name #{index} is invalid: {reason}")]
    InvalidName {
        /// Position in the names list, from 0.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A redacted text and the map to undo it.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Redacted {
    /// The text with placeholders in place of what was removed.
    pub text: String,
    /// (placeholder, original), in order of first appearance.
    pub map: Vec<(String, String)>,
}

impl Redacted {
    /// Puts the originals back into `answer`; see [`rehydrate`].
    pub fn rehydrate(&self, answer: &str) -> String {
        rehydrate(answer, &self.map)
    }

    /// Whether nothing was replaced.
    pub fn is_unchanged(&self) -> bool {
        self.map.is_empty()
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let placeholders: Vec<&str> = self.map.iter().map(|(p, _)| p.as_str()).collect();
        f.debug_struct("Redacted")
            .field("text_bytes", &self.text.len())
            .field("placeholders", &placeholders)
            .finish()
    }
}

/// The end (exclusive) of a placeholder starting at byte `start` of `s`.
fn placeholder_at(s: &str, start: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    if bytes.get(start) != Some(&b'[') {
        return None;
    }
    let first = *bytes.get(start + 1)?;
    if !first.is_ascii_uppercase() {
        return None;
    }
    let mut end = start + 1;
    while let Some(&b) = bytes.get(end) {
        if b == b']' {
            break;
        }
        if !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') || end - start > 96 {
            return None;
        }
        end += 1;
    }
    if bytes.get(end) != Some(&b']') {
        return None;
    }
    let inner = &s[start + 1..end];
    let (label, number) = inner.rsplit_once('_')?;
    if label.is_empty() || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(end + 1)
}

/// Puts the originals of `map` back into `answer`. Each placeholder of the
/// map is replaced by its original in one left-to-right pass; placeholders
/// not in the map and everything else are kept as they are.
pub fn rehydrate(answer: &str, map: &[(String, String)]) -> String {
    if map.is_empty() {
        return answer.to_string();
    }
    let lookup: HashMap<&str, &str> = map.iter().map(|(p, o)| (p.as_str(), o.as_str())).collect();
    let mut out = String::with_capacity(answer.len());
    let mut copied = 0;
    let mut i = 0;
    while let Some(off) = answer[i..].find('[') {
        let start = i + off;
        match placeholder_at(answer, start) {
            Some(end) => {
                if let Some(original) = lookup.get(&answer[start..end]) {
                    out.push_str(&answer[copied..start]);
                    out.push_str(original);
                    copied = end;
                }
                i = end;
            }
            None => i = start + 1,
        }
    }
    out.push_str(&answer[copied..]);
    out
}

/// The case-insensitive form of a name: each character lowercased on its
/// own (no context rules, such as Greek final sigma, that would make two
/// spellings of one name differ). Two names that give the same form share
/// a placeholder.
pub fn fold_case(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// One finding: a byte span of the input and its label.
struct Finding<'a> {
    start: usize,
    end: usize,
    rank: u16,
    label: &'a str,
    fold: bool,
}

/// Validates and uppercases a custom label.
fn normalise_label(label: &str) -> Result<String, RedactError> {
    let bad = |reason| RedactError::InvalidLabel {
        label: label.to_string(),
        reason,
    };
    let up = label.trim().to_ascii_uppercase();
    if up.is_empty() {
        return Err(bad("empty"));
    }
    if up.len() > MAX_LABEL_LEN {
        return Err(bad("longer than 32 characters"));
    }
    if !up
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(bad("only letters, digits and '_' are allowed"));
    }
    if !up.as_bytes().first().is_some_and(u8::is_ascii_uppercase) {
        return Err(bad("must start with a letter"));
    }
    if up == LITERAL_LABEL {
        return Err(bad("LITERAL is reserved"));
    }
    Ok(up)
}

fn builtin(label: &str, pattern: &str) -> Result<Regex, RedactError> {
    Regex::new(pattern).map_err(|source| RedactError::InvalidPattern {
        label: label.to_string(),
        source,
    })
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn char_before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

fn char_after(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

/// Whether the span is not glued to a word on either side.
fn standalone(text: &str, start: usize, end: usize) -> bool {
    !char_before(text, start).is_some_and(is_word) && !char_after(text, end).is_some_and(is_word)
}

/// Whether `s` is `.` or `:` followed by a digit (a longer dotted or
/// colon-separated number continues there).
fn continues_number(s: &str) -> bool {
    let mut it = s.chars();
    matches!(it.next(), Some('.') | Some(':')) && it.next().is_some_and(|c| c.is_ascii_digit())
}

fn digit_groups(s: &str) -> Vec<usize> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(str::len)
        .collect()
}

/// Whether a digit run with separators reads as a date.
fn looks_like_date(s: &str) -> bool {
    let g = digit_groups(s);
    if g.len() != 3 {
        return false;
    }
    (g[0] == 4 && g[1] <= 2 && g[2] <= 2) || (g[0] <= 2 && g[1] <= 2 && (g[2] == 4 || g[2] == 2))
}

fn plausible_serial_token(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let letters = s.bytes().filter(u8::is_ascii_alphabetic).count();
    if digits < 2 || letters < 2 {
        return false;
    }
    let split = s.bytes().take_while(u8::is_ascii_digit).count();
    let suffix = &s[split..];
    let measurement = split > 0
        && suffix.bytes().all(|b| b.is_ascii_alphabetic())
        && UNITS.contains(&suffix.to_ascii_lowercase().as_str());
    !measurement
}

/// Detects and replaces what must not leave the device. Cheap to share:
/// `Send + Sync`, built once from the config.
pub struct Redactor {
    custom: Vec<(String, Regex)>,
    networks: Vec<(std::net::IpAddr, u8)>,
    phones: phone::Phones,
    names: Option<Regex>,
    /// The detectors no setting changes, compiled once per process and
    /// shared by every redactor (a reload or a config check builds only
    /// the configured part).
    builtin: &'static Builtins,
}

/// The built-in detectors.
struct Builtins {
    email: Regex,
    mac: Regex,
    ipv6: Regex,
    ipv4: Regex,
    ids: ids::Ids,
    addresses: address::Addresses,
    cued_names: names::CuedNames,
    badge_token: Regex,
    badge_context: Regex,
    serial_context: Regex,
    serial_token: Regex,
}

static BUILTINS: std::sync::OnceLock<Builtins> = std::sync::OnceLock::new();

impl Builtins {
    /// The shared detectors, compiled on first use.
    fn shared() -> Result<&'static Builtins, RedactError> {
        if let Some(b) = BUILTINS.get() {
            return Ok(b);
        }
        let b = Builtins::compile()?;
        Ok(BUILTINS.get_or_init(|| b))
    }

    fn compile() -> Result<Builtins, RedactError> {
        Ok(Builtins {
            email: builtin(
                EMAIL,
                r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
            )?,
            mac: builtin(
                MAC,
                r"(?i)\b(?:[0-9A-F]{2}[:-]){5}[0-9A-F]{2}\b|\b[0-9A-F]{4}\.[0-9A-F]{4}\.[0-9A-F]{4}\b",
            )?,
            ipv6: builtin(
                IP,
                r"(?i)(?:[0-9A-F]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-F]{1,4})?",
            )?,
            ipv4: builtin(
                IP,
                r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:/(?:3[0-2]|[12]?\d))?\b",
            )?,
            ids: ids::Ids::new(),
            addresses: address::Addresses::new(),
            cued_names: names::CuedNames::new(),
            badge_token: builtin(BADGE, r"(?i)\b(?:emp|badge|staff)-?\d{3,12}\b")?,
            badge_context: builtin(
                BADGE,
                r"(?i)\b(?:badge|employee|emp|staff)(?:\s*(?:no\.?|number|num|id|#))?\s*[:#=-]?\s*([A-Z]{0,3}\d{3,12})\b|\bid\s*(?:#|no\.?|number|:)\s*[:#]?\s*([A-Z]{0,3}\d{3,12})\b",
            )?,
            serial_context: builtin(
                SERIAL,
                r"(?i)\b(?:s/n|sn|serial(?:\s*(?:no\.?|number|num|#))?)\s*[:#=]?\s*([A-Z0-9][A-Z0-9-]{3,39})\b",
            )?,
            serial_token: builtin(SERIAL, r"\b[A-Za-z0-9]{8,64}\b")?,
        })
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels: Vec<&str> = self.custom.iter().map(|(l, _)| l.as_str()).collect();
        f.debug_struct("Redactor")
            .field("custom_labels", &labels)
            .field("names", &self.names.is_some())
            .finish()
    }
}

/// Parses the technical networks: `address/prefix` or one address.
fn parse_networks(list: &[String]) -> Result<Vec<(std::net::IpAddr, u8)>, RedactError> {
    if list.len() > MAX_NETWORKS {
        return Err(RedactError::InvalidNetwork {
            index: MAX_NETWORKS,
            reason: format!(
                "{} networks configured; the limit is {MAX_NETWORKS}",
                list.len()
            ),
        });
    }
    list.iter()
        .enumerate()
        .map(|(index, n)| {
            let bad = |reason: String| RedactError::InvalidNetwork { index, reason };
            let (addr, prefix) = match n.trim().split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (n.trim(), None),
            };
            let addr: std::net::IpAddr = addr
                .parse()
                .map_err(|_| bad(format!("{addr:?} is not an IP address")))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|&p| p <= max)
                    .ok_or_else(|| bad(format!("prefix {p:?} is not 0 to {max}")))?,
            };
            Ok((addr, prefix))
        })
        .collect()
}

/// Whether `addr` lies in the network `net`/`prefix`.
fn in_network(addr: std::net::IpAddr, net: std::net::IpAddr, prefix: u8) -> bool {
    use std::net::IpAddr;
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|a4| in_network(a4.into(), net, prefix)),
        _ => false,
    }
}

impl Redactor {
    /// Whether `addr` is in one of the configured technical networks.
    fn technical(&self, addr: std::net::IpAddr) -> bool {
        self.networks
            .iter()
            .any(|&(net, prefix)| in_network(addr, net, prefix))
    }

    /// Builds the detectors. Fails on an invalid label, name or pattern,
    /// naming it (names by position).
    pub fn new(cfg: &RedactConfig) -> Result<Redactor, RedactError> {
        if cfg.patterns.len() > MAX_PATTERNS {
            return Err(RedactError::TooManyPatterns {
                count: cfg.patterns.len(),
                max: MAX_PATTERNS,
            });
        }
        let mut custom = Vec::with_capacity(cfg.patterns.len());
        for p in &cfg.patterns {
            let label = normalise_label(&p.label)?;
            if p.regex.len() > MAX_PATTERN_LEN {
                return Err(RedactError::PatternTooLong {
                    label,
                    len: p.regex.len(),
                    max: MAX_PATTERN_LEN,
                });
            }
            let re = RegexBuilder::new(&p.regex)
                .size_limit(MAX_PATTERN_BYTES)
                .dfa_size_limit(4 * MAX_PATTERN_BYTES)
                .build()
                .map_err(|source| RedactError::InvalidPattern {
                    label: label.clone(),
                    source,
                })?;
            custom.push((label, re));
        }
        let names = Self::names_matcher(&cfg.names)?;
        let networks = parse_networks(&cfg.technical_networks)?;
        Ok(Redactor {
            custom,
            networks,
            phones: phone::Phones::new(&cfg.phone_regions)
                .map_err(|e| RedactError::UnknownRegion(e.0))?,
            names,
            builtin: Builtins::shared()?,
        })
    }

    fn names_matcher(names: &[String]) -> Result<Option<Regex>, RedactError> {
        if names.len() > MAX_NAMES {
            return Err(RedactError::TooManyNames {
                count: names.len(),
                max: MAX_NAMES,
            });
        }
        let mut words: Vec<&str> = Vec::with_capacity(names.len());
        for (index, name) in names.iter().enumerate() {
            let n = name.trim();
            let bad = |reason| RedactError::InvalidName { index, reason };
            if n.is_empty() {
                return Err(bad("empty"));
            }
            if n.len() > MAX_NAME_LEN {
                return Err(bad("longer than 128 bytes"));
            }
            let edges_ok = n.chars().next().is_some_and(char::is_alphanumeric)
                && n.chars().next_back().is_some_and(char::is_alphanumeric);
            if !edges_ok {
                return Err(bad("must start and end with a letter or digit"));
            }
            words.push(n);
        }
        if words.is_empty() {
            return Ok(None);
        }
        words.sort_by_key(|w| Reverse(w.len()));
        words.dedup();
        let alternatives: Vec<String> = words
            .iter()
            .map(|w| {
                w.split_whitespace()
                    .map(regex::escape)
                    .collect::<Vec<_>>()
                    .join(r"\s+")
            })
            .collect();
        let pattern = format!(r"(?i)\b(?:{})\b", alternatives.join("|"));
        RegexBuilder::new(&pattern)
            .size_limit(MAX_NAMES_BYTES)
            .build()
            .map(Some)
            .map_err(|source| RedactError::InvalidPattern {
                label: NAME.to_string(),
                source,
            })
    }

    /// Every finding in `text`, unordered and possibly overlapping.
    fn findings<'a>(&'a self, text: &str) -> Vec<Finding<'a>> {
        let mut out: Vec<Finding<'a>> = Vec::new();
        let mut push = |start: usize, end: usize, rank: u16, label: &'a str, fold: bool| {
            if end > start {
                out.push(Finding {
                    start,
                    end,
                    rank,
                    label,
                    fold,
                });
            }
        };

        let mut i = 0;
        while let Some(off) = text[i..].find('[') {
            let start = i + off;
            match placeholder_at(text, start) {
                Some(end) => {
                    push(start, end, 0, LITERAL_LABEL, false);
                    i = end;
                }
                None => i = start + 1,
            }
        }

        for (k, (label, re)) in self.custom.iter().enumerate() {
            let rank = 1 + u16::try_from(k).unwrap_or(u16::MAX - 100);
            for m in re.find_iter(text) {
                push(m.start(), m.end(), rank, label.as_str(), false);
            }
        }

        for m in self.builtin.email.find_iter(text) {
            push(m.start(), m.end(), 100, EMAIL, false);
        }

        for m in self.builtin.mac.find_iter(text) {
            let s = m.as_str();
            let consistent = s.contains('.') || !(s.contains(':') && s.contains('-'));
            if consistent && standalone(text, m.start(), m.end()) {
                push(m.start(), m.end(), 101, MAC, false);
            }
        }

        for m in self.builtin.ipv6.find_iter(text) {
            let mut s = m.as_str();
            if s.ends_with(':') && !s.ends_with("::") {
                s = &s[..s.len() - 1];
            }
            let (start, end) = (m.start(), m.start() + s.len());
            let has_digit = s.bytes().any(|b| b.is_ascii_digit());
            let glued = char_before(text, start)
                .is_some_and(|c| is_word(c) || c == ':' || c == '.')
                || char_after(text, end).is_some_and(is_word);
            if let (true, false, Ok(addr)) = (has_digit, glued, s.parse::<Ipv6Addr>()) {
                if !self.technical(addr.into()) {
                    push(start, end, 102, IP, false);
                }
            }
        }

        for m in self.builtin.ipv4.find_iter(text) {
            let before = &text[..m.start()];
            let glued_before = before.ends_with('.') || before.ends_with(':');
            let addr = m.as_str().split('/').next().unwrap_or("");
            let technical = addr
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|a| self.technical(a.into()));
            if standalone(text, m.start(), m.end())
                && !glued_before
                && !continues_number(&text[m.end()..])
                && !technical
            {
                push(m.start(), m.end(), 103, IP, false);
            }
        }

        let mut found = Vec::new();
        self.builtin.ids.find(text, &mut found);
        for (start, end, kind) in found {
            let (rank, label) = match kind {
                ids::Kind::Iban => (104, IBAN),
                ids::Kind::Card => (105, CARD),
                ids::Kind::NationalId => (106, NATIONAL_ID),
                ids::Kind::Birth => (108, BIRTH),
            };
            push(start, end, rank, label, false);
        }
        let mut spans = Vec::new();
        self.phones.find(text, &mut spans);
        for (start, end) in spans.drain(..) {
            push(start, end, 107, PHONE, false);
        }
        self.builtin.addresses.find(text, &mut spans);
        for (start, end) in spans.drain(..) {
            push(start, end, 109, ADDRESS, false);
        }

        for m in self.builtin.badge_token.find_iter(text) {
            push(m.start(), m.end(), 110, BADGE, false);
        }
        for c in self.builtin.badge_context.captures_iter(text) {
            if let Some(g) = c.get(1).or_else(|| c.get(2)) {
                push(g.start(), g.end(), 110, BADGE, false);
            }
        }

        for c in self.builtin.serial_context.captures_iter(text) {
            if let Some(g) = c.get(1) {
                if g.as_str().bytes().any(|b| b.is_ascii_digit()) {
                    push(g.start(), g.end(), 111, SERIAL, false);
                }
            }
        }
        for m in self.builtin.serial_token.find_iter(text) {
            if plausible_serial_token(m.as_str()) {
                push(m.start(), m.end(), 112, SERIAL, false);
            }
        }

        if let Some(re) = &self.names {
            for m in re.find_iter(text) {
                push(m.start(), m.end(), 113, NAME, true);
            }
        }
        self.builtin.cued_names.find(text, &mut spans);
        for (start, end) in spans.drain(..) {
            push(start, end, 114, NAME, true);
        }
        out
    }

    /// Replaces every finding in `text` by its placeholder. Where findings
    /// overlap, the one starting first wins, then the longer, then the
    /// higher in precedence (see the module documentation).
    pub fn redact(&self, text: &str) -> Redacted {
        let mut findings = self.findings(text);
        findings.sort_by_key(|f| (f.start, Reverse(f.end), f.rank));
        let mut out = String::with_capacity(text.len());
        let mut map: Vec<(String, String)> = Vec::new();
        let mut known: HashMap<(&str, String), usize> = HashMap::new();
        let mut counters: HashMap<&str, u32> = HashMap::new();
        let mut pos = 0;
        for f in findings {
            if f.start < pos {
                continue;
            }
            let original = &text[f.start..f.end];
            let key = if f.fold {
                fold_case(original)
            } else {
                original.to_string()
            };
            let index = match known.get(&(f.label, key.clone())) {
                Some(&i) => i,
                None => {
                    let n = counters.entry(f.label).or_insert(0);
                    *n += 1;
                    map.push((format!("[{}_{}]", f.label, n), original.to_string()));
                    known.insert((f.label, key), map.len() - 1);
                    map.len() - 1
                }
            };
            out.push_str(&text[pos..f.start]);
            out.push_str(&map[index].0);
            pos = f.end;
        }
        out.push_str(&text[pos..]);
        if !map.is_empty() {
            tracing::debug!(replaced = map.len(), "redacted escalation text");
        }
        Redacted { text: out, map }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(&RedactConfig::default()).unwrap()
    }

    /// Asserts that `original` is gone from the redaction of `text` and a
    /// placeholder of `label` stands in its place.
    fn assert_removed(r: &Redactor, text: &str, original: &str, label: &str) -> Redacted {
        let red = r.redact(text);
        assert!(
            !red.text.contains(original),
            "{original:?} survived in {:?}",
            red.text
        );
        let ph = format!("[{label}_");
        assert!(red.text.contains(&ph), "no {ph} in {:?}", red.text);
        assert!(
            red.map
                .iter()
                .any(|(p, o)| p.starts_with(&ph) && o.contains(original.trim())),
            "map lacks {original:?}: {:?}",
            red.map
        );
        assert_eq!(red.rehydrate(&red.text), text);
        red
    }

    #[test]
    fn emails_are_removed() {
        let r = redactor();
        assert_removed(
            &r,
            "mail jane.doe+pumps@plant-7.example.com now",
            "jane.doe+pumps@plant-7.example.com",
            EMAIL,
        );
        let red = assert_removed(&r, "cc ops@example.org.", "ops@example.org", EMAIL);
        assert_eq!(red.text, "cc [EMAIL_1].");
    }

    #[test]
    fn phones_are_removed() {
        let r = redactor();
        for phone in [
            "+44 20 7946 0958",
            "+1-555-123-4567",
            "+1 (555) 123-4567",
            "+49 (0)30 1234567",
            "+33 6 12 34 56 78",
            "+33612345678",
            "(555) 123-4567",
            "555-123-4567",
            "555.123.4567",
            "020 7946 0958",
            "06 12 34 56 78",
            "0612345678",
        ] {
            let text = format!("call {phone} if the pump trips");
            let red = assert_removed(&r, &text, phone, PHONE);
            assert_eq!(red.text, "call [PHONE_1] if the pump trips", "{phone}");
        }
        assert_removed(&r, "phone: 555 1234 after 6", "555 1234", PHONE);
        assert_removed(&r, "Tel. 555 123 4567", "555 123 4567", PHONE);
    }

    #[test]
    fn ip_addresses_are_removed() {
        let r = redactor();
        let red = assert_removed(
            &r,
            "PLC at 192.168.10.25, gw 10.0.0.1/24",
            "192.168.10.25",
            IP,
        );
        assert!(!red.text.contains("10.0.0.1"));
        assert_eq!(red.text, "PLC at [IP_1], gw [IP_2]");
        for v6 in [
            "2001:db8::8a2e:370:7334",
            "fe80::1ff:fe23:4567:890a",
            "::1",
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "::ffff:192.0.2.1",
        ] {
            let text = format!("host {v6} is down");
            let red = assert_removed(&r, &text, v6, IP);
            assert_eq!(red.text, "host [IP_1] is down", "{v6}");
        }
        let red = r.redact("ping fe80::1: no reply");
        assert_eq!(red.text, "ping [IP_1]: no reply");
        for kept in ["std::io::Error", "a::b", "at 14:30:05", "ratio 12:34:56:78"] {
            assert_eq!(r.redact(kept).text, kept);
        }
    }

    #[test]
    fn mac_addresses_are_removed() {
        let r = redactor();
        assert_removed(
            &r,
            "MAC 00:1A:2B:3C:4D:5E on eth0",
            "00:1A:2B:3C:4D:5E",
            MAC,
        );
        assert_removed(
            &r,
            "MAC 00-1a-2b-3c-4d-5e on eth0",
            "00-1a-2b-3c-4d-5e",
            MAC,
        );
        assert_removed(&r, "cisco 0011.2233.4455", "0011.2233.4455", MAC);
    }

    #[test]
    fn serials_are_removed() {
        let r = redactor();
        let red = assert_removed(&r, "drive SN 4A7F92KX31 faulted", "4A7F92KX31", SERIAL);
        assert_eq!(red.text, "drive SN [SERIAL_1] faulted");
        let red = assert_removed(&r, "S/N: 12345678", "12345678", SERIAL);
        assert_eq!(red.text, "S/N: [SERIAL_1]");
        assert_removed(&r, "serial 00A1B2C3D4", "00A1B2C3D4", SERIAL);
        assert_removed(&r, "serial number AB-1234-XY ok", "AB-1234-XY", SERIAL);
        assert_removed(&r, "replace board XK92B7731Q today", "XK92B7731Q", SERIAL);
    }

    #[test]
    fn badges_are_removed() {
        let r = redactor();
        let red = assert_removed(&r, "opened by badge 40213", "40213", BADGE);
        assert_eq!(red.text, "opened by badge [BADGE_1]");
        let red = assert_removed(&r, "tech EMP-004512 on site", "EMP-004512", BADGE);
        assert_eq!(red.text, "tech [BADGE_1] on site");
        let red = assert_removed(&r, "ID# 778812 signed", "778812", BADGE);
        assert_eq!(red.text, "ID# [BADGE_1] signed");
    }

    #[test]
    fn names_are_removed_case_insensitively_as_whole_words() {
        let cfg = RedactConfig {
            names: vec!["Jane Doe".into(), "Ann".into(), "Müller".into()],
            patterns: vec![],
            ..RedactConfig::default()
        };
        let r = Redactor::new(&cfg).unwrap();
        let text = "JANE  doe and ann met müller; Annual check by Anna";
        let red = r.redact(text);
        assert_eq!(
            red.text,
            "[NAME_1] and [NAME_2] met [NAME_3]; Annual check by Anna"
        );
        let red2 = r.redact("Ann, then ANN again");
        assert_eq!(red2.text, "[NAME_1], then [NAME_1] again");
        assert_eq!(red.rehydrate(&red.text), text);
    }

    #[test]
    fn two_spellings_of_a_cued_name_share_a_placeholder_and_come_back_as_the_first() {
        // Found by the redactor fuzz target: a name after a cue, twice, in
        // two cases, among bytes that are not UTF-8.
        let bytes: &[u8] = b"Pu\x96p P-10\xcf\xdf\x9e\x8b\xdf\xce\xcf\xc720.3.4 irtps on F042; \
            my name is JanE Do7946 0958, my name is Jane Do\x9e.";
        let text = String::from_utf8_lossy(bytes);
        let red = redactor().redact(&text);
        let names: Vec<&(String, String)> = red
            .map
            .iter()
            .filter(|(p, _)| p.starts_with("[NAME_"))
            .collect();
        assert_eq!(names.len(), 1, "{:?}", red.map);
        assert_eq!(
            red.text.matches(names[0].0.as_str()).count(),
            2,
            "{}",
            red.text
        );
        let back = red.rehydrate(&red.text);
        assert_ne!(back, text, "the second spelling comes back as the first");
        assert_eq!(fold_case(&back), fold_case(&text));
        // Greek final sigma: per-character folding, so both spellings match.
        assert_eq!(fold_case("ΟΔΥΣΣΕΥΣ"), fold_case("οδυσσευσ"));
    }

    #[test]
    fn local_and_national_phones_are_removed() {
        let r = redactor();
        for (text, phone) in [
            ("call me on 555-0142 when you're done", "555-0142"),
            ("my number is 555 0142", "555 0142"),
            ("ring Dave at 867-5309 re the chiller", "867-5309"),
            ("mobile 07700 900461", "07700 900461"),
            ("office 030 12345678 ask for the foreman", "030 12345678"),
            ("bel 020-7946095 voor de sleutel", "020-7946095"),
            ("landline (02) 9374 4000 after hours", "(02) 9374 4000"),
            ("call 1-800-555-0199 for parts", "1-800-555-0199"),
            ("tel +31 20 794 6095", "+31 20 794 6095"),
            ("whatsapp 0049 151 23456789", "0049 151 23456789"),
        ] {
            assert_removed(&r, text, phone, PHONE);
        }
        // A part number or range with no phone word before it stays.
        for kept in [
            "fit filter 326-1644 and seal",
            "range 300-1500 rpm",
            "unix 1714567890",
        ] {
            assert_eq!(r.redact(kept).text, kept);
        }
    }

    #[test]
    fn accounts_cards_and_national_ids_are_removed() {
        let r = redactor();
        for (text, value, label) in [
            (
                "refund to DE89 3704 0044 0532 0130 00 please",
                "DE89 3704 0044 0532 0130 00",
                IBAN,
            ),
            (
                "iban GB82WEST12345698765432.",
                "GB82WEST12345698765432",
                IBAN,
            ),
            (
                "card 4111 1111 1111 1111 exp 09/27",
                "4111 1111 1111 1111",
                CARD,
            ),
            ("amex 3782-822463-10005", "3782-822463-10005", CARD),
            ("SSN 123-45-6789 on the form", "123-45-6789", NATIONAL_ID),
            ("his ssn is 078-05-1120", "078-05-1120", NATIONAL_ID),
            ("NI number AB 12 34 56 C", "AB 12 34 56 C", NATIONAL_ID),
            ("DNI 12345678Z del cliente", "12345678Z", NATIONAL_ID),
            ("NIE X1234567L", "X1234567L", NATIONAL_ID),
            (
                "NIR 1 84 12 76 451 089 46",
                "1 84 12 76 451 089 46",
                NATIONAL_ID,
            ),
            ("CF RSSMRA85T10A562S", "RSSMRA85T10A562S", NATIONAL_ID),
            ("SIN 046-454-286", "046-454-286", NATIONAL_ID),
            ("passport no X98765432 expired", "X98765432", NATIONAL_ID),
            ("BSN 111222333", "111222333", NATIONAL_ID),
            ("DOB 12/03/1984", "12/03/1984", BIRTH),
            ("born on 3 March 1971", "3 March 1971", BIRTH),
        ] {
            assert_removed(&r, text, value, label);
        }
        for kept in [
            "IBAN-like tag DE89 3704 0044 0532 0130 01 fails its check",
            "Modbus 4000 0000 0000 0003 dump",
            "breaker 123-45-0000 and 000-12-3456",
        ] {
            let red = r.redact(kept);
            assert!(
                red.map.iter().all(|(p, _)| !p.starts_with("[IBAN")
                    && !p.starts_with("[CARD")
                    && !p.starts_with("[NATIONAL")),
                "{kept}: {:?}",
                red.text
            );
        }
    }

    #[test]
    fn street_addresses_are_removed() {
        let r = redactor();
        for (text, address) in [
            ("leak at 12 Baker Street, flat 2", "12 Baker Street"),
            ("site is 1600 pennsylvania ave nw", "1600 pennsylvania ave"),
            ("meet at 4 Elm Drive", "4 Elm Drive"),
            ("Kunde wohnt Hauptstraße 5, 2. OG", "Hauptstraße 5"),
            ("Berliner Straße 112a", "Berliner Straße 112a"),
            ("adres Kerkstraat 12 Utrecht", "Kerkstraat 12"),
            ("client au 10 rue de la Paix", "10 rue de la Paix"),
            ("12 avenue Victor Hugo, Lyon", "12 avenue Victor Hugo"),
            ("obra en Calle Mayor 3", "Calle Mayor 3"),
            ("cliente in via Roma 12", "via Roma 12"),
            ("Rua Augusta 274, Lisboa", "Rua Augusta 274"),
        ] {
            assert_removed(&r, text, address, ADDRESS);
        }
        for kept in [
            "check 4 motor drive belts",
            "pump 2 on the road side",
            "fit 3 way valve",
            "connected via Modbus 502",
            "replace O-Ring 2 and bearing 3",
            "10 place settings",
        ] {
            assert_eq!(r.redact(kept).text, kept);
        }
    }

    #[test]
    fn names_after_cues_are_removed() {
        let r = redactor();
        for (text, name) in [
            (
                "my name is Priya Raman and the chiller trips",
                "Priya Raman",
            ),
            ("my name is tomás o'neill", "tomás o'neill"),
            ("ask Jo Bloggs to call me back", "Jo Bloggs"),
            ("reported by Sven Olsen on nights", "Sven Olsen"),
            ("regards, Aiyana", "Aiyana"),
            ("Mr. Okafor needs the key", "Okafor"),
            ("Frau Schmidt hat angerufen", "Schmidt"),
            ("customer Jan van der Berg says it hums", "Jan van der Berg"),
            ("this is Mei from the night shift", "Mei"),
        ] {
            assert_removed(&r, text, name, NAME);
        }
        for kept in [
            "ask maintenance to call me",
            "tell the supplier P-101 is down",
            "tech Support says reboot",
            "call P-101 operator",
            "thanks, pump is fine now",
            "this is urgent, VFD-3 tripped",
            "I'm on site at AHU-3",
        ] {
            assert_eq!(r.redact(kept).text, kept);
        }
    }

    #[test]
    fn technical_networks_are_kept() {
        let cfg = RedactConfig {
            technical_networks: vec!["10.20.0.0/16".into(), "fd00::/8".into(), "192.0.2.7".into()],
            ..RedactConfig::default()
        };
        let r = Redactor::new(&cfg).unwrap();
        let red =
            r.redact("PLC 10.20.3.4 and fd00::12 ok, 192.0.2.7 ok; laptop 10.21.0.5, 8.8.8.8");
        assert_eq!(
            red.text,
            "PLC 10.20.3.4 and fd00::12 ok, 192.0.2.7 ok; laptop [IP_1], [IP_2]"
        );
        for bad in ["10.0.0.0/33", "pump", "::/129"] {
            let cfg = RedactConfig {
                technical_networks: vec![bad.into()],
                ..RedactConfig::default()
            };
            assert!(matches!(
                Redactor::new(&cfg),
                Err(RedactError::InvalidNetwork { index: 0, .. })
            ));
        }
        let cfg = RedactConfig {
            phone_regions: vec!["XX".into()],
            ..RedactConfig::default()
        };
        assert!(matches!(
            Redactor::new(&cfg),
            Err(RedactError::UnknownRegion(_))
        ));
    }

    #[test]
    fn measurements_dates_times_and_tags_survive() {
        let r = redactor();
        for text in [
            "P-101 discharge at 3.5 bar, motor 400 V, 20 A, 1450 rpm",
            "MCC-2 tripped on 2024-05-01 at 14:30, AHU-3 fine",
            "logged 01/05/2024 and 01-05-2024 at 14:30:05",
            "setpoint 12000rpm, runtime 10000hrs, range 300-1500 rpm, 4-20 mA",
            "firmware v2.1.0.3, fault E0042, pump P-1012",
            "temperature 85.5 C, flow 120 m3/h, valve FV-2031 at 45 %",
            "pH 7.0 7.1 7.2 7.3, ISO 9001:2015, IEC 60204-1 clause 7.2.3",
            "readings 120 130 140 150 at 08:15, baud 19200, unix 1714567890",
        ] {
            let red = r.redact(text);
            assert_eq!(red.text, text);
            assert!(red.map.is_empty(), "{text}: {:?}", red.map);
        }
    }

    #[test]
    fn same_value_gets_same_placeholder() {
        let r = redactor();
        let text = "mail a@x.io, then b@x.io, then a@x.io again; 10.0.0.1 and 10.0.0.1";
        let red = r.redact(text);
        assert_eq!(
            red.text,
            "mail [EMAIL_1], then [EMAIL_2], then [EMAIL_1] again; [IP_1] and [IP_1]"
        );
        assert_eq!(red.map.len(), 3);
    }

    #[test]
    fn rehydrate_round_trips_an_answer() {
        let r = redactor();
        let text = "jo@example.com reports PLC 192.168.1.20 down, call +44 20 7946 0958";
        let red = r.redact(text);
        assert_eq!(red.rehydrate(&red.text), text);
        let answer = "Ask [EMAIL_1] to power-cycle [IP_1]; [PHONE_1] is on call. [IP_9] unknown.";
        assert_eq!(
            rehydrate(answer, &red.map),
            "Ask jo@example.com to power-cycle 192.168.1.20; +44 20 7946 0958 is on call. [IP_9] unknown."
        );
    }

    #[test]
    fn placeholders_in_the_input_are_escaped() {
        let r = redactor();
        let text = "template says [EMAIL_1] but real is a@b.co; [IP_2] [x_1] [EMAIL_]";
        let red = r.redact(text);
        assert_eq!(
            red.text,
            "template says [LITERAL_1] but real is [EMAIL_1]; [LITERAL_2] [x_1] [EMAIL_]"
        );
        assert_eq!(red.rehydrate(&red.text), text);
        let answer = "Use [EMAIL_1], not [LITERAL_1].";
        assert_eq!(red.rehydrate(answer), "Use a@b.co, not [EMAIL_1].");
    }

    #[test]
    fn originals_that_look_like_placeholders_are_not_rescanned() {
        let map = vec![
            ("[X_1]".to_string(), "[Y_1]".to_string()),
            ("[Y_1]".to_string(), "secret".to_string()),
        ];
        assert_eq!(rehydrate("[X_1] [Y_1]", &map), "[Y_1] secret");
    }

    #[test]
    fn custom_patterns_work() {
        let cfg = RedactConfig {
            names: vec![],
            patterns: vec![CustomPattern {
                label: "work_order".into(),
                regex: r"\bWO-\d{6}\b".into(),
            }],
            ..RedactConfig::default()
        };
        let r = Redactor::new(&cfg).unwrap();
        let red = r.redact("see WO-123456 and WO-654321, not WO-12");
        assert_eq!(red.text, "see [WORK_ORDER_1] and [WORK_ORDER_2], not WO-12");
        let empty = Redactor::new(&RedactConfig {
            names: vec![],
            patterns: vec![CustomPattern {
                label: "x".into(),
                regex: "a*".into(),
            }],
            ..RedactConfig::default()
        })
        .unwrap();
        assert_eq!(empty.redact("bbb aaa").text, "bbb [X_1]");
    }

    #[test]
    fn invalid_custom_patterns_are_typed_errors() {
        let pat = |label: &str, regex: &str| RedactConfig {
            names: vec![],
            patterns: vec![CustomPattern {
                label: label.into(),
                regex: regex.into(),
            }],
            ..RedactConfig::default()
        };
        match Redactor::new(&pat("ticket", "(unclosed")) {
            Err(RedactError::InvalidPattern { label, .. }) => assert_eq!(label, "TICKET"),
            other => panic!("{other:?}"),
        }
        match Redactor::new(&pat("huge", r"\w{500}\w{500}\w{500}")) {
            Err(RedactError::InvalidPattern { label, .. }) => assert_eq!(label, "HUGE"),
            other => panic!("{other:?}"),
        }
        match Redactor::new(&pat("long", &"a".repeat(MAX_PATTERN_LEN + 1))) {
            Err(RedactError::PatternTooLong { .. }) => {}
            other => panic!("{other:?}"),
        }
        for bad in ["", "has space", "1ABC", "LITERAL", "ÄRGER", &"L".repeat(40)] {
            match Redactor::new(&pat(bad, "x")) {
                Err(RedactError::InvalidLabel { label, .. }) => assert_eq!(label, bad),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let names = RedactConfig {
            names: vec!["ok".into(), "  ".into()],
            patterns: vec![],
            ..RedactConfig::default()
        };
        assert!(matches!(
            Redactor::new(&names),
            Err(RedactError::InvalidName { index: 1, .. })
        ));
    }

    #[test]
    fn debug_does_not_leak_originals() {
        let cfg = RedactConfig {
            names: vec!["Jane Doe".into()],
            patterns: vec![],
            ..RedactConfig::default()
        };
        let r = Redactor::new(&cfg).unwrap();
        let red = r.redact("Jane Doe jane@example.com 10.1.2.3 unit is noisy");
        let dbg = format!("{red:?} {red:#?} {r:?} {cfg:?}");
        for secret in ["Jane", "jane@example.com", "10.1.2.3", "noisy"] {
            assert!(!dbg.contains(secret), "{secret} in {dbg}");
        }
        assert!(dbg.contains("[EMAIL_1]"));
    }

    #[test]
    fn config_deserializes_with_defaults() {
        let cfg: RedactConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg, RedactConfig::default());
        let cfg: RedactConfig = serde_json::from_str(
            r#"{"names":["Bo"],"patterns":[{"label":"asset","regex":"X\\d+"}]}"#,
        )
        .unwrap();
        assert_eq!(cfg.patterns[0].label, "asset");
        assert!(Redactor::new(&cfg).is_ok());
    }

    #[test]
    fn mixed_text_round_trips() {
        let cfg = RedactConfig {
            names: vec!["Ravi".into()],
            patterns: vec![],
            ..RedactConfig::default()
        };
        let r = Redactor::new(&cfg).unwrap();
        let text = "Ravi (badge 40213, ravi@corp.example) says VFD SN 4A7F92KX31 at \
                    10.20.30.40 / 00:1A:2B:3C:4D:5E shows F-07 at 3.5 bar on P-101; \
                    call +1 555 123 4567. Ravi again.";
        let red = r.redact(text);
        for secret in [
            "40213",
            "ravi@corp.example",
            "4A7F92KX31",
            "10.20.30.40",
            "00:1A:2B:3C:4D:5E",
            "555 123 4567",
            "Ravi",
        ] {
            assert!(!red.text.contains(secret), "{secret}: {}", red.text);
        }
        for kept in ["F-07", "3.5 bar", "P-101"] {
            assert!(red.text.contains(kept), "{kept}: {}", red.text);
        }
        assert_eq!(red.rehydrate(&red.text), text);
    }
}
