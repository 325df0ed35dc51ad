//! Procedures: Markdown files with TOML front matter between `+++` lines.

use crate::labels::{Category, Hazard, Safety, Urgency};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A procedure file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// One approved procedure of the knowledge base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Procedure {
    pub id: String,
    pub title: String,
    pub equipment: String,
    pub category: Category,
    /// Typical urgency of the situation the procedure covers.
    pub urgency: Urgency,
    pub safety: Safety,
    /// The hazards this procedure's immediate actions are written for
    /// (`danger` procedures only): when a hazard rule names one, its
    /// procedure gives the safety steps.
    pub hazards: Vec<Hazard>,
    /// Ways technicians describe the problem; each is embedded.
    pub symptoms: Vec<String>,
    pub summary: String,
    /// Safe-first steps, present for `danger` procedures.
    pub immediate_actions: Vec<String>,
    pub steps: Vec<String>,
    pub safety_notes: String,
    pub escalate_when: Vec<String>,
    /// sha256 of the source file, to tell whether an index is stale.
    pub source_sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    title: String,
    equipment: String,
    category: Category,
    urgency: Urgency,
    safety: Safety,
    #[serde(default)]
    hazards: Vec<Hazard>,
    #[serde(default)]
    symptoms: Vec<String>,
}

/// Longest procedure file accepted.
const MAX_DOC_BYTES: u64 = 64 * 1024;

impl Procedure {
    /// The procedure as plain text for a screen: summary, immediate actions
    /// (first, when present), steps, safety notes and when to escalate.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(s, "{}", self.summary);
        let list = |s: &mut String, head: &str, items: &[String], numbered: bool| {
            if items.is_empty() {
                return;
            }
            let _ = writeln!(s, "\n{head}");
            for (i, item) in items.iter().enumerate() {
                if numbered {
                    let _ = writeln!(s, "{}. {item}", i + 1);
                } else {
                    let _ = writeln!(s, "- {item}");
                }
            }
        };
        list(&mut s, "IMMEDIATE ACTIONS", &self.immediate_actions, true);
        list(&mut s, "STEPS", &self.steps, true);
        if !self.safety_notes.is_empty() {
            // The notes are kept as one paragraph; bullets start at " - ".
            let notes = self.safety_notes.replace(" - ", "\n- ");
            let _ = writeln!(s, "\nSAFETY\n{notes}");
        }
        list(&mut s, "ESCALATE WHEN", &self.escalate_when, false);
        s
    }

    /// Parses one procedure from its text. `path` only names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Procedure, DocError> {
        let invalid = |reason: String| DocError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let rest = text
            .strip_prefix("+++\n")
            .ok_or_else(|| invalid("must start with a `+++` front-matter line".into()))?;
        let end = rest
            .find("\n+++")
            .ok_or_else(|| invalid("front matter has no closing `+++` line".into()))?;
        let front: FrontMatter = toml::from_str(&rest[..end])
            .map_err(|e| invalid(format!("front matter: {}", e.message())))?;
        let body = &rest[end + 4..];
        if front.id.is_empty() || front.id.len() > 32 {
            return Err(invalid("id must be 1..=32 characters".into()));
        }
        if front.title.trim().is_empty() {
            return Err(invalid("title is empty".into()));
        }

        let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
        for line in body.lines() {
            if let Some(h) = line.strip_prefix("## ") {
                sections.push((h.trim().to_ascii_lowercase(), Vec::new()));
            } else if let Some((_, lines)) = sections.last_mut() {
                lines.push(line);
            }
        }
        let section = |name: &str| sections.iter().find(|(h, _)| h == name).map(|(_, l)| l);
        let paragraph = |name: &str| {
            section(name)
                .map(|lines| {
                    lines
                        .iter()
                        .map(|l| l.trim())
                        .filter(|l| !l.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        let list = |name: &str| section(name).map(|l| list_items(l)).unwrap_or_default();

        let summary = paragraph("summary");
        if summary.is_empty() {
            return Err(invalid("has no `## Summary` section".into()));
        }
        let steps = list("steps");
        if steps.is_empty() {
            return Err(invalid("has no numbered `## Steps`".into()));
        }
        let immediate_actions = list("immediate actions");
        if front.safety == Safety::Danger && immediate_actions.is_empty() {
            return Err(invalid(
                "a `danger` procedure needs `## Immediate actions`".into(),
            ));
        }
        if !front.hazards.is_empty() && front.safety != Safety::Danger {
            return Err(invalid(
                "only a `danger` procedure may name `hazards`".into(),
            ));
        }
        Ok(Procedure {
            id: front.id,
            title: front.title,
            equipment: front.equipment,
            category: front.category,
            urgency: front.urgency,
            safety: front.safety,
            hazards: front.hazards,
            symptoms: front.symptoms,
            summary,
            immediate_actions,
            steps,
            safety_notes: paragraph("safety"),
            escalate_when: list("escalate when"),
            source_sha256: crate::engine::sha256_hex(text.as_bytes()),
        })
    }

    /// Texts embedded for this procedure: its title with its summary, then
    /// each symptom phrase.
    pub fn passages(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{}. {}. {}",
            self.title, self.equipment, self.summary
        )];
        out.extend(self.symptoms.iter().cloned());
        out
    }
}

