//! The check of an existing outbox file before the daemon's handle opens
//! it. redb asserts on some damage it finds while loading a file, and a
//! release build aborts on a panic, so a damaged file would otherwise
//! become a crash loop under systemd.
//!
//! Two ways, both safe in a multithreaded process:
//! - **A child program** ([`check_with_program`]): the daemon registers its
//!   own executable, and the check runs as `slmd outbox check FILE` in a
//!   new process started by exec (no fork of the daemon's threads). An
//!   abort there is the child's exit status, read here.
//! - **In this process** where panics unwind (tests, library users, the
//!   `fastrel` profile) and no program is registered or it cannot be
//!   started: the check runs under `catch_unwind`, and a panic inside redb
//!   becomes a damaged-file result. The half-opened database is dropped
//!   while unwinding, which releases its file lock.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{OutboxConfig, OutboxError};

/// Exit status of `slmd outbox check` for a sound file.
pub const EXIT_SOUND: i32 = 0;
/// Exit status of `slmd outbox check` for a file it repaired.
pub const EXIT_REPAIRED: i32 = 10;
/// Exit status of `slmd outbox check` for a file that is not a usable
/// outbox (corrupt, truncated, not an outbox); the reason is on stderr.
pub const EXIT_DAMAGED: i32 = 11;
/// Exit status of `slmd outbox check` for a file another process has open.
pub const EXIT_LOCKED: i32 = 12;
/// Exit status of `slmd outbox check` for any other error (another schema
/// version, I/O); the reason is on stderr.
pub const EXIT_OTHER: i32 = 13;

/// The exit status `slmd outbox check` gives for `e`.
pub fn exit_code(e: &OutboxError) -> i32 {
    match e {
        OutboxError::Corrupt { .. } => EXIT_DAMAGED,
        OutboxError::Locked { .. } => EXIT_LOCKED,
        _ => EXIT_OTHER,
    }
}

/// The first line `slmd outbox check` prints, before it opens the file.
pub const STARTED: &str = "checking ";

/// Most bytes of the child's output kept.
const OUTPUT_LIMIT: usize = 4096;

/// Longest a check may run: far more than a repair of the largest outbox
/// takes, and a bound on a child that hangs.
const LIMIT: Duration = Duration::from_secs(120);

static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// Has every later [`super::Outbox::open`] of an existing file check it
/// first in a child process running `program outbox check FILE`. The
/// daemon calls this with its own executable; returns false when a
/// program was registered already.
pub fn check_with_program(program: PathBuf) -> bool {
    PROGRAM.set(program).is_ok()
}

/// How a check ended.
#[derive(Debug)]
pub(super) enum Checked {
    /// The file opened whole.
    Sound,
    /// The file was damaged by an unclean stop and has been repaired.
    Repaired,
    /// The file gave this typed error.
    Refused(OutboxError),
    /// The child saw an error that is not damage (a lock, another schema
    /// version, I/O); opening the file again finds it.
    Other,
    /// The check panicked or the child died: the file is damaged in a way
    /// redb does not report as an error.
    Crashed(String),
    /// No verdict (the child hung, or none could be started where panics
    /// abort): the caller opens the file itself.
    Unknown(String),
}

/// Checks the file at `path` by the registered program, else in this
/// process. `open` is the check itself (open, verify, repair).
pub(super) fn check(
    path: &Path,
    cfg: &OutboxConfig,
    verify: bool,
    open: impl FnOnce() -> Result<bool, OutboxError>,
) -> Checked {
    if let Some(program) = PROGRAM.get() {
        match in_child(program, path, cfg, verify, LIMIT) {
            // No verdict from the child: where panics unwind, check here.
            Ok(Checked::Unknown(why)) if cfg!(panic = "unwind") => {
                tracing::warn!(program = %program.display(), %why,
                    "the outbox check in a child process gave no verdict; checking here");
            }
            Ok(c) => return c,
            Err(e) => tracing::warn!(program = %program.display(), error = %e,
                "cannot start the outbox check in a child process; checking here"),
        }
    }
    if cfg!(panic = "unwind") {
        in_process(open)
    } else {
        Checked::Unknown("no child process for the check".to_string())
    }
}

fn in_process(open: impl FnOnce() -> Result<bool, OutboxError>) -> Checked {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(open)) {
        Ok(Ok(false)) => Checked::Sound,
        Ok(Ok(true)) => Checked::Repaired,
        Ok(Err(e)) => Checked::Refused(e),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string());
            Checked::Crashed(what)
        }
    }
}

