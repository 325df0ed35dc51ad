//! Power loss on the outbox, at every sync point of a scripted sequence.
//!
//! The outbox runs on a fault-injecting storage backend (redb's
//! `StorageBackend`, handed in with `Outbox::open_on`). The backend keeps
//! two images: what the process sees, and what is on the platter. A write
//! reaches the platter only at the next `sync_data`. Power is cut at the
//! k-th sync for every k the script reaches: that sync fails, and every
//! write since the sync before it is lost — all of them, or, in the torn
//! variants, a random subset of them with the last one cut at a 512-byte
//! sector, as a disk that reorders its cache does.
//!
//! Why a backend and not redb's own hooks: redb's crash-testing hooks are
//! internal to its test suite, and a backend is the store's public seam,
//! so the same outbox code runs as on a file, with nothing compiled
//! differently.
//!
//! The script covers each kind of write the daemon makes: enqueue, a send
//! the broker refused, PUBACK (retire), an answer after and before PUBACK,
//! expiry, a requeue of a sent record, dead-lettering, and compaction
//! (which runs at every open). After each cut the platter image is opened
//! again as a fresh outbox: it must open (repaired where needed), and what
//! it holds must be exactly the state before or after the operation the
//! cut interrupted — so every operation that returned `Ok` survives, and
//! nothing retired, answered or expired comes back.

use std::sync::{Arc, Mutex};

use slmd::outbox::{Escalation, Outbox, OutboxConfig, OutboxError};

const SECTOR: usize = 512;

#[derive(Debug)]
enum Op {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

#[derive(Debug, Default)]
struct Disk {
    /// What the process reads back.
    seen: Vec<u8>,
    /// What survives a power cut.
    platter: Vec<u8>,
    /// Writes since the last sync, in order.
    unsynced: Vec<Op>,
    syncs: u64,
    /// The sync at which power is cut.
    cut_at: Option<u64>,
    /// Torn variant: the seed that picks which unsynced writes land.
    torn: Option<u64>,
    dead: bool,
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

fn apply(image: &mut Vec<u8>, op: &Op) {
    match op {
        Op::Write(off, data) => {
            let end = *off as usize + data.len();
            if image.len() < end {
                image.resize(end, 0);
            }
            image[*off as usize..end].copy_from_slice(data);
        }
        Op::SetLen(len) => image.resize(*len as usize, 0),
    }
}

impl Disk {
    fn cut(&mut self) {
        self.dead = true;
        let Some(mut seed) = self.torn else {
            self.unsynced.clear();
            return;
        };
        let ops = std::mem::take(&mut self.unsynced);
        for op in &ops {
            if std::env::var_os("PL_DEBUG").is_some() {
                match op {
                    Op::Write(o, d) => eprintln!("unsynced write {o} {}", d.len()),
                    Op::SetLen(l) => eprintln!("unsynced set_len {l}"),
                }
            }
            match xorshift(&mut seed) % 3 {
                0 => {}
                1 => apply(&mut self.platter, op),
                _ => match op {
                    // Only the first sectors of this write landed.
                    Op::Write(off, data) if data.len() > SECTOR => {
                        let sectors = data.len().div_ceil(SECTOR) as u64;
                        let keep = (xorshift(&mut seed) % sectors) as usize * SECTOR;
                        apply(&mut self.platter, &Op::Write(*off, data[..keep].to_vec()));
                    }
                    _ => apply(&mut self.platter, op),
                },
            }
        }
    }
}

/// A storage backend that loses unsynced writes when the power is cut.
#[derive(Debug, Clone, Default)]
struct PowerCut(Arc<Mutex<Disk>>);

fn lost() -> std::io::Error {
    std::io::Error::other("power lost")
}

impl PowerCut {
    /// A disk holding a new, empty outbox, whose power is cut at the
    /// `cut_at`-th sync from now. (On a file, a new outbox is made aside
    /// and renamed into place, which a backend cannot do; the unit tests
    /// cover that half-created file.)
    fn new(cut_at: Option<u64>, torn: Option<u64>) -> Self {
        static CREATED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let image = CREATED.get_or_init(|| {
            let disk = PowerCut::default();
            drop(Outbox::open_on(disk.clone(), "outbox", cfg()).unwrap());
            disk.platter()
        });
        let d = Disk {
            seen: image.clone(),
            platter: image.clone(),
            cut_at,
            torn,
            ..Disk::default()
        };
        PowerCut(Arc::new(Mutex::new(d)))
    }

