//! Drives the real `slmd tui` binary in a pseudo-terminal (tmux) against a
//! real `slmd serve`: started before the daemon exists, it shows that the
//! daemon is unavailable, connects when it appears, answers a typed query,
//! switches views, survives a daemon restart and quits cleanly.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A private tmux server (its own socket name), killed on drop.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(cmdline: &str, width: u16, height: u16) -> Tmux {
        let t = Tmux {
            name: format!("slmd-test-{}", std::process::id()),
        };
        let out = t.run(&[
            "new-session",
            "-d",
            "-s",
            "tui",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            cmdline,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed (is tmux installed?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.name, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "tui"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "tui"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }

    fn literal(&self, text: &str) {
        assert!(self
            .run(&["send-keys", "-t", "tui", "-l", text])
            .status
            .success());
    }

    /// Waits until the screen satisfies `pred`; panics with the screen.
    fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let t = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if t.elapsed() > limit {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn tui_cmdline(sock: &Path) -> String {
    format!(
        "{} tui --socket {}; echo tui exit=$?; sleep 600",
        common::slmd_shell_words(),
        sock.display()
    )
}

#[test]
fn tui_asks_switches_views_survives_a_restart_and_quits_cleanly() {
    // qemu-user does not emulate the terminal ioctls crossterm needs
    // (ENOSYS); the UI is exercised natively and by the render tests.
    if common::runner().is_some() {
        eprintln!("skipped under an emulator: no terminal ioctls in qemu-user");
        return;
    }
    // Emulated runs (qemu) are slow to start and to infer.
    let long = Duration::from_secs(180);
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("d.sock");
    let tmux = Tmux::start(&tui_cmdline(&sock), 100, 30);

    // No daemon yet.
    tmux.wait_for("the unavailable banner", long, |s| {
        s.contains("daemon unavailable, retrying")
    });

    let state = tempfile::tempdir().unwrap();
    let daemon = common::Daemon::spawn_on(state, sock.clone(), &[]);
    tmux.wait_for("the connection", long, |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.trim_end().ends_with("online"))
    });

    tmux.literal("P-101 pump vibration high after bearing swap");
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the answer", long, |s| s.contains("src "));
    assert!(s.contains(" LOCAL "), "{s}");
    assert!(s.contains("NORMAL"), "{s}");
    // The cited procedure's text is fetched and shown.
    tmux.wait_for("the procedure text", long, |s| {
        s.contains("PROCEDURE ") && !s.contains("(loading...)")
    });

    tmux.keys(&["h"]);
    tmux.wait_for("the history view", long, |s| {
        s.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("LOC norm P-101"))
    });
    tmux.keys(&["s"]);
    let s = tmux.wait_for("the status view", long, |s| s.contains("procs"));
    assert!(s.contains("uplink   off"), "{s}");
    assert!(s.contains("answered 1"), "{s}");

    // The daemon goes away and comes back on the same socket.
    drop(daemon);
    tmux.wait_for(
        "the unavailable banner after the daemon stopped",
        long,
        |s| s.contains("daemon unavailable, retrying"),
    );
    let state = tempfile::tempdir().unwrap();
    let _daemon = common::Daemon::spawn_on(state, sock.clone(), &[]);
    tmux.wait_for("the reconnection", long, |s| {
        !s.contains("daemon unavailable") && s.contains("up (slmd")
    });

    // A second question after the restart.
    tmux.keys(&["a"]);
    tmux.literal("strong smell of gas in the compressor room");
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the critical answer", long, |s| s.contains("!! CRITICAL"));
    assert!(s.contains(" HUMAN "), "{s}");

    tmux.keys(&["q"]);
    // The shell around the UI prints its exit status once it has returned.
    let s = tmux.wait_for("the exit", long, |s| s.contains("tui exit="));
    assert!(s.contains("tui exit=0"), "exit status:\n{s}");
    // The alternate screen was left: the UI is gone from the terminal.
    let s = tmux.screen();
    assert!(!s.contains("F1 Ask"), "terminal not restored:\n{s}");
}
