//! Runs a check in a forked child process, so that a panic inside it (an
//! abort, in release builds) ends the child and not the daemon.
//!
//! The only unsafe code of the library: `fork`, `waitpid`, `kill` and
//! `_exit`. The child runs nothing but the check, with logging off, and
//! leaves through `_exit`, so none of the parent's destructors or exit
//! handlers run twice.
#![allow(unsafe_code)]

use std::io;
use std::time::{Duration, Instant};

/// How a check run by [`in_child`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It ran to its end and returned this code.
    Returned(u8),
    /// It panicked (where panics unwind).
    Panicked,
    /// The child was killed by this signal (an abort is SIGABRT).
    Signalled(i32),
    /// The child exited with an unexpected status.
    Exited(i32),
    /// It was still running after the time limit, and was killed.
    TimedOut,
}

/// Exit status of a child whose check panicked; checks return codes below it.
const PANICKED: i32 = 70;

/// Longest a check may run: far more than a repair of the largest outbox
/// takes, and a bound on a child stuck on a lock it inherited.
const LIMIT: Duration = Duration::from_secs(120);

/// Runs `check` in a child process and says how it ended. Errors only when
/// no child can be made or waited for.
/// `check` returns a code below 70.
pub fn in_child(check: impl FnOnce() -> u8) -> io::Result<Ended> {
    in_child_within(check, LIMIT)
}

fn in_child_within(check: impl FnOnce() -> u8, limit: Duration) -> io::Result<Ended> {
    // SAFETY: fork has no preconditions. In the child only `check` runs:
    // file and memory work (glibc's allocator is fork-safe) with logging
    // switched off, and a stuck child is killed after `limit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let quiet = tracing::subscriber::NoSubscriber::default();
        let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tracing::subscriber::with_default(quiet, check)
        })) {
            Ok(code) => i32::from(code).min(PANICKED - 1),
            Err(_) => PANICKED,
        };
        // SAFETY: ends the child at once, as a forked child should.
        unsafe { libc::_exit(code) }
    }
    let started = Instant::now();
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child; `status` is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if started.elapsed() > limit {
            // SAFETY: signals and reaps our own child, which has not been
            // reaped yet, so the pid is still ours.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Ok(Ended::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(if libc::WIFEXITED(status) {
        match libc::WEXITSTATUS(status) {
            PANICKED => Ended::Panicked,
            code @ 0..PANICKED => Ended::Returned(code as u8),
            other => Ended::Exited(other),
        }
    } else if libc::WIFSIGNALED(status) {
        Ended::Signalled(libc::WTERMSIG(status))
    } else {
        Ended::Exited(-1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_a_check_can_end_is_told_apart() {
        assert_eq!(in_child(|| 0).unwrap(), Ended::Returned(0));
        assert_eq!(in_child(|| 2).unwrap(), Ended::Returned(2));
        assert_eq!(
            in_child(|| panic!("damaged page")).unwrap(),
            Ended::Panicked
        );
        // What a panic is in a release build.
        assert_eq!(
            in_child(|| std::process::abort()).unwrap(),
            Ended::Signalled(libc::SIGABRT)
        );
        assert_eq!(
            in_child_within(
                || {
                    std::thread::sleep(Duration::from_secs(30));
                    0
                },
                Duration::from_millis(200)
            )
            .unwrap(),
            Ended::TimedOut
        );
    }

    #[test]
    fn the_child_works_on_a_copy_and_the_parent_is_untouched() {
        let mut n = 1;
        assert_eq!(
            in_child(|| {
                n += 1;
                n
            })
            .unwrap(),
            Ended::Returned(2)
        );
        assert_eq!(n, 1);
    }
}