    /// A disk whose platter and view are `image` (after the power is back).
    fn from_image(image: Vec<u8>) -> Self {
        let d = Disk {
            seen: image.clone(),
            platter: image,
            ..Disk::default()
        };
        PowerCut(Arc::new(Mutex::new(d)))
    }

    fn platter(&self) -> Vec<u8> {
        self.0.lock().unwrap().platter.clone()
    }

    fn syncs(&self) -> u64 {
        self.0.lock().unwrap().syncs
    }

    fn dead(&self) -> bool {
        self.0.lock().unwrap().dead
    }
}

impl redb::StorageBackend for PowerCut {
    fn len(&self) -> std::io::Result<u64> {
        let d = self.0.lock().unwrap();
        if d.dead {
            return Err(lost());
        }
        Ok(d.seen.len() as u64)
    }

    fn read(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let d = self.0.lock().unwrap();
        if d.dead {
            return Err(lost());
        }
        let end = offset as usize + len;
        d.seen
            .get(offset as usize..end)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "past the end"))
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let mut d = self.0.lock().unwrap();
        if d.dead {
            return Err(lost());
        }
        let op = Op::SetLen(len);
        apply(&mut d.seen, &op);
        d.unsynced.push(op);
        Ok(())
    }

    fn sync_data(&self, _eventual: bool) -> std::io::Result<()> {
        let mut d = self.0.lock().unwrap();
        if d.dead {
            return Err(lost());
        }
        d.syncs += 1;
        if d.cut_at == Some(d.syncs) {
            d.cut();
            return Err(lost());
        }
        let ops = std::mem::take(&mut d.unsynced);
        for op in &ops {
            apply(&mut d.platter, op);
        }
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let mut d = self.0.lock().unwrap();
        if d.dead {
            return Err(lost());
        }
        let op = Op::Write(offset, data.to_vec());
        apply(&mut d.seen, &op);
        d.unsynced.push(op);
        Ok(())
    }
}

const NOW: u64 = 1_000_000;
const IDS: [&str; 8] = ["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"];

fn cfg() -> OutboxConfig {
    OutboxConfig {
        max_attempts: 2,
        ..OutboxConfig::default()
    }
}

fn esc(id: &str, priority: u8, deadline_ms: u64) -> Escalation {
    Escalation {
        id: id.to_string(),
        created_ms: NOW,
        deadline_ms,
        priority,
        // Large enough that a record spans sectors, so tears land inside it.
        payload: format!("{{\"id\":\"{id}\",\"text\":\"{}\"}}", "x".repeat(1500)).into_bytes(),
        local: format!("device-only bytes of {id}").into_bytes(),
    }
}

/// Everything the outbox shows about the script's ids.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    pending: Vec<(String, u32, Vec<u8>)>,
    states: Vec<String>,
    answers: Vec<Option<Vec<u8>>>,
    local: Vec<Option<Vec<u8>>>,
    dead: Vec<(String, u8)>,
    stats: String,
}

fn snapshot(ob: &Outbox) -> Snapshot {
    Snapshot {
        pending: ob
            .pending(NOW, 100)
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.attempts, r.payload))
            .collect(),
        states: IDS
            .iter()
            .map(|id| format!("{:?}", ob.state(id).unwrap()))
            .collect(),
        answers: IDS.iter().map(|id| ob.answer(id).unwrap()).collect(),
        local: IDS.iter().map(|id| ob.local(id).unwrap()).collect(),
        dead: ob
            .dead_letters(100)
            .unwrap()
            .into_iter()
            .map(|d| (d.record.id, d.code))
            .collect(),
        stats: format!("{:?}", ob.stats().unwrap()),
    }
}