fn in_child(
    program: &Path,
    path: &Path,
    cfg: &OutboxConfig,
    verify: bool,
    limit: Duration,
) -> std::io::Result<Checked> {
    let mut cmd = Command::new(program);
    cmd.args(["outbox", "check", "--cache-bytes"])
        .arg(cfg.cache_bytes.to_string());
    if !verify {
        cmd.arg("--no-verify");
    }
    cmd.arg("--")
        .arg(path)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    // Read on threads so that a chatty child cannot fill a pipe and hang;
    // only the first bytes are kept.
    fn drain(
        pipe: Option<impl std::io::Read + Send + 'static>,
    ) -> Option<std::thread::JoinHandle<Vec<u8>>> {
        pipe.map(|mut p| {
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = p.read(&mut buf) {
                    let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
                kept
            })
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Checked::Unknown(format!(
                "the check ran past {} s and was stopped",
                limit.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |t: Option<std::thread::JoinHandle<Vec<u8>>>| {
        t.and_then(|t| t.join().ok())
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default()
    };
    let (out, said) = (read(stdout), read(stderr));
    // The check announces itself first: without that line the program did
    // not get to the file (not this program, or it could not start), which
    // says nothing about the file.
    if !out.starts_with(STARTED) {
        return Ok(Checked::Unknown(format!(
            "the check program did not start ({status})"
        )));
    }
    let last = said
        .lines()
        .last()
        .unwrap_or("")
        .trim_start_matches("slmd: ");
    Ok(match status.code() {
        Some(EXIT_SOUND) => Checked::Sound,
        Some(EXIT_REPAIRED) => Checked::Repaired,
        Some(EXIT_DAMAGED) => Checked::Refused(OutboxError::Corrupt {
            path: path.to_path_buf(),
            reason: if last.is_empty() {
                "the check found the file damaged".to_string()
            } else {
                last.to_string()
            },
        }),
        Some(EXIT_LOCKED) => Checked::Refused(OutboxError::Locked {
            path: path.to_path_buf(),
        }),
        Some(EXIT_OTHER) => Checked::Other,
        _ => {
            if !said.is_empty() {
                tracing::warn!(output = %said, "outbox check process failed");
            }
            Checked::Crashed(format!("the check process ended with {status}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_an_in_process_check_ends_is_told_apart() {
        assert!(matches!(in_process(|| Ok(false)), Checked::Sound));
        assert!(matches!(in_process(|| Ok(true)), Checked::Repaired));
        assert!(matches!(
            in_process(|| Err(OutboxError::Config("x"))),
            Checked::Refused(OutboxError::Config("x"))
        ));
        assert!(matches!(
            in_process(|| panic!("damaged page")),
            Checked::Crashed(s) if s == "damaged page"
        ));
    }

    /// A stand-in program for the exit statuses: `sh -c 'exit N'` takes
    /// the check's arguments as its own positional ones and ignores them.
    #[test]
    fn a_child_checks_exit_status_is_read_and_a_hung_child_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = OutboxConfig::default();
        let f = dir.path().join("outbox.redb");
        let script = |body: &str| {
            let name: String = body.chars().filter(char::is_ascii_alphanumeric).collect();
            let p = dir.path().join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        // A script just written can be busy for a moment if another test
        // thread started a process while it was open for writing.
        let run = |p: &Path, limit| loop {
            match in_child(p, &f, &cfg, true, limit) {
                Err(e) if e.raw_os_error() == Some(26) => continue,
                other => break other.unwrap(),
            }
        };
        let long = Duration::from_secs(20);
        let started = |rest: &str| script(&format!("echo '{STARTED}x'; {rest}"));
        assert!(matches!(run(&started("exit 0"), long), Checked::Sound));
        assert!(matches!(run(&started("exit 10"), long), Checked::Repaired));
        assert!(matches!(
            run(&started("echo 'slmd: bad page' >&2; exit 11"), long),
            Checked::Refused(OutboxError::Corrupt { reason, .. }) if reason == "bad page"
        ));
        assert!(matches!(
            run(&started("exit 12"), long),
            Checked::Refused(OutboxError::Locked { .. })
        ));
        assert!(matches!(run(&started("exit 13"), long), Checked::Other));
        assert!(matches!(
            run(&started("kill -ABRT $$"), long),
            Checked::Crashed(_)
        ));
        assert!(matches!(
            run(&started("sleep 30; exit 0"), Duration::from_millis(300)),
            Checked::Unknown(_)
        ));
        // A program that never got to the file says nothing about it, even
        // when it dies: the file is not taken for damaged.
        assert!(matches!(
            run(&script("kill -ABRT $$"), long),
            Checked::Unknown(_)
        ));
        assert!(matches!(run(&script("exit 11"), long), Checked::Unknown(_)));
        // A missing program: an error (natively) or a program that did not
        // start (under an emulator that runs exec itself), never a verdict.
        match in_child(&dir.path().join("missing"), &f, &cfg, true, long) {
            Err(_) | Ok(Checked::Unknown(_)) => {}
            Ok(other) => panic!("a missing program gave {other:?}"),
        }
    }
}