/// Items of a numbered or bulleted list; continuation lines join their item.
fn list_items(lines: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for line in lines {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let stripped = t
            .strip_prefix("- ")
            .or_else(|| t.strip_prefix("* "))
            .or_else(|| {
                let digits = t.bytes().take_while(u8::is_ascii_digit).count();
                (digits > 0)
                    .then(|| &t[digits..])
                    .and_then(|r| r.strip_prefix(". ").or_else(|| r.strip_prefix(") ")))
            });
        match (stripped, items.last_mut()) {
            (Some(item), _) => items.push(item.trim().to_string()),
            (None, Some(last)) => {
                last.push(' ');
                last.push_str(t);
            }
            (None, None) => items.push(t.to_string()),
        }
    }
    items
}

/// Loads every `*.md` file of a directory (sorted by name), rejecting
/// duplicate ids. `README.md` is skipped.
pub fn load_dir(dir: &Path) -> Result<Vec<Procedure>, DocError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DocError::Io { path, source }
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    paths.sort();
    let mut docs: Vec<Procedure> = Vec::with_capacity(paths.len());
    for path in paths {
        let meta = std::fs::metadata(&path).map_err(io(&path))?;
        if meta.len() > MAX_DOC_BYTES {
            return Err(DocError::Invalid {
                path,
                reason: format!("larger than {MAX_DOC_BYTES} bytes"),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let doc = Procedure::parse(&path, &text)?;
        if docs.iter().any(|d| d.id == doc.id) {
            return Err(DocError::Invalid {
                path,
                reason: format!("duplicate id {}", doc.id),
            });
        }
        docs.push(doc);
    }
    if docs.is_empty() {
        return Err(DocError::Invalid {
            path: dir.to_path_buf(),
            reason: "no procedures (*.md) found".into(),
        });
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "+++\nid = \"T-1\"\ntitle = \"Test pump\"\nequipment = \"pump\"\n\
        category = \"mechanical\"\nurgency = \"normal\"\nsafety = \"caution\"\n\
        symptoms = [\"pump noisy\"]\n+++\n\n## Summary\nA test.\nSecond line.\n\n\
        ## Steps\n1. Look.\n2. Listen\n   carefully.\n\n## Safety\nLock out.\n\n\
        ## Escalate when\n- It smokes.\n";

    #[test]
    fn parses_front_matter_and_sections() {
        let d = Procedure::parse(Path::new("t.md"), SAMPLE).unwrap();
        assert_eq!(d.id, "T-1");
        assert_eq!(d.category, Category::Mechanical);
        assert_eq!(d.summary, "A test. Second line.");
        assert_eq!(d.steps, vec!["Look.", "Listen carefully."]);
        assert_eq!(d.escalate_when, vec!["It smokes."]);
        assert_eq!(d.passages().len(), 2);
    }

    #[test]
    fn unknown_category_is_rejected_with_the_file_name() {
        let bad = SAMPLE.replace("mechanical", "plumbing");
        let err = Procedure::parse(Path::new("bad.md"), &bad).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("bad.md") && msg.contains("plumbing"), "{msg}");
    }

    #[test]
    fn danger_procedure_without_immediate_actions_is_rejected() {
        let bad = SAMPLE.replace("caution", "danger");
        let err = Procedure::parse(Path::new("d.md"), &bad).unwrap_err();
        assert!(err.to_string().contains("Immediate actions"));
    }

    #[test]
    fn hazards_are_read_checked_and_only_on_danger_procedures() {
        let danger = SAMPLE.replace("caution", "danger").replace(
            "## Steps",
            "## Immediate actions\n1. Get clear.\n\n## Steps",
        );
        let tagged = danger.replace(
            "symptoms",
            "hazards = [\"injury\", \"unguarded_machine\"]\nsymptoms",
        );
        let d = Procedure::parse(Path::new("h.md"), &tagged).unwrap();
        assert_eq!(d.hazards, vec![Hazard::Injury, Hazard::UnguardedMachine]);
        assert!(Procedure::parse(Path::new("h.md"), &danger)
            .unwrap()
            .hazards
            .is_empty());

        let unknown = danger.replace("symptoms", "hazards = [\"flood\"]\nsymptoms");
        let msg = Procedure::parse(Path::new("u.md"), &unknown)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("u.md") && msg.contains("flood"), "{msg}");

        let routine = SAMPLE.replace("symptoms", "hazards = [\"gas\"]\nsymptoms");
        let msg = Procedure::parse(Path::new("r.md"), &routine)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("only a `danger` procedure"), "{msg}");
    }
}