/// One step of the script; `Reopen` closes the handle and opens the same
/// disk again, which compacts the file.
enum Step {
    Enqueue(Escalation),
    Refused(&'static str, u8),
    Retire(&'static str),
    Answer(&'static str, &'static [u8]),
    Expire(u64),
    Requeue(Escalation),
    Reopen,
}

fn script() -> Vec<(&'static str, Step)> {
    use Step::*;
    vec![
        ("enqueue e1", Enqueue(esc("e1", 5, NOW + 600_000))),
        ("enqueue e2", Enqueue(esc("e2", 9, NOW + 600_000))),
        ("enqueue e3", Enqueue(esc("e3", 1, NOW + 10))),
        ("enqueue e4", Enqueue(esc("e4", 5, NOW + 600_000))),
        ("send e2, refused by the broker", Refused("e2", 0x97)),
        ("PUBACK e1", Retire("e1")),
        ("answer e1 after its PUBACK", Answer("e1", b"answer to e1")),
        ("answer e2 before any PUBACK", Answer("e2", b"answer to e2")),
        ("expire e3", Expire(NOW + 20)),
        ("enqueue e5", Enqueue(esc("e5", 5, NOW + 600_000))),
        ("PUBACK e5", Retire("e5")),
        (
            "requeue e5, sent and unanswered",
            Requeue(esc("e5", 5, NOW + 600_000)),
        ),
        ("compaction (close and open)", Reopen),
        ("enqueue e6", Enqueue(esc("e6", 5, NOW + 600_000))),
        ("enqueue e7", Enqueue(esc("e7", 5, NOW + 600_000))),
        ("send e6, refused", Refused("e6", 0x80)),
        ("send e6, refused again: dead letter", Refused("e6", 0x80)),
        ("enqueue e8", Enqueue(esc("e8", 5, NOW + 600_000))),
        ("PUBACK e4", Retire("e4")),
        ("answer e8 before any PUBACK", Answer("e8", b"answer to e8")),
        ("compaction (close and open)", Reopen),
        ("PUBACK e7", Retire("e7")),
    ]
}

fn run_step(ob: &mut Option<Outbox>, disk: &PowerCut, step: &Step) -> Result<(), OutboxError> {
    if let Step::Reopen = step {
        drop(ob.take());
        *ob = Some(Outbox::open_on(disk.clone(), "outbox", cfg())?);
        return Ok(());
    }
    let o = ob.as_ref().expect("open");
    match step {
        Step::Enqueue(e) => o.enqueue(e).map(drop),
        Step::Refused(id, code) => o.refused(id, *code).map(drop),
        Step::Retire(id) => o.retire(id).map(drop),
        Step::Answer(id, a) => o.store_answer(id, a).map(drop),
        Step::Expire(now) => o.expire(*now).map(drop),
        Step::Requeue(e) => o.requeue(e).map(drop),
        Step::Reopen => unreachable!(),
    }
}

/// Runs the script on `disk` until the first error, then closes the
/// handle. Returns the step that failed (0 is the open; one past the last
/// step is the close at the end, whose sync cannot report an error), or
/// `None` when none did, with the snapshot after each step when `record`.
fn run_script(disk: &PowerCut, record: bool) -> (Option<usize>, Vec<Snapshot>) {
    let mut snaps = Vec::new();
    let mut ob = match Outbox::open_on(disk.clone(), "outbox", cfg()) {
        Ok(o) => Some(o),
        Err(_) => return (Some(0), snaps),
    };
    if record {
        snaps.push(snapshot(ob.as_ref().unwrap()));
    }
    let steps = script();
    for (i, (_, step)) in steps.iter().enumerate() {
        if run_step(&mut ob, disk, step).is_err() {
            return (Some(i + 1), snaps);
        }
        if record {
            snaps.push(snapshot(ob.as_ref().unwrap()));
        }
    }
    drop(ob);
    let failed = disk.dead().then_some(steps.len() + 1);
    (failed, snaps)
}

/// Opens the platter image after the cut; it must open and hold the state
/// before or after the step the cut interrupted. Returns which.
fn recover(image: Vec<u8>, failed: usize, snaps: &[Snapshot], what: &str) -> bool {
    let ob = Outbox::open_on(PowerCut::from_image(image.clone()), "outbox", cfg())
        .unwrap_or_else(|e| panic!("{what}: the store does not open after the cut: {e}"));
    let got = snapshot(&ob);
    drop(ob);
    // `failed` is the 1-based step that failed: before it is snaps[failed-1]
    // (the state after the open, for a failed open) and after it snaps[failed].
    let before = failed.saturating_sub(1);
    let after_ok = snaps.get(failed).is_some_and(|s| *s == got);
    assert!(
        snaps[before] == got || after_ok,
        "{what}: the recovered store holds neither the state before nor after the step\n\
         before: {:#?}\ngot: {got:#?}",
        snaps[before]
    );
    // Opened a second time it is the same: no repair loop.
    let again = Outbox::open_on(PowerCut::from_image(image), "outbox", cfg()).unwrap();
    assert_eq!(
        snapshot(&again),
        got,
        "{what}: a second open changed the store"
    );
    after_ok && snaps[before] != got
}

fn names() -> Vec<&'static str> {
    std::iter::once("open")
        .chain(script().into_iter().map(|(n, _)| n))
        .chain(std::iter::once("close"))
        .collect()
}

/// The reference run: no cut. Returns the snapshots and the number of syncs.
fn reference() -> (Vec<Snapshot>, u64) {
    let disk = PowerCut::new(None, None);
    let (failed, snaps) = run_script(&disk, true);
    assert_eq!(failed, None, "the script runs whole without a cut");
    // The script's own expectations, so the reference is not vacuous.
    let last = snaps.last().unwrap();
    let pending: Vec<&str> = last.pending.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(pending, ["e5"], "e5 requeued; e4, e7 retired; e8 answered");
    assert_eq!(last.dead, [("e6".to_string(), 0x80)]);
    assert_eq!(last.answers[0].as_deref(), Some(&b"answer to e1"[..]));
    assert!(last.states[2].contains("Expired"), "{:?}", last.states[2]);
    // Everything acknowledged is on the platter with the power still on.
    let image = disk.platter();
    assert!(!recover(image, snaps.len(), &snaps, "no cut at all"));
    (snaps, disk.syncs())
}

#[test]
fn power_cut_at_every_sync_point_loses_no_acknowledged_write_and_revives_nothing_retired() {
    let (snaps, syncs) = reference();
    assert!(syncs >= 20, "the script reached only {syncs} sync points");
    let names = names();
    let mut per_step = vec![0u32; names.len()];
    let mut applied = 0;
    for k in 1..=syncs {
        let disk = PowerCut::new(Some(k), None);
        let (failed, _) = run_script(&disk, false);
        let failed = failed.unwrap_or_else(|| panic!("sync {k}: a cut went unnoticed"));
        assert!(disk.dead(), "sync {k}: the cut did not happen");
        per_step[failed] += 1;
        let what = format!("cut at sync {k} of {syncs}, during {:?}", names[failed]);
        applied += usize::from(recover(disk.platter(), failed, &snaps, &what));
    }
    // Every step that writes was interrupted at least once.
    for (i, n) in per_step.iter().enumerate() {
        assert!(*n > 0, "no sync point fell in step {:?}", names[i]);
    }
    eprintln!(
        "{syncs} sync points over {} steps; {applied} cuts kept the interrupted step",
        names.len()
    );
}

#[test]
fn torn_and_reordered_unsynced_writes_at_every_sync_point_recover_cleanly() {
    let (snaps, syncs) = reference();
    let names = names();
    let mut cuts = 0;
    for seed in [
        0x9E37_79B9_7F4A_7C15u64,
        0xD1B5_4A32_D192_ED03,
        0x2545_F491_4F6C_DD1D,
    ] {
        for k in 1..=syncs {
            let disk = PowerCut::new(Some(k), Some(seed ^ k));
            let (failed, _) = run_script(&disk, false);
            let failed = failed.unwrap_or_else(|| panic!("sync {k}: a cut went unnoticed"));
            let what = format!(
                "torn cut (seed {seed:#x}) at sync {k} of {syncs}, during {:?}",
                names[failed]
            );
            recover(disk.platter(), failed, &snaps, &what);
            cuts += 1;
        }
    }
    eprintln!("{cuts} torn cuts recovered");
}

#[test]
fn a_truncated_platter_is_a_clear_error_or_a_recovered_store_never_a_panic() {
    let disk = PowerCut::new(None, None);
    let (failed, _) = run_script(&disk, false);
    assert_eq!(failed, None);
    let image = disk.platter();
    let mut errors = 0;
    for cut in (0..image.len()).step_by(image.len() / 97 + 1) {
        let mut short = image.clone();
        short.truncate(cut);
        match Outbox::open_on(PowerCut::from_image(short), "outbox", cfg()) {
            Ok(ob) => {
                ob.stats().unwrap();
            }
            Err(OutboxError::Corrupt { reason, .. }) => {
                assert!(!reason.is_empty());
                errors += 1;
            }
            Err(e) => panic!("truncated to {cut}: not a clear error: {e}"),
        }
    }
    assert!(errors > 0, "no truncation was noticed");
}
