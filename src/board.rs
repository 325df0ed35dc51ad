//! Board profiles (`boards/<name>.toml`): what a board looks like, its
//! memory budget, the configuration defaults that suit it, and where the
//! package installs. The daemon takes one with `--board NAME` or
//! `[board] name` in its config, lays the profile's `[config]` beneath the
//! config file, and warns when the machine it runs on looks different.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The profiles shipped with slmd, by name.
const EMBEDDED: &[(&str, &str)] = &[
    ("rpi4", include_str!("../boards/rpi4.toml")),
    ("rpi5", include_str!("../boards/rpi5.toml")),
    ("rpi-zero-2w", include_str!("../boards/rpi-zero-2w.toml")),
    (
        "jetson-orin-nano",
        include_str!("../boards/jetson-orin-nano.toml"),
    ),
];

/// A profile that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error("unknown board {name:?}; known boards: {known}")]
    Unknown { name: String, known: String },
    #[error("cannot read board profile {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("board profile {origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// One board profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Board {
    pub name: String,
    pub description: String,
    /// Rust target triple of the board's userland.
    pub target: String,
    /// Code-generation flags for that CPU (`RUSTFLAGS` of the bundle build).
    pub rustflags: String,
    pub machine: Machine,
    pub budget: Budget,
    /// Configuration defaults for this board (same keys as `slmd.toml`).
    #[serde(default)]
    pub config: toml::Table,
    pub install: Install,
}

/// What the board looks like.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// `aarch64` or `armv7`.
    pub arch: String,
    /// `/proc/cpuinfo` "CPU part" values of its cores.
    pub cpu_parts: Vec<String>,
    pub cores: usize,
    /// Least memory a board of this kind has, in MiB.
    pub memory_min_mib: u64,
}

/// Resource budget of the daemon on this board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Resident memory the daemon should stay under, in MiB.
    pub memory_mib: u64,
}

/// Install paths of the package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Install {
    pub prefix: String,
    pub config: String,
    pub state_dir: String,
    pub socket: String,
}

impl Board {
    /// Parses a profile; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Board, BoardError> {
        let board: Board = toml::from_str(text).map_err(|e| BoardError::Invalid {
            origin: origin.to_string(),
            message: e.message().to_string(),
        })?;
        let invalid = |message: String| BoardError::Invalid {
            origin: origin.to_string(),
            message,
        };
        if !matches!(board.machine.arch.as_str(), "aarch64" | "armv7" | "x86_64") {
            return Err(invalid(format!(
                "machine.arch {:?} is not one of aarch64, armv7, x86_64",
                board.machine.arch
            )));
        }
        if board.machine.cores == 0 || board.budget.memory_mib == 0 {
            return Err(invalid(
                "machine.cores and budget.memory_mib must be above 0".into(),
            ));
        }
        if board.config.contains_key("board") {
            return Err(invalid("[config] may not name a board".into()));
        }
        Ok(board)
    }

    /// The names of the shipped profiles.
    pub fn known() -> Vec<&'static str> {
        EMBEDDED.iter().map(|(n, _)| *n).collect()
    }

    /// Loads a profile by name or from a `.toml` path. A name is looked up
    /// as `boards/NAME.toml` under the data roots (so an installed profile
    /// can be edited), then among the shipped ones.
    pub fn load(name_or_path: &str) -> Result<Board, BoardError> {
        let as_path = Path::new(name_or_path);
        if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
            let text = std::fs::read_to_string(as_path).map_err(|source| BoardError::Io {
                path: name_or_path.to_string(),
                source,
            })?;
            return Board::from_toml(&text, name_or_path);
        }
        if let Some(p) = crate::paths::installed_board(name_or_path) {
            let text = std::fs::read_to_string(&p).map_err(|source| BoardError::Io {
                path: p.display().to_string(),
                source,
            })?;
            return Board::from_toml(&text, &p.display().to_string());
        }
        match EMBEDDED.iter().find(|(n, _)| *n == name_or_path) {
            Some((n, text)) => Board::from_toml(text, n),
            None => Err(BoardError::Unknown {
                name: name_or_path.to_string(),
                known: Board::known().join(", "),
            }),
        }
    }

    /// How the machine differs from this profile, one line per difference.
    pub fn differences(&self, m: &Observed) -> Vec<String> {
        let mut out = Vec::new();
        if m.arch != self.machine.arch {
            out.push(format!(
                "this build runs as {}, the board's userland is {}",
                m.arch, self.machine.arch
            ));
        }
        match &m.cpu_parts[..] {
            [] => out.push(format!(
                "no ARM CPU part in /proc/cpuinfo; the board has {}",
                self.machine.cpu_parts.join(", ")
            )),
            parts => {
                let foreign: Vec<&String> = parts
                    .iter()
                    .filter(|p| {
                        !self
                            .machine
                            .cpu_parts
                            .iter()
                            .any(|q| q.eq_ignore_ascii_case(p))
                    })
                    .collect();
                if !foreign.is_empty() {
                    out.push(format!(
                        "CPU part {} is not the board's ({})",
                        dedup(&foreign).join(", "),
                        self.machine.cpu_parts.join(", ")
                    ));
                }
            }
        }
        if m.cores != self.machine.cores {
            out.push(format!(
                "{} cores available, the board has {}",
                m.cores, self.machine.cores
            ));
        }
        if let Some(mem) = m.memory_mib {
            if mem < self.machine.memory_min_mib {
                out.push(format!(
                    "{mem} MiB of memory, the board has at least {}",
                    self.machine.memory_min_mib
                ));
            }
        }
        out
    }
}

fn dedup<'a>(v: &[&'a String]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for s in v {
        if !out.contains(&s.as_str()) {
            out.push(s);
        }
    }
    out
}

/// What this machine looks like, as far as a profile cares.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Observed {
    /// Architecture of this build: `aarch64`, `armv7` or `x86_64`.
    pub arch: String,
    /// Distinct "CPU part" values in `/proc/cpuinfo` (empty off ARM).
    pub cpu_parts: Vec<String>,
    pub cores: usize,
    /// `MemTotal`, when readable.
    pub memory_mib: Option<u64>,
}

impl Observed {
    /// Reads this machine.
    pub fn this_machine() -> Observed {
        let arch = match std::env::consts::ARCH {
            "arm" => "armv7",
            a => a,
        }
        .to_string();
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Observed {
            arch,
            cpu_parts: cpu_parts(&cpuinfo),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_mib: mem_total_mib(&meminfo),
        }
    }
}

/// Distinct "CPU part" values of a `/proc/cpuinfo` text, in order.
pub fn cpu_parts(cpuinfo: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for line in cpuinfo.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.trim() == "CPU part" {
            let v = value.trim().to_ascii_lowercase();
            if !v.is_empty() && !parts.contains(&v) {
                parts.push(v);
            }
        }
    }
    parts
}

/// `MemTotal` of a `/proc/meminfo` text, in MiB.
pub fn mem_total_mib(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix("MemTotal:")?;
        let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib / 1024)
    })
}

/// This process's resident memory (`VmRSS`), in KiB.
pub fn rss_kib() -> Option<u64> {
    proc_memory_kib("self").map(|(rss, _)| rss)
}

/// Resident memory (`VmRSS`) and its peak (`VmHWM`) of a process, in KiB:
/// `"self"` for this one, else a pid. `None` where /proc does not say.
pub fn proc_memory_kib(pid: &str) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?;
            rest.trim().trim_end_matches("kB").trim().parse().ok()
        })
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_parses_and_its_config_is_valid() {
        for name in Board::known() {
            let b = Board::load(name).unwrap();
            assert_eq!(b.name, name);
            let c = crate::config::Config::from_toml_on("", "test", Some(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(c.board.as_ref().map(|b| b.name.as_str()), Some(name));
        }
    }

    #[test]
    fn unknown_boards_and_bad_profiles_are_refused_with_a_reason() {
        let e = Board::load("rpi9").unwrap_err().to_string();
        assert!(e.contains("rpi9") && e.contains("rpi5"), "{e}");
        let text = include_str!("../boards/rpi5.toml").replace("\"aarch64\"", "\"sparc\"");
        let e = Board::from_toml(&text, "x.toml").unwrap_err().to_string();
        assert!(e.contains("sparc"), "{e}");
        let text = include_str!("../boards/rpi5.toml").replace("cores = 4", "cores = \"four\"");
        assert!(Board::from_toml(&text, "x.toml").is_err());
    }

    #[test]
    fn differences_name_what_differs() {
        let b = Board::load("rpi-zero-2w").unwrap();
        let same = Observed {
            arch: "armv7".into(),
            cpu_parts: vec!["0xd03".into()],
            cores: 4,
            memory_mib: Some(427),
        };
        assert!(
            b.differences(&same).is_empty(),
            "{:?}",
            b.differences(&same)
        );
        let other = Observed {
            arch: "x86_64".into(),
            cpu_parts: vec![],
            cores: 2,
            memory_mib: Some(300),
        };
        let d = b.differences(&other).join("; ");
        for want in ["x86_64", "no ARM CPU part", "2 cores", "300 MiB"] {
            assert!(d.contains(want), "{want} missing from {d}");
        }
        let a72 = Observed {
            cpu_parts: vec!["0xd08".into(), "0xd08".into()],
            ..same
        };
        assert_eq!(
            b.differences(&a72),
            vec!["CPU part 0xd08 is not the board's (0xd03)".to_string()]
        );
    }

    #[test]
    fn proc_files_are_read() {
        let cpuinfo = "processor\t: 0\nCPU part\t: 0xd0b\n\nprocessor\t: 1\nCPU part\t: 0xD0B\n";
        assert_eq!(cpu_parts(cpuinfo), vec!["0xd0b".to_string()]);
        assert_eq!(cpu_parts("model name : AMD EPYC\n"), Vec::<String>::new());
        assert_eq!(
            mem_total_mib("MemTotal:        8039912 kB\nMemFree: 1 kB\n"),
            Some(7851)
        );
        assert_eq!(mem_total_mib("garbage"), None);
        assert!(rss_kib().unwrap() > 0);
        let (rss, peak) = proc_memory_kib("self").unwrap();
        assert!(peak >= rss, "VmHWM {peak} below VmRSS {rss}");
        assert!(proc_memory_kib("0").is_none());
    }
}
