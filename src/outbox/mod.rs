//! The outbox: durable store-and-forward of escalations to the central
//! service, on an embedded [redb] database.
//!
//! # Contract
//! - [`Outbox::enqueue`] returns only after the record is on disk: every
//!   write transaction commits with [`Durability::Immediate`], so the API may
//!   tell the client "accepted" as soon as it returns `Ok`.
//! - A record stays queued until its PUBACK ([`Outbox::retire`]), until a
//!   central answer arrives ([`Outbox::store_answer`]), until its deadline
//!   passes ([`Outbox::expire`]), or until the broker refused it
//!   `max_attempts` times ([`Outbox::refused`], then it is a dead letter).
//! - The outbox keeps no in-flight marks. [`Outbox::pending`] returns every
//!   queued record, whether or not it was published before; after a restart
//!   or a reconnect the caller asks for `pending` again and publishes all of
//!   them (at-least-once delivery; the central service deduplicates by
//!   request id). While a session is up, the caller remembers what it has
//!   published and not yet seen acknowledged.
//! - Request ids are the dedupe key: an id that is queued, or that the
//!   outbox still remembers as sent, answered, expired or failed, is not
//!   stored again ([`Enqueued::Duplicate`]).
//! - The byte budget counts the payload bytes of queued records. A record
//!   that would take the total over it is refused with
//!   [`OutboxError::Full`]; nothing already queued is dropped to make room.
//!   Calling [`Outbox::expire`] first frees the space of stale records.
//! - The memory of finished ids, the dead letters and the stored answers are
//!   each bounded; the oldest entries go first.
//!
//! Timestamps are unix milliseconds. Deadlines, `pending` and `expire` use
//! the clock the caller passes in; the time a record was retired, answered
//! or failed is taken from the system clock and only ages the memory of
//! finished ids.
//!
//! [`Outbox`] is `Send + Sync`: share one handle (e.g. in an `Arc`) between
//! threads. Write transactions are serialised by redb, and each operation is
//! one transaction, so concurrent calls never see half an update. A database
//! file can be open in one handle at a time ([`OutboxError::Locked`]).

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{
    Database, DatabaseError, Durability, ReadableTable, ReadableTableMetadata, StorageBackend,
    StorageError, Table, TableDefinition, TableError, WriteTransaction,
};
use serde::{Deserialize, Serialize};

/// Longest request id, in bytes.
pub const MAX_ID_BYTES: usize = 64;

/// Version of the table layout; a file written with another is refused.
pub const SCHEMA_VERSION: u64 = 1;

/// The first bytes of every redb file.
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];
/// redb's file header: its size, page size, and the offsets of the layout
/// fields checked before redb reads the file.
const REDB_HEADER_BYTES: usize = 320;
const REDB_PAGE_SIZE: u32 = 4096;
const REDB_PAGE_SIZE_OFFSET: usize = 12;
const REDB_REGION_HEADER_PAGES_OFFSET: usize = 16;
const REDB_REGION_MAX_DATA_PAGES_OFFSET: usize = 20;
const REDB_FULL_REGIONS_OFFSET: usize = 24;
const REDB_TRAILING_PAGES_OFFSET: usize = 28;

/// id → encoded [`StoredRecord`]: the queued records.
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
/// (255 − priority, created, id): the send order of queued records.
const QUEUE: TableDefinition<(u8, u64, &str), ()> = TableDefinition::new("queue");
/// (deadline, id): queued records by deadline, for expiry.
const DEADLINES: TableDefinition<(u64, &str), ()> = TableDefinition::new("deadlines");
/// id → (state tag, at ms, memory sequence): finished ids remembered.
const STATES: TableDefinition<&str, (u8, u64, u64)> = TableDefinition::new("states");
/// memory sequence → id: finished ids, oldest first, for pruning.
const MEMORY: TableDefinition<u64, &str> = TableDefinition::new("memory");
/// id → encoded [`StoredDead`]: the dead letters.
const DEAD: TableDefinition<&str, &[u8]> = TableDefinition::new("dead");
/// sequence → id: dead letters, oldest first.
const DEAD_ORDER: TableDefinition<u64, &str> = TableDefinition::new("dead_order");
/// id → answer bytes: answers from the central service.
const ANSWERS: TableDefinition<&str, &[u8]> = TableDefinition::new("answers");
/// sequence → id: answers, oldest first.
const ANSWER_ORDER: TableDefinition<u64, &str> = TableDefinition::new("answer_order");
/// name → counter.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// id → device-only bytes kept with an escalation (never published).
const LOCAL: TableDefinition<&str, &[u8]> = TableDefinition::new("local");

const META_SCHEMA: &str = "schema";
const META_SEQ: &str = "seq";
const META_BYTES: &str = "queued_bytes";
const META_ANSWER_BYTES: &str = "answer_bytes";
const META_EXPIRED: &str = "expired_total";
const META_DEAD: &str = "dead_total";
const META_RETIRED: &str = "retired_total";
const META_DUPLICATES: &str = "duplicates_total";

/// Everything that can go wrong in the outbox. Each variant is a case a
/// caller can act on; the storage variant wraps redb's own error.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The file exists but is not an outbox database (garbage, another
    /// format, a truncated or damaged redb file, or foreign tables).
    #[error("outbox file {path} is corrupt or not an outbox database: {reason}")]
    Corrupt {
        /// The file that was opened.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// Another handle, in this process or another, has the file open.
    #[error("outbox file {path} is already open")]
    Locked {
        /// The file that was opened.
        path: PathBuf,
    },
    /// The file could not be read before handing it to the database.
    #[error("cannot read outbox file {path}: {source}")]
    Io {
        /// The file that was opened.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database refused to open the file for another reason.
    #[error("cannot open outbox file {path}: {source}")]
    Open {
        /// The file that was opened.
        path: PathBuf,
        /// redb's error.
        #[source]
        source: DatabaseError,
    },
    /// The file was written with another table layout.
    #[error("outbox file {path} has schema version {found}, this build reads {expected}")]
    Schema {
        /// The file that was opened.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The version this build writes.
        expected: u64,
    },
    /// A configuration value is out of range.
    #[error("invalid outbox config: {0}")]
    Config(&'static str),
    /// The request id is empty or longer than [`MAX_ID_BYTES`].
    #[error("invalid request id: {0}")]
    InvalidId(&'static str),
    /// The deadline is not after the creation time.
    #[error("deadline {deadline_ms} is not after creation time {created_ms}")]
    InvalidDeadline {
        /// Creation time, unix ms.
        created_ms: u64,
        /// Deadline, unix ms.
        deadline_ms: u64,
    },
    /// Queuing the record would take the queued payload bytes over the
    /// budget. Nothing was stored.
    #[error("outbox full: {needed} more bytes would exceed the budget of {budget} bytes ({queued} queued)")]
    Full {
        /// Payload bytes of the refused record.
        needed: u64,
        /// Payload bytes already queued.
        queued: u64,
        /// The configured budget, `max_bytes`.
        budget: u64,
    },
    /// An answer is larger than the whole answer budget.
    #[error("answer of {len} bytes exceeds the answer budget of {budget} bytes")]
    AnswerTooLarge {
        /// Size of the answer.
        len: u64,
        /// The configured budget, `max_answer_bytes`.
        budget: u64,
    },
    /// [`Outbox::refused`] was called with a success reason code.
    #[error("reason code {code:#04x} is not a refusal (refusals are 0x80 and above)")]
    NotRefusal {
        /// The reason code passed.
        code: u8,
    },
    /// An entry in the file cannot be decoded (or a value encoded).
    #[error("outbox entry {id:?} in table {table} cannot be decoded or encoded")]
    Codec {
        /// The table holding it.
        table: &'static str,
        /// The request id.
        id: String,
    },
    /// A storage error from redb after the file was opened.
    #[error("outbox storage error: {0}")]
    Storage(#[source] Box<redb::Error>),
}

impl From<redb::Error> for OutboxError {
    fn from(e: redb::Error) -> Self {
        OutboxError::Storage(Box::new(e))
    }
}

impl From<redb::StorageError> for OutboxError {
    fn from(e: redb::StorageError) -> Self {
        OutboxError::Storage(Box::new(e.into()))
    }
}

impl From<redb::TransactionError> for OutboxError {
    fn from(e: redb::TransactionError) -> Self {
        OutboxError::Storage(Box::new(e.into()))
    }
}

impl From<redb::TableError> for OutboxError {
    fn from(e: redb::TableError) -> Self {
        OutboxError::Storage(Box::new(e.into()))
    }
}

impl From<redb::CommitError> for OutboxError {
    fn from(e: redb::CommitError) -> Self {
        OutboxError::Storage(Box::new(e.into()))
    }
}

/// Limits of the outbox. Every bound is enforced on each write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// Byte budget: total payload bytes of queued records. A record that
    /// would exceed it is refused with [`OutboxError::Full`].
    pub max_bytes: u64,
    /// Refusals by the broker before a record becomes a dead letter (≥ 1).
    pub max_attempts: u32,
    /// Most finished ids remembered for deduplication and [`Outbox::state`].
    pub remember_ids: u64,
    /// How long a finished id is remembered, in ms; pruned by
    /// [`Outbox::expire`].
    pub remember_ms: u64,
    /// Most dead letters kept; the oldest are dropped (still counted).
    /// 0 keeps none; failed ids are still remembered.
    pub max_dead: u64,
    /// Most answers kept.
    pub max_answers: u64,
    /// Most answer bytes kept; also the largest single answer.
    pub max_answer_bytes: u64,
    /// redb's page cache, in bytes.
    pub cache_bytes: usize,
    /// Verify every page's checksum when opening (and repair from the
    /// previous commit where possible). Reads the whole file once.
    pub verify_on_open: bool,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            max_bytes: 4 * 1024 * 1024,
            max_attempts: 5,
            remember_ids: 4096,
            remember_ms: 7 * 24 * 3600 * 1000,
            max_dead: 256,
            max_answers: 512,
            max_answer_bytes: 2 * 1024 * 1024,
            cache_bytes: 4 * 1024 * 1024,
            verify_on_open: true,
        }
    }
}

impl OutboxConfig {
    /// Checks that every bound is usable.
    pub fn validate(&self) -> Result<(), OutboxError> {
        if self.max_bytes == 0 {
            return Err(OutboxError::Config("max_bytes must be above 0"));
        }
        if self.max_attempts == 0 {
            return Err(OutboxError::Config("max_attempts must be at least 1"));
        }
        if self.remember_ids == 0 {
            return Err(OutboxError::Config("remember_ids must be at least 1"));
        }
        if self.max_answers == 0 || self.max_answer_bytes == 0 {
            return Err(OutboxError::Config(
                "max_answers and max_answer_bytes must be above 0",
            ));
        }
        if self.cache_bytes < 64 * 1024 {
            return Err(OutboxError::Config("cache_bytes must be at least 64 KiB"));
        }
        Ok(())
    }
}

/// Where an escalation stands. Survives restarts for as long as the id is
/// remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationState {
    /// Stored, waiting for a PUBACK.
    Queued,
    /// Published and acknowledged by the broker (retired).
    Sent,
    /// The central service answered.
    Answered,
    /// The deadline passed before it was acknowledged.
    Expired,
    /// Refused by the broker `max_attempts` times: a dead letter.
    Failed,
}

impl EscalationState {
    /// Answered, expired or failed: no later state follows.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            EscalationState::Answered | EscalationState::Expired | EscalationState::Failed
        )
    }

    fn tag(self) -> u8 {
        match self {
            EscalationState::Queued => 0,
            EscalationState::Sent => 1,
            EscalationState::Answered => 2,
            EscalationState::Expired => 3,
            EscalationState::Failed => 4,
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            0 => Some(EscalationState::Queued),
            1 => Some(EscalationState::Sent),
            2 => Some(EscalationState::Answered),
            3 => Some(EscalationState::Expired),
            4 => Some(EscalationState::Failed),
            _ => None,
        }
    }
}

/// A new escalation to queue.
#[derive(Clone, PartialEq, Eq)]
pub struct Escalation {
    /// Request id, 1 to [`MAX_ID_BYTES`] bytes; the dedupe key.
    pub id: String,
    /// Creation time, unix ms.
    pub created_ms: u64,
    /// Deadline, unix ms; the record expires at this time.
    pub deadline_ms: u64,
    /// Higher is sent first.
    pub priority: u8,
    /// The bytes to publish (the redacted JSON); opaque to the outbox.
    pub payload: Vec<u8>,
    /// Bytes kept on the device with the record and never published (the
    /// redaction map, say); read back with [`Outbox::local`] until the id
    /// is forgotten. Not counted in the byte budget; keep it small.
    pub local: Vec<u8>,
}

impl fmt::Debug for Escalation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Escalation")
            .field("id", &self.id)
            .field("created_ms", &self.created_ms)
            .field("deadline_ms", &self.deadline_ms)
            .field("priority", &self.priority)
            .field("payload_bytes", &self.payload.len())
            .field("local_bytes", &self.local.len())
            .finish()
    }
}

/// A queued record, as [`Outbox::pending`] returns it.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// Request id.
    pub id: String,
    /// Creation time, unix ms.
    pub created_ms: u64,
    /// Deadline, unix ms.
    pub deadline_ms: u64,
    /// Higher is sent first.
    pub priority: u8,
    /// Refusals by the broker so far.
    pub attempts: u32,
    /// The bytes to publish.
    pub payload: Vec<u8>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("id", &self.id)
            .field("created_ms", &self.created_ms)
            .field("deadline_ms", &self.deadline_ms)
            .field("priority", &self.priority)
            .field("attempts", &self.attempts)
            .field("payload_bytes", &self.payload.len())
            .finish()
    }
}

/// A record the broker refused `max_attempts` times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The record as it was when it failed.
    pub record: Record,
    /// The last MQTT reason code (0x80 and above).
    pub code: u8,
    /// When it failed, unix ms (system clock).
    pub failed_ms: u64,
}

/// Outcome of [`Outbox::enqueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored durably.
    Accepted,
    /// The id is already known; nothing was stored. Carries where the
    /// earlier escalation with that id stands.
    Duplicate(EscalationState),
}

/// Outcome of [`Outbox::refused`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Still queued; will be published again.
    Retry {
        /// Refusals so far.
        attempts: u32,
    },
    /// Moved to the dead letters; no longer pending.
    DeadLettered {
        /// Refusals so far.
        attempts: u32,
    },
    /// The id is not queued (already retired, answered, expired or failed).
    NotQueued,
}

/// Counters of the outbox; the totals are persistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutboxStats {
    /// Queued records.
    pub depth: u64,
    /// Payload bytes of queued records.
    pub bytes: u64,
    /// Records removed by expiry, ever.
    pub expired_total: u64,
    /// Records moved to the dead letters, ever.
    pub dead_total: u64,
    /// Records retired by a PUBACK or an answer, ever.
    pub retired_total: u64,
    /// Duplicate enqueues and duplicate answers ignored, ever.
    pub duplicates_total: u64,
}

#[derive(Serialize, Deserialize)]
struct StoredRecord {
    created_ms: u64,
    deadline_ms: u64,
    priority: u8,
    attempts: u32,
    payload: Vec<u8>,
}

impl StoredRecord {
    fn into_record(self, id: &str) -> Record {
        Record {
            id: id.to_string(),
            created_ms: self.created_ms,
            deadline_ms: self.deadline_ms,
            priority: self.priority,
            attempts: self.attempts,
            payload: self.payload,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredDead {
    record: StoredRecord,
    code: u8,
    failed_ms: u64,
}

fn encode<T: Serialize>(value: &T, table: &'static str, id: &str) -> Result<Vec<u8>, OutboxError> {
    postcard::to_allocvec(value).map_err(|_| OutboxError::Codec {
        table,
        id: id.to_string(),
    })
}

fn decode<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    table: &'static str,
    id: &str,
) -> Result<T, OutboxError> {
    postcard::from_bytes(bytes).map_err(|_| OutboxError::Codec {
        table,
        id: id.to_string(),
    })
}

fn queue_key(priority: u8, created_ms: u64, id: &str) -> (u8, u64, &str) {
    (u8::MAX - priority, created_ms, id)
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn validate_id(id: &str) -> Result<(), OutboxError> {
    if id.is_empty() {
        return Err(OutboxError::InvalidId("empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(OutboxError::InvalidId("longer than 64 bytes"));
    }
    Ok(())
}

/// Where an id stands, from any set of readable tables.
fn lookup_state<R, S, A, D>(
    records: &R,
    states: &S,
    answers: &A,
    dead: &D,
    id: &str,
) -> Result<Option<EscalationState>, OutboxError>
where
    R: ReadableTable<&'static str, &'static [u8]>,
    S: ReadableTable<&'static str, (u8, u64, u64)>,
    A: ReadableTable<&'static str, &'static [u8]>,
    D: ReadableTable<&'static str, &'static [u8]>,
{
    if records.get(id)?.is_some() {
        return Ok(Some(EscalationState::Queued));
    }
    if let Some(tag) = states.get(id)?.map(|g| g.value().0) {
        return EscalationState::from_tag(tag)
            .map(Some)
            .ok_or_else(|| OutboxError::Codec {
                table: "states",
                id: id.to_string(),
            });
    }
    if answers.get(id)?.is_some() {
        return Ok(Some(EscalationState::Answered));
    }
    if dead.get(id)?.is_some() {
        return Ok(Some(EscalationState::Failed));
    }
    Ok(None)
}

/// Every table, open in one write transaction.
struct Tables<'t> {
    records: Table<'t, &'static str, &'static [u8]>,
    queue: Table<'t, (u8, u64, &'static str), ()>,
    deadlines: Table<'t, (u64, &'static str), ()>,
    states: Table<'t, &'static str, (u8, u64, u64)>,
    memory: Table<'t, u64, &'static str>,
    dead: Table<'t, &'static str, &'static [u8]>,
    dead_order: Table<'t, u64, &'static str>,
    answers: Table<'t, &'static str, &'static [u8]>,
    answer_order: Table<'t, u64, &'static str>,
    meta: Table<'t, &'static str, u64>,
    local: Table<'t, &'static str, &'static [u8]>,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self, TableError> {
        Ok(Tables {
            records: txn.open_table(RECORDS)?,
            queue: txn.open_table(QUEUE)?,
            deadlines: txn.open_table(DEADLINES)?,
            states: txn.open_table(STATES)?,
            memory: txn.open_table(MEMORY)?,
            dead: txn.open_table(DEAD)?,
            dead_order: txn.open_table(DEAD_ORDER)?,
            answers: txn.open_table(ANSWERS)?,
            answer_order: txn.open_table(ANSWER_ORDER)?,
            meta: txn.open_table(META)?,
            local: txn.open_table(LOCAL)?,
        })
    }

    fn meta(&self, key: &str) -> Result<u64, OutboxError> {
        Ok(self.meta.get(key)?.map(|g| g.value()).unwrap_or(0))
    }

    fn add(&mut self, key: &str, n: u64) -> Result<(), OutboxError> {
        let v = self.meta(key)?.saturating_add(n);
        self.meta.insert(key, v)?;
        Ok(())
    }

    fn sub(&mut self, key: &str, n: u64) -> Result<(), OutboxError> {
        let v = self.meta(key)?.saturating_sub(n);
        self.meta.insert(key, v)?;
        Ok(())
    }

    /// Puts a new record in the queue and its indexes, refusing it with
    /// [`OutboxError::Full`] when it would take the queued bytes over
    /// `budget`. Device-only bytes are stored only when given.
    fn queue_record(&mut self, e: &Escalation, budget: u64) -> Result<(), OutboxError> {
        let id = e.id.as_str();
        let needed = e.payload.len() as u64;
        let queued = self.meta(META_BYTES)?;
        if queued.saturating_add(needed) > budget {
            return Err(OutboxError::Full {
                needed,
                queued,
                budget,
            });
        }
        let rec = StoredRecord {
            created_ms: e.created_ms,
            deadline_ms: e.deadline_ms,
            priority: e.priority,
            attempts: 0,
            payload: e.payload.clone(),
        };
        let bytes = encode(&rec, "records", id)?;
        self.records.insert(id, bytes.as_slice())?;
        self.queue
            .insert(queue_key(e.priority, e.created_ms, id), ())?;
        self.deadlines.insert((e.deadline_ms, id), ())?;
        if !e.local.is_empty() {
            self.local.insert(id, e.local.as_slice())?;
        }
        self.add(META_BYTES, needed)
    }

    fn next_seq(&mut self) -> Result<u64, OutboxError> {
        let seq = self.meta(META_SEQ)?.saturating_add(1);
        self.meta.insert(META_SEQ, seq)?;
        Ok(seq)
    }

    fn state(&self, id: &str) -> Result<Option<EscalationState>, OutboxError> {
        lookup_state(&self.records, &self.states, &self.answers, &self.dead, id)
    }

    fn load(&self, id: &str) -> Result<Option<StoredRecord>, OutboxError> {
        match self.records.get(id)? {
            Some(g) => decode(g.value(), "records", id).map(Some),
            None => Ok(None),
        }
    }

    /// Takes a queued record out of the queue and its indexes.
    fn unqueue(&mut self, id: &str) -> Result<Option<StoredRecord>, OutboxError> {
        let Some(rec) = self.load(id)? else {
            return Ok(None);
        };
        self.records.remove(id)?;
        self.queue
            .remove(queue_key(rec.priority, rec.created_ms, id))?;
        self.deadlines.remove((rec.deadline_ms, id))?;
        self.sub(META_BYTES, rec.payload.len() as u64)?;
        Ok(Some(rec))
    }

    /// Records a finished id's state and ages out the oldest remembered.
    fn remember(
        &mut self,
        id: &str,
        state: EscalationState,
        at_ms: u64,
        limit: u64,
    ) -> Result<(), OutboxError> {
        let seq = self.next_seq()?;
        let old = self
            .states
            .insert(id, (state.tag(), at_ms, seq))?
            .map(|g| g.value().2);
        if let Some(old_seq) = old {
            self.memory.remove(old_seq)?;
        }
        self.memory.insert(seq, id)?;
        self.prune_memory(limit, None)
    }

    /// Forgets the oldest finished ids while more than `limit` are
    /// remembered or, with `cutoff`, while the oldest finished before it.
    fn prune_memory(&mut self, limit: u64, cutoff: Option<u64>) -> Result<(), OutboxError> {
        loop {
            let Some((seq, id)) = self
                .memory
                .first()?
                .map(|(k, v)| (k.value(), v.value().to_string()))
            else {
                return Ok(());
            };
            let entry = self.states.get(id.as_str())?.map(|g| g.value());
            let over = self.memory.len()? > limit;
            let stale = match (cutoff, entry) {
                (Some(cut), Some((_, at, _))) => at < cut,
                _ => false,
            };
            if !over && !stale {
                return Ok(());
            }
            self.memory.remove(seq)?;
            if entry.is_some_and(|(_, _, s)| s == seq) {
                self.states.remove(id.as_str())?;
                self.local.remove(id.as_str())?;
            }
        }
    }
}

/// The durable queue of escalations. See the module documentation.
pub struct Outbox {
    db: Database,
    cfg: OutboxConfig,
    path: PathBuf,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.path)
            .field("cfg", &self.cfg)
            .finish()
    }
}

fn header_u32(head: &[u8], offset: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(src) = head.get(offset..offset + 4) {
        b.copy_from_slice(src);
    }
    u32::from_le_bytes(b)
}

/// The file length redb's header promises, or `None` when the layout
/// fields are impossible.
fn header_layout_len(head: &[u8]) -> Option<u64> {
    let page = u64::from(header_u32(head, REDB_PAGE_SIZE_OFFSET));
    let header_pages = u64::from(header_u32(head, REDB_REGION_HEADER_PAGES_OFFSET));
    let max_data_pages = u64::from(header_u32(head, REDB_REGION_MAX_DATA_PAGES_OFFSET));
    let full_regions = u64::from(header_u32(head, REDB_FULL_REGIONS_OFFSET));
    let trailing = u64::from(header_u32(head, REDB_TRAILING_PAGES_OFFSET));
    if header_pages == 0 || max_data_pages == 0 || (full_regions == 0 && trailing == 0) {
        return None;
    }
    let full = header_pages
        .checked_add(max_data_pages)?
        .checked_mul(page)?;
    let mut len = page.checked_add(full_regions.checked_mul(full)?)?;
    if trailing > 0 {
        len = len.checked_add(header_pages.checked_add(trailing)?.checked_mul(page)?)?;
    }
    Some(len)
}

/// What [`precheck`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// No file, or an empty one: a new outbox.
    Nothing,
    /// A redb file as long as its header says.
    Whole,
    /// A redb file shorter than its header says, by a power cut that kept
    /// a header write and lost the growth of the file before it, or by a
    /// truncated copy. Extended to `len` with zeros and verified whole,
    /// the first is repaired and the second is refused by the checksums.
    Short { len: u64 },
}

/// Refuses, before redb parses it, a file that is not a redb database.
fn precheck(path: &Path) -> Result<Found, OutboxError> {
    let io_err = |source| OutboxError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Nothing),
        Err(e) => return Err(io_err(e)),
    };
    let len = file.metadata().map_err(io_err)?.len();
    let mut head = vec![0u8; REDB_HEADER_BYTES.min(len as usize)];
    file.read_exact(&mut head).map_err(io_err)?;
    precheck_header(path, len, &head)
}

/// [`precheck`] on the first bytes of a store of `len` bytes.
fn precheck_header(path: &Path, len: u64, head: &[u8]) -> Result<Found, OutboxError> {
    if len == 0 {
        return Ok(Found::Nothing);
    }
    let corrupt = |reason: &str| OutboxError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if len < REDB_HEADER_BYTES as u64 || head.len() < REDB_HEADER_BYTES {
        return Err(corrupt("file is too short to be a redb database"));
    }
    if head[..REDB_MAGIC.len()] != REDB_MAGIC {
        return Err(corrupt("no redb header"));
    }
    if header_u32(head, REDB_PAGE_SIZE_OFFSET) != REDB_PAGE_SIZE {
        return Err(corrupt("unexpected page size in the redb header"));
    }
    match header_layout_len(head) {
        None => Err(corrupt("impossible region layout in the redb header")),
        Some(expected) if expected > len => Ok(Found::Short { len: expected }),
        Some(_) => Ok(Found::Whole),
    }
}

/// What to do with a store [`precheck`] found short: go on (the caller
/// extends it) when it will be verified whole, else refuse it.
fn short_file(path: &Path, verify: bool) -> Result<(), OutboxError> {
    if verify {
        tracing::warn!(path = %path.display(),
            "outbox file is shorter than its header says; extending it to verify and repair it");
        Ok(())
    } else {
        Err(OutboxError::Corrupt {
            path: path.to_path_buf(),
            reason: "file is shorter than its header says (truncated), and verify_on_open is off"
                .to_string(),
        })
    }
}

/// [`precheck`], then a short file extended with zeros on disk to the
/// length its header gives (or refused when it will not be verified).
/// Says whether there is an existing file.
fn precheck_and_extend(path: &Path, verify: bool) -> Result<bool, OutboxError> {
    match precheck(path)? {
        Found::Nothing => Ok(false),
        Found::Whole => Ok(true),
        Found::Short { len } => {
            short_file(path, verify)?;
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| {
                    f.set_len(len)?;
                    f.sync_all()
                })
                .map_err(|source| OutboxError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
            Ok(true)
        }
    }
}

/// Removes `path` if it is there.
fn remove_if_present(path: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Damaged outbox files kept beside the live one for the operator.
pub const KEEP_DAMAGED: usize = 3;

/// Removes all but the newest [`KEEP_DAMAGED`] damaged files set aside.
fn prune_damaged(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.damaged-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut damaged: Vec<(u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let ms = n.strip_prefix(&prefix)?.parse().ok()?;
            Some((ms, e.path()))
        })
        .collect();
    damaged.sort();
    let excess = damaged.len().saturating_sub(KEEP_DAMAGED);
    for (_, p) in damaged.into_iter().take(excess) {
        if let Err(e) = std::fs::remove_file(&p) {
            tracing::warn!(path = %p.display(), error = %e, "cannot remove an old damaged outbox");
        }
    }
}

/// Where a new outbox is made before it is renamed into place.
fn staging_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    path.with_file_name(name)
}

/// Hands a boxed storage backend to redb.
#[derive(Debug)]
struct Backend(Box<dyn StorageBackend>);

impl StorageBackend for Backend {
    fn len(&self) -> std::io::Result<u64> {
        self.0.len()
    }
    fn read(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        self.0.read(offset, len)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.0.set_len(len)
    }
    fn sync_data(&self, eventual: bool) -> std::io::Result<()> {
        self.0.sync_data(eventual)
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.0.write(offset, data)
    }
}

/// Where the database lives.
enum Store<'a> {
    File(&'a Path),
    Backend(Box<dyn StorageBackend>),
}

fn open_error(path: &Path, e: DatabaseError) -> OutboxError {
    match e {
        DatabaseError::DatabaseAlreadyOpen => OutboxError::Locked {
            path: path.to_path_buf(),
        },
        DatabaseError::Storage(StorageError::Corrupted(reason)) => OutboxError::Corrupt {
            path: path.to_path_buf(),
            reason,
        },
        DatabaseError::Storage(StorageError::Io(io))
            if io.kind() == std::io::ErrorKind::InvalidData =>
        {
            OutboxError::Corrupt {
                path: path.to_path_buf(),
                reason: "not a redb database".to_string(),
            }
        }
        other => OutboxError::Open {
            path: path.to_path_buf(),
            source: other,
        },
    }
}

mod check;
pub use check::{
    check_with_program, exit_code, EXIT_DAMAGED, EXIT_LOCKED, EXIT_OTHER, EXIT_REPAIRED,
    EXIT_SOUND, STARTED as CHECK_STARTED,
};

/// What became of a central answer given to [`Outbox::store_answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerStored {
    /// Stored: the first answer to an escalation this outbox knows.
    New,
    /// That escalation already has its answer; this one was ignored.
    Duplicate,
    /// No escalation with that id is queued or remembered here; ignored.
    Unknown,
}

impl Outbox {
    /// Opens the outbox at `path`, creating it when the file is missing or
    /// empty. A file that is not an outbox gives [`OutboxError::Corrupt`]
    /// naming the path; one open elsewhere gives [`OutboxError::Locked`].
    /// After an unclean shutdown redb repairs the file here, which can take
    /// a moment on a large file.
    pub fn open(path: impl AsRef<Path>, cfg: OutboxConfig) -> Result<Outbox, OutboxError> {
        cfg.validate()?;
        let path = path.as_ref().to_path_buf();
        let existing = precheck_and_extend(&path, cfg.verify_on_open)?;
        let staging = staging_path(&path);
        if existing {
            // Left by a creation that was cut short; never holds records.
            match remove_if_present(&staging) {
                Ok(true) => {
                    tracing::info!(path = %staging.display(), "removed a half-created outbox")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(path = %staging.display(), error = %e, "cannot remove a half-created outbox")
                }
            }
        } else {
            Self::create_staged(&path, &staging, &cfg)?;
        }
        // redb asserts on some damage it finds while loading a file, and
        // release builds abort on a panic. So an existing file is checked
        // (and repaired) first where a panic cannot end the daemon (the
        // `check` module): the damage becomes a typed error here instead of
        // a crash loop. Once checked whole, it is not checked again.
        let mut verify = cfg.verify_on_open;
        let mut repaired = false;
        if existing {
            let open = || Self::open_checked(&path, &cfg, verify).map(|(_, r)| r);
            match check::check(&path, &cfg, verify, open) {
                check::Checked::Sound => verify = false,
                check::Checked::Repaired => {
                    verify = false;
                    repaired = true;
                }
                // A typed error, as the check found it. The file is not
                // opened here again: damage that redb reports once can
                // make it panic on a second try.
                check::Checked::Refused(e) => return Err(e),
                // An error that is not damage (another version, a lock, I/O)
                // seen by the child: opened here, it is found again.
                check::Checked::Other => {}
                check::Checked::Unknown(why) => {
                    tracing::warn!(path = %path.display(), %why, "outbox check gave no verdict; opening it here");
                }
                check::Checked::Crashed(why) => {
                    tracing::warn!(path = %path.display(), %why, "outbox check failed");
                    return Err(OutboxError::Corrupt {
                        path,
                        reason: "the database failed an internal consistency check".to_string(),
                    });
                }
            }
        }
        let (mut outbox, repaired_here) = Self::open_checked(&path, &cfg, verify)?;
        outbox.compact()?;
        if repaired || repaired_here {
            tracing::warn!(path = %path.display(), "outbox file was damaged and has been repaired");
        }
        tracing::debug!(path = %outbox.path.display(), "outbox open");
        Ok(outbox)
    }

    /// Opens the outbox at `path` as [`Outbox::open`] does, except that a
    /// file damaged beyond repair ([`OutboxError::Corrupt`]) is moved aside
    /// as `<name>.damaged-<unix ms>` and a new outbox is started, so that a
    /// daemon under a supervisor does not crash-loop on it. The newest
    /// [`KEEP_DAMAGED`] such files are kept for the operator; the path of
    /// the one moved aside now is returned with the outbox.
    pub fn open_or_set_aside(
        path: impl AsRef<Path>,
        cfg: OutboxConfig,
    ) -> Result<(Outbox, Option<PathBuf>), OutboxError> {
        let path = path.as_ref();
        match Self::open(path, cfg.clone()) {
            Err(OutboxError::Corrupt { reason, .. }) => {
                let mut name = path.file_name().unwrap_or_default().to_os_string();
                name.push(format!(".damaged-{}", wall_ms()));
                let aside = path.with_file_name(name);
                std::fs::rename(path, &aside).map_err(|source| OutboxError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
                tracing::error!(path = %path.display(), moved_to = %aside.display(), %reason,
                    "outbox file is damaged beyond repair; it was moved aside and a new outbox started");
                prune_damaged(path);
                Ok((Self::open(path, cfg)?, Some(aside)))
            }
            other => other.map(|o| (o, None)),
        }
    }

    /// Creates a new outbox beside `path` and renames it into place once
    /// its first commit is on disk, so that a power cut while it is made
    /// leaves either no file or a whole one, never a file without a header.
    fn create_staged(path: &Path, staging: &Path, cfg: &OutboxConfig) -> Result<(), OutboxError> {
        let io_err = |p: &Path, source| OutboxError::Io {
            path: p.to_path_buf(),
            source,
        };
        remove_if_present(staging).map_err(|e| io_err(staging, e))?;
        drop(Self::open_store(Store::File(staging), staging, cfg, false)?);
        File::open(staging)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_err(staging, e))?;
        std::fs::rename(staging, path).map_err(|e| io_err(path, e))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_err(dir, e))?;
        }
        Ok(())
    }

    /// Checks the outbox file at `path` whole in this process, repairing it
    /// after an unclean stop, and says whether it was repaired. What
    /// `slmd outbox check` runs; unlike [`Outbox::open`] a panic inside the
    /// store is not caught here.
    pub fn check_file(path: impl AsRef<Path>, cfg: &OutboxConfig) -> Result<bool, OutboxError> {
        cfg.validate()?;
        let path = path.as_ref();
        if !precheck_and_extend(path, cfg.verify_on_open)? {
            return Err(OutboxError::Corrupt {
                path: path.to_path_buf(),
                reason: "the file is missing or empty".to_string(),
            });
        }
        Self::open_checked(path, cfg, cfg.verify_on_open).map(|(_, repaired)| repaired)
    }

    /// Opens the file, checking (and repairing) it whole when `verify`;
    /// says whether it was repaired.
    fn open_checked(
        path: &Path,
        cfg: &OutboxConfig,
        verify: bool,
    ) -> Result<(Outbox, bool), OutboxError> {
        Self::open_store(Store::File(path), path, cfg, verify)
    }

    fn open_store(
        store: Store<'_>,
        path: &Path,
        cfg: &OutboxConfig,
        verify: bool,
    ) -> Result<(Outbox, bool), OutboxError> {
        let mut builder = Database::builder();
        builder.set_cache_size(cfg.cache_bytes);
        let mut db = match store {
            Store::File(file) => builder.create(file),
            Store::Backend(b) => builder.create_with_backend(Backend(b)),
        }
        .map_err(|e| open_error(path, e))?;
        // check_integrity is false when it found damage and repaired it.
        let repaired = verify && !db.check_integrity().map_err(|e| open_error(path, e))?;
        let outbox = Outbox {
            db,
            cfg: cfg.clone(),
            path: path.to_path_buf(),
        };
        outbox.init()?;
        Ok((outbox, repaired))
    }

    /// Opens an outbox kept in `backend` instead of a file (`name` stands
    /// for the path in errors). Unlike a file, a new store is not made
    /// aside and renamed into place, so a cut while it is first created
    /// can leave it without a header. The store is checked in this process, so a
    /// panic inside redb is caught only where panics unwind. For stores
    /// that are not files, such as the fault-injecting one of the
    /// power-loss tests.
    pub fn open_on(
        backend: impl StorageBackend,
        name: impl AsRef<Path>,
        cfg: OutboxConfig,
    ) -> Result<Outbox, OutboxError> {
        cfg.validate()?;
        let path = name.as_ref();
        let io_err = |source| OutboxError::Io {
            path: path.to_path_buf(),
            source,
        };
        let len = backend.len().map_err(io_err)?;
        let head = backend
            .read(0, REDB_HEADER_BYTES.min(len as usize))
            .map_err(io_err)?;
        if let Found::Short { len } = precheck_header(path, len, &head)? {
            short_file(path, cfg.verify_on_open)?;
            backend
                .set_len(len)
                .and_then(|()| backend.sync_data(false))
                .map_err(io_err)?;
        }
        let store = Store::Backend(Box::new(backend));
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let (mut outbox, repaired) = Self::open_store(store, path, &cfg, cfg.verify_on_open)?;
            outbox.compact()?;
            Ok((outbox, repaired))
        })) {
            Ok(Ok((outbox, repaired))) => {
                if repaired {
                    tracing::warn!(path = %path.display(), "outbox store was damaged and has been repaired");
                }
                Ok(outbox)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(OutboxError::Corrupt {
                path: path.to_path_buf(),
                reason: "the database failed an internal consistency check".to_string(),
            }),
        }
    }

    /// Gives the file's free pages back, so that it does not keep the size
    /// of its fullest day. Run once at every open, on the handle that is
    /// kept (not in the check); little work for a file within the budget.
    fn compact(&mut self) -> Result<(), OutboxError> {
        match self.db.compact() {
            Ok(_) => Ok(()),
            Err(redb::CompactionError::Storage(e)) => Err(e.into()),
            Err(e) => {
                tracing::debug!(error = %e, "outbox: compaction skipped");
                Ok(())
            }
        }
    }

    /// Creates the tables and checks the schema version.
    fn init(&self) -> Result<(), OutboxError> {
        let corrupt = |reason: String| OutboxError::Corrupt {
            path: self.path.clone(),
            reason,
        };
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate);
        // Data pages are synced before the header that points at them, so
        // a disk that reorders or tears unsynced writes cannot persist a
        // header ahead of its pages (the power-loss tests).
        txn.set_two_phase_commit(true);
        {
            let mut t = Tables::open(&txn).map_err(|e| match e {
                TableError::Storage(StorageError::Corrupted(r)) => corrupt(r),
                TableError::Storage(s) => OutboxError::from(s),
                other => corrupt(other.to_string()),
            })?;
            let schema = t.meta.get(META_SCHEMA)?.map(|g| g.value());
            match schema {
                None => {
                    if !t.records.is_empty()? {
                        return Err(corrupt("records without a schema version".to_string()));
                    }
                    t.meta.insert(META_SCHEMA, SCHEMA_VERSION)?;
                }
                Some(SCHEMA_VERSION) => {}
                Some(found) => {
                    return Err(OutboxError::Schema {
                        path: self.path.clone(),
                        found,
                        expected: SCHEMA_VERSION,
                    })
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The file this outbox lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The limits in force.
    pub fn config(&self) -> &OutboxConfig {
        &self.cfg
    }

    /// Runs `f` in one write transaction committed with immediate
    /// durability; on error nothing is written.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Tables<'_>) -> Result<T, OutboxError>,
    ) -> Result<T, OutboxError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate);
        // Data pages are synced before the header that points at them, so
        // a disk that reorders or tears unsynced writes cannot persist a
        // header ahead of its pages (the power-loss tests).
        txn.set_two_phase_commit(true);
        let out = {
            let mut tables = Tables::open(&txn)?;
            f(&mut tables)
        };
        match out {
            Ok(v) => {
                txn.commit()?;
                Ok(v)
            }
            Err(e) => {
                if let Err(abort) = txn.abort() {
                    tracing::warn!(error = %abort, "outbox: aborting a transaction failed");
                }
                Err(e)
            }
        }
    }

    /// Stores a new escalation durably. Returns [`Enqueued::Accepted`]
    /// only after the commit reached the disk, and
    /// [`Enqueued::Duplicate`] (storing nothing) when the id is queued or
    /// still remembered. Refuses with [`OutboxError::Full`] when the
    /// payload would take the queued bytes over `max_bytes`.
    pub fn enqueue(&self, e: &Escalation) -> Result<Enqueued, OutboxError> {
        validate_id(&e.id)?;
        if e.deadline_ms <= e.created_ms {
            return Err(OutboxError::InvalidDeadline {
                created_ms: e.created_ms,
                deadline_ms: e.deadline_ms,
            });
        }
        let budget = self.cfg.max_bytes;
        let id = e.id.as_str();
        self.write(|t| {
            if let Some(state) = t.state(id)? {
                t.add(META_DUPLICATES, 1)?;
                return Ok(Enqueued::Duplicate(state));
            }
            t.queue_record(e, budget)?;
            Ok(Enqueued::Accepted)
        })
    }

    /// Queued records to publish: not expired at `now_ms` (deadline still
    /// ahead), highest priority first, then oldest first, at most `limit`.
    /// Every queued record is returned each time; see the module
    /// documentation on in-flight records.
    pub fn pending(&self, now_ms: u64, limit: usize) -> Result<Vec<Record>, OutboxError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let txn = self.db.begin_read()?;
        let queue = txn.open_table(QUEUE)?;
        let records = txn.open_table(RECORDS)?;
        for entry in queue.iter()? {
            let (key, _) = entry?;
            let (_, _, id) = key.value();
            let Some(guard) = records.get(id)? else {
                return Err(OutboxError::Codec {
                    table: "queue",
                    id: id.to_string(),
                });
            };
            let rec: StoredRecord = decode(guard.value(), "records", id)?;
            if rec.deadline_ms <= now_ms {
                continue;
            }
            out.push(rec.into_record(id));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Retires a record after its PUBACK: it leaves the queue and its
    /// state becomes [`EscalationState::Sent`]. Returns `false` when the id
    /// was not queued (a repeated PUBACK, or already answered or expired);
    /// then nothing changes.
    pub fn retire(&self, id: &str) -> Result<bool, OutboxError> {
        let limit = self.cfg.remember_ids;
        self.write(|t| {
            if t.unqueue(id)?.is_none() {
                return Ok(false);
            }
            t.add(META_RETIRED, 1)?;
            t.remember(id, EscalationState::Sent, wall_ms(), limit)?;
            Ok(true)
        })
    }

    /// Ids the broker acknowledged before `cutoff_ms` that have no answer
    /// yet, oldest first, at most `limit`.
    pub fn unanswered_before(
        &self,
        cutoff_ms: u64,
        limit: usize,
    ) -> Result<Vec<String>, OutboxError> {
        let txn = self.db.begin_read()?;
        let states = txn.open_table(STATES)?;
        let answers = txn.open_table(ANSWERS)?;
        let mut out = Vec::new();
        for row in states.iter()? {
            let (k, v) = row?;
            let (tag, at, _) = v.value();
            if tag == EscalationState::Sent.tag() && at < cutoff_ms {
                let id = k.value().to_string();
                if answers.get(id.as_str())?.is_none() {
                    out.push((at, id));
                }
            }
        }
        out.sort();
        Ok(out.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    /// Puts an escalation that was sent but never answered back in the
    /// queue, to be published again. Returns `false` (changing nothing)
    /// unless its state is `Sent`. The byte budget applies as for
    /// [`Outbox::enqueue`]; the device-only bytes already stored are kept.
    pub fn requeue(&self, e: &Escalation) -> Result<bool, OutboxError> {
        validate_id(&e.id)?;
        let budget = self.cfg.max_bytes;
        let id = e.id.as_str();
        self.write(|t| {
            if t.state(id)? != Some(EscalationState::Sent) {
                return Ok(false);
            }
            t.queue_record(e, budget)?;
            if let Some((_, _, seq)) = t.states.remove(id)?.map(|g| g.value()) {
                t.memory.remove(seq)?;
            }
            Ok(true)
        })
    }

    /// Records a refusal by the broker (MQTT reason code 0x80 or above).
    /// The record's attempts go up by one; at `max_attempts` it moves to the
    /// dead letters and stops being pending, so it never blocks the queue.
    pub fn refused(&self, id: &str, code: u8) -> Result<Refusal, OutboxError> {
        if code < 0x80 {
            return Err(OutboxError::NotRefusal { code });
        }
        let max_attempts = self.cfg.max_attempts;
        let max_dead = self.cfg.max_dead;
        let limit = self.cfg.remember_ids;
        self.write(|t| {
            let Some(mut rec) = t.load(id)? else {
                return Ok(Refusal::NotQueued);
            };
            rec.attempts = rec.attempts.saturating_add(1);
            let attempts = rec.attempts;
            if attempts < max_attempts {
                let bytes = encode(&rec, "records", id)?;
                t.records.insert(id, bytes.as_slice())?;
                return Ok(Refusal::Retry { attempts });
            }
            t.unqueue(id)?;
            let now = wall_ms();
            t.add(META_DEAD, 1)?;
            if max_dead > 0 {
                let dead = StoredDead {
                    record: rec,
                    code,
                    failed_ms: now,
                };
                let bytes = encode(&dead, "dead", id)?;
                let seq = t.next_seq()?;
                t.dead.insert(id, bytes.as_slice())?;
                t.dead_order.insert(seq, id)?;
                while t.dead_order.len()? > max_dead {
                    let Some(old) = t
                        .dead_order
                        .pop_first()?
                        .map(|(_, v)| v.value().to_string())
                    else {
                        break;
                    };
                    t.dead.remove(old.as_str())?;
                }
            }
            t.remember(id, EscalationState::Failed, now, limit)?;
            Ok(Refusal::DeadLettered { attempts })
        })
    }

    /// Removes the records whose deadline is at or before `now_ms`,
    /// remembers them as [`EscalationState::Expired`], adds them to
    /// `expired_total`, and returns how many expired. Also forgets finished
    /// ids older than `remember_ms`.
    pub fn expire(&self, now_ms: u64) -> Result<u64, OutboxError> {
        Ok(self.expire_ids(now_ms)?.len() as u64)
    }

    /// [`Outbox::expire`], returning the ids that expired.
    pub fn expire_ids(&self, now_ms: u64) -> Result<Vec<String>, OutboxError> {
        let limit = self.cfg.remember_ids;
        let cutoff = now_ms.saturating_sub(self.cfg.remember_ms);
        self.write(|t| {
            let mut ids = Vec::new();
            for entry in t.deadlines.range(..(now_ms.saturating_add(1), ""))? {
                let (key, _) = entry?;
                ids.push(key.value().1.to_string());
            }
            let mut expired = Vec::new();
            for id in ids {
                if t.unqueue(&id)?.is_some() {
                    t.remember(&id, EscalationState::Expired, now_ms, limit)?;
                    expired.push(id);
                }
            }
            t.add(META_EXPIRED, expired.len() as u64)?;
            t.prune_memory(limit, Some(cutoff))?;
            if !expired.is_empty() {
                tracing::info!(expired = expired.len(), "outbox: escalations expired");
            }
            Ok(expired)
        })
    }

    /// Stores the central service's answer to `id`, an escalation this
    /// outbox knows (queued, or remembered in some state). A duplicate is
    /// ignored and counted; an answer to an id it does not know is ignored,
    /// so stray messages cannot push real answers out. Retires the record
    /// if it is still queued; the state becomes
    /// [`EscalationState::Answered`]. The oldest answers are dropped to stay
    /// within `max_answers` and `max_answer_bytes`.
    pub fn store_answer(&self, id: &str, answer: &[u8]) -> Result<AnswerStored, OutboxError> {
        validate_id(id)?;
        let len = answer.len() as u64;
        let budget = self.cfg.max_answer_bytes;
        if len > budget {
            return Err(OutboxError::AnswerTooLarge { len, budget });
        }
        let max_answers = self.cfg.max_answers;
        let limit = self.cfg.remember_ids;
        self.write(|t| {
            let known = t.answers.get(id)?.is_some()
                || t.states.get(id)?.map(|g| g.value().0) == Some(EscalationState::Answered.tag());
            if known {
                t.add(META_DUPLICATES, 1)?;
                return Ok(AnswerStored::Duplicate);
            }
            if t.unqueue(id)?.is_some() {
                t.add(META_RETIRED, 1)?;
            } else if t.states.get(id)?.is_none() {
                return Ok(AnswerStored::Unknown);
            }
            t.remember(id, EscalationState::Answered, wall_ms(), limit)?;
            let seq = t.next_seq()?;
            t.answers.insert(id, answer)?;
            t.answer_order.insert(seq, id)?;
            t.add(META_ANSWER_BYTES, len)?;
            while t.answer_order.len()? > max_answers || t.meta(META_ANSWER_BYTES)? > budget {
                let Some(old) = t
                    .answer_order
                    .pop_first()?
                    .map(|(_, v)| v.value().to_string())
                else {
                    break;
                };
                let size = t.answers.remove(old.as_str())?.map(|g| g.value().len());
                if let Some(size) = size {
                    t.sub(META_ANSWER_BYTES, size as u64)?;
                }
            }
            Ok(AnswerStored::New)
        })
    }

    /// The stored answer to `id`, if any (answers are bounded; the oldest
    /// may be gone).
    pub fn answer(&self, id: &str) -> Result<Option<Vec<u8>>, OutboxError> {
        let txn = self.db.begin_read()?;
        let answers = txn.open_table(ANSWERS)?;
        let out = answers.get(id)?.map(|g| g.value().to_vec());
        Ok(out)
    }

    /// The device-only bytes stored with escalation `id`, while the id is
    /// queued or remembered.
    pub fn local(&self, id: &str) -> Result<Option<Vec<u8>>, OutboxError> {
        let txn = self.db.begin_read()?;
        let local = txn.open_table(LOCAL)?;
        let out = local.get(id)?.map(|g| g.value().to_vec());
        Ok(out)
    }

    /// Where the escalation `id` stands, or `None` when the id is unknown
    /// or no longer remembered.
    pub fn state(&self, id: &str) -> Result<Option<EscalationState>, OutboxError> {
        let txn = self.db.begin_read()?;
        let records = txn.open_table(RECORDS)?;
        let states = txn.open_table(STATES)?;
        let answers = txn.open_table(ANSWERS)?;
        let dead = txn.open_table(DEAD)?;
        lookup_state(&records, &states, &answers, &dead, id)
    }

    /// The dead letters kept, newest first, at most `limit`.
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, OutboxError> {
        let txn = self.db.begin_read()?;
        let order = txn.open_table(DEAD_ORDER)?;
        let dead = txn.open_table(DEAD)?;
        let mut out = Vec::new();
        for entry in order.iter()?.rev() {
            if out.len() >= limit {
                break;
            }
            let (_, v) = entry?;
            let id = v.value();
            let Some(guard) = dead.get(id)? else {
                continue;
            };
            let d: StoredDead = decode(guard.value(), "dead", id)?;
            out.push(DeadLetter {
                record: d.record.into_record(id),
                code: d.code,
                failed_ms: d.failed_ms,
            });
        }
        Ok(out)
    }

    /// Depth, bytes and the persistent counters.
    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let txn = self.db.begin_read()?;
        let records = txn.open_table(RECORDS)?;
        let meta = txn.open_table(META)?;
        let get = |k: &str| -> Result<u64, OutboxError> {
            Ok(meta.get(k)?.map(|g| g.value()).unwrap_or(0))
        };
        Ok(OutboxStats {
            depth: records.len()?,
            bytes: get(META_BYTES)?,
            expired_total: get(META_EXPIRED)?,
            dead_total: get(META_DEAD)?,
            retired_total: get(META_RETIRED)?,
            duplicates_total: get(META_DUPLICATES)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn esc(id: &str, priority: u8, created_ms: u64, deadline_ms: u64, len: usize) -> Escalation {
        Escalation {
            id: id.to_string(),
            created_ms,
            deadline_ms,
            priority,
            payload: vec![b'x'; len],
            local: Vec::new(),
        }
    }

    fn ids(records: &[Record]) -> Vec<&str> {
        records.iter().map(|r| r.id.as_str()).collect()
    }

    fn open(dir: &tempfile::TempDir, cfg: OutboxConfig) -> Outbox {
        Outbox::open(dir.path().join("outbox.redb"), cfg).unwrap()
    }

    const FAR: u64 = 10_000_000;

    #[test]
    fn records_survive_close_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let ob = open(&dir, OutboxConfig::default());
            let mut e = esc("a", 1, 10, FAR, 0);
            e.payload = br#"{"q":"pump P-101 cavitating"}"#.to_vec();
            assert_eq!(ob.enqueue(&e).unwrap(), Enqueued::Accepted);
            assert_eq!(
                ob.enqueue(&esc("b", 2, 11, FAR, 5)).unwrap(),
                Enqueued::Accepted
            );
        }
        let ob = open(&dir, OutboxConfig::default());
        let pending = ob.pending(0, 10).unwrap();
        assert_eq!(ids(&pending), ["b", "a"]);
        assert_eq!(pending[1].payload, br#"{"q":"pump P-101 cavitating"}"#);
        assert_eq!(pending[1].created_ms, 10);
        assert_eq!(pending[1].deadline_ms, FAR);
        let s = ob.stats().unwrap();
        assert_eq!((s.depth, s.bytes), (2, 29 + 5));
    }

    const CRASH_CHILD_ENV: &str = "OUTBOX_TEST_CRASH_CHILD_PATH";

    /// Run only as a child of `writes_are_durable_without_a_clean_close`:
    /// writes, then exits without running any destructor, as a crash would.
    #[test]
    #[ignore = "child process of writes_are_durable_without_a_clean_close"]
    fn crash_child() {
        let Ok(path) = std::env::var(CRASH_CHILD_ENV) else {
            return;
        };
        let ob = Outbox::open(&path, OutboxConfig::default()).unwrap();
        ob.enqueue(&esc("survivor", 3, 1, FAR, 7)).unwrap();
        ob.enqueue(&esc("retired", 3, 2, FAR, 7)).unwrap();
        ob.retire("retired").unwrap();
        ob.enqueue(&esc("answered", 3, 3, FAR, 7)).unwrap();
        assert_eq!(
            ob.store_answer("answered", b"ok").unwrap(),
            AnswerStored::New
        );
        std::process::exit(0);
    }

    #[test]
    fn writes_are_durable_without_a_clean_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.redb");
        let tests_module = module_path!()
            .split_once("::")
            .map_or(module_path!(), |(_, rest)| rest);
        // Under an emulator (cross-target tests) the child runs through it too.
        let exe = std::env::current_exe().unwrap();
        let mut cmd = match std::env::var("SLMD_TEST_RUNNER") {
            Ok(runner) if !runner.trim().is_empty() => {
                let mut parts = runner.split_whitespace();
                let mut c = std::process::Command::new(parts.next().unwrap_or("env"));
                c.args(parts).arg(&exe);
                c
            }
            _ => std::process::Command::new(&exe),
        };
        let status = cmd
            .args([
                format!("{tests_module}::crash_child").as_str(),
                "--exact",
                "--ignored",
                "--test-threads=1",
            ])
            .env(CRASH_CHILD_ENV, &path)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let ob = Outbox::open(&path, OutboxConfig::default()).unwrap();
        assert_eq!(ids(&ob.pending(0, 10).unwrap()), ["survivor"]);
        assert_eq!(ob.state("retired").unwrap(), Some(EscalationState::Sent));
        assert_eq!(ob.answer("answered").unwrap().as_deref(), Some(&b"ok"[..]));
        // One retired by its PUBACK, one by its answer.
        assert_eq!(ob.stats().unwrap().retired_total, 2);
    }

    #[test]
    fn duplicates_are_reported_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let ob = open(&dir, OutboxConfig::default());
        assert_eq!(
            ob.enqueue(&esc("a", 1, 1, FAR, 10)).unwrap(),
            Enqueued::Accepted
        );
        assert_eq!(
            ob.enqueue(&esc("a", 9, 2, FAR, 99)).unwrap(),
            Enqueued::Duplicate(EscalationState::Queued)
        );
        let s = ob.stats().unwrap();
        assert_eq!((s.depth, s.bytes, s.duplicates_total), (1, 10, 1));
        assert_eq!(ob.pending(0, 10).unwrap()[0].priority, 1);
        assert!(ob.retire("a").unwrap());
        drop(ob);
        let ob = open(&dir, OutboxConfig::default());
        assert_eq!(
            ob.enqueue(&esc("a", 1, 3, FAR, 10)).unwrap(),
            Enqueued::Duplicate(EscalationState::Sent)
        );
        assert_eq!(ob.stats().unwrap().depth, 0);
        assert_eq!(ob.stats().unwrap().duplicates_total, 2);
    }

    #[test]
    fn retire_removes_from_pending_once() {
        let dir = tempfile::tempdir().unwrap();
        let ob = open(&dir, OutboxConfig::default());
        ob.enqueue(&esc("a", 1, 1, FAR, 10)).unwrap();
        ob.enqueue(&esc("b", 1, 2, FAR, 10)).unwrap();
        assert!(ob.retire("a").unwrap());
        assert!(!ob.retire("a").unwrap());
        assert!(!ob.retire("never-seen").unwrap());
        assert_eq!(ids(&ob.pending(0, 10).unwrap()), ["b"]);
        let s = ob.stats().unwrap();
        assert_eq!((s.depth, s.bytes, s.retired_total), (1, 10, 1));
        assert_eq!(ob.state("a").unwrap(), Some(EscalationState::Sent));
        assert_eq!(ob.state("never-seen").unwrap(), None);
    }

    #[test]
    fn byte_budget_refuses_with_full() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = OutboxConfig {
            max_bytes: 100,
            ..OutboxConfig::default()
        };
        let ob = open(&dir, cfg);
        ob.enqueue(&esc("a", 1, 1, FAR, 60)).unwrap();
        match ob.enqueue(&esc("b", 1, 2, FAR, 50)) {
            Err(OutboxError::Full {
                needed,
                queued,
                budget,
            }) => assert_eq!((needed, queued, budget), (50, 60, 100)),
            other => panic!("{other:?}"),
        }
        assert_eq!(ob.state("b").unwrap(), None);
        assert!(matches!(
            ob.enqueue(&esc("huge", 1, 2, FAR, 101)),
            Err(OutboxError::Full { .. })
        ));
        assert_eq!(
            ob.enqueue(&esc("c", 1, 3, FAR, 40)).unwrap(),
            Enqueued::Accepted
        );
        assert!(ob.retire("a").unwrap());
        assert_eq!(
            ob.enqueue(&esc("b", 1, 4, FAR, 50)).unwrap(),
            Enqueued::Accepted
        );
        assert_eq!(ob.stats().unwrap().bytes, 90);
    }

    #[test]
    fn expiry_removes_counts_and_remembers() {
        let dir = tempfile::tempdir().unwrap();
        {
            let ob = open(&dir, OutboxConfig::default());
            ob.enqueue(&esc("old", 5, 0, 1000, 10)).unwrap();
            ob.enqueue(&esc("new", 1, 0, 2000, 10)).unwrap();
            assert_eq!(ids(&ob.pending(999, 10).unwrap()), ["old", "new"]);
            assert_eq!(ids(&ob.pending(1000, 10).unwrap()), ["new"]);
            assert_eq!(ob.expire(1500).unwrap(), 1);
            assert_eq!(ob.expire(1500).unwrap(), 0);
            assert_eq!(ob.state("old").unwrap(), Some(EscalationState::Expired));
            assert!(!ob.retire("old").unwrap());
        }
        let ob = open(&dir, OutboxConfig::default());
        let s = ob.stats().unwrap();
        assert_eq!((s.depth, s.bytes, s.expired_total), (1, 10, 1));
        assert_eq!(ob.state("old").unwrap(), Some(EscalationState::Expired));
        assert_eq!(
            ob.enqueue(&esc("old", 5, 0, 9000, 10)).unwrap(),
            Enqueued::Duplicate(EscalationState::Expired)
        );
        assert_eq!(ob.expire(2000).unwrap(), 1);
        assert_eq!(ob.stats().unwrap().expired_total, 2);
        assert_eq!(ob.stats().unwrap().bytes, 0);
    }

    #[test]
    fn dead_letter_after_max_refusals_does_not_block_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = OutboxConfig {
            max_attempts: 3,
            ..OutboxConfig::default()
        };
        let ob = open(&dir, cfg.clone());
        ob.enqueue(&esc("poison", 9, 1, FAR, 10)).unwrap();
        ob.enqueue(&esc("next", 1, 2, FAR, 10)).unwrap();
        assert_eq!(
            ob.refused("poison", 0x87).unwrap(),
            Refusal::Retry { attempts: 1 }
        );
        assert_eq!(
            ob.refused("poison", 0x97).unwrap(),
            Refusal::Retry { attempts: 2 }
        );
        let pending = ob.pending(0, 1).unwrap();
        assert_eq!((pending[0].id.as_str(), pending[0].attempts), ("poison", 2));
        assert_eq!(
            ob.refused("poison", 0x99).unwrap(),
            Refusal::DeadLettered { attempts: 3 }
        );
        assert_eq!(ids(&ob.pending(0, 1).unwrap()), ["next"]);
        assert_eq!(ob.refused("poison", 0x87).unwrap(), Refusal::NotQueued);
        assert!(matches!(
            ob.refused("next", 0x10),
            Err(OutboxError::NotRefusal { code: 0x10 })
        ));
        drop(ob);
        let ob = open(&dir, cfg);
        let dead = ob.dead_letters(10).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].record.id, "poison");
        assert_eq!(dead[0].record.attempts, 3);
        assert_eq!(dead[0].code, 0x99);
        let s = ob.stats().unwrap();
        assert_eq!((s.depth, s.bytes, s.dead_total), (1, 10, 1));
        assert_eq!(ob.state("poison").unwrap(), Some(EscalationState::Failed));
        assert_eq!(
            ob.enqueue(&esc("poison", 9, 3, FAR, 10)).unwrap(),
            Enqueued::Duplicate(EscalationState::Failed)
        );
    }

    #[test]
    fn dead_letters_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = OutboxConfig {
            max_attempts: 1,
            max_dead: 2,
            ..OutboxConfig::default()
        };
        let ob = open(&dir, cfg);
        for id in ["d1", "d2", "d3"] {
            ob.enqueue(&esc(id, 1, 1, FAR, 1)).unwrap();
            assert_eq!(
                ob.refused(id, 0x80).unwrap(),
                Refusal::DeadLettered { attempts: 1 }
            );
        }
        let dead = ob.dead_letters(10).unwrap();
        let ids: Vec<&str> = dead.iter().map(|d| d.record.id.as_str()).collect();
        assert_eq!(ids, ["d3", "d2"]);
        assert_eq!(ob.stats().unwrap().dead_total, 3);
        assert_eq!(ob.state("d1").unwrap(), Some(EscalationState::Failed));
    }

    #[test]
    fn answers_are_stored_once_and_retire_the_record() {
        let dir = tempfile::tempdir().unwrap();
        {
            let ob = open(&dir, OutboxConfig::default());
            ob.enqueue(&esc("q1", 1, 1, FAR, 10)).unwrap();
            assert_eq!(
                ob.store_answer("q1", b"replace the seal").unwrap(),
                AnswerStored::New
            );
            assert_eq!(
                ob.store_answer("q1", b"something else").unwrap(),
                AnswerStored::Duplicate
            );
            assert_eq!(
                ob.answer("q1").unwrap().as_deref(),
                Some(&b"replace the seal"[..])
            );
            assert!(ob.pending(0, 10).unwrap().is_empty());
            assert!(!ob.retire("q1").unwrap());
            let s = ob.stats().unwrap();
            assert_eq!(
                (s.depth, s.bytes, s.retired_total, s.duplicates_total),
                (0, 0, 1, 1)
            );
        }
        let ob = open(&dir, OutboxConfig::default());
        assert_eq!(ob.state("q1").unwrap(), Some(EscalationState::Answered));
        assert_eq!(
            ob.answer("q1").unwrap().as_deref(),
            Some(&b"replace the seal"[..])
        );
        assert_eq!(
            ob.store_answer("q1", b"late copy").unwrap(),
            AnswerStored::Duplicate
        );
        assert_eq!(ob.answer("nope").unwrap(), None);
        // An answer to an escalation this outbox never had is not kept.
        assert_eq!(
            ob.store_answer("nope", b"stray").unwrap(),
            AnswerStored::Unknown
        );
        assert_eq!(ob.answer("nope").unwrap(), None);
        assert_eq!(ob.state("nope").unwrap(), None);
    }

    #[test]
    fn answers_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = OutboxConfig {
            max_answers: 2,
            max_answer_bytes: 10,
            ..OutboxConfig::default()
        };
        let ob = open(&dir, cfg);
        for (n, id) in ["a1", "a2", "a3", "a4", "a5"].into_iter().enumerate() {
            ob.enqueue(&esc(id, 1, n as u64, FAR, 4)).unwrap();
        }
        assert_eq!(ob.store_answer("a1", b"1234").unwrap(), AnswerStored::New);
        assert_eq!(ob.store_answer("a2", b"1234").unwrap(), AnswerStored::New);
        assert_eq!(ob.store_answer("a3", b"1234").unwrap(), AnswerStored::New);
        assert_eq!(ob.answer("a1").unwrap(), None);
        assert!(ob.answer("a3").unwrap().is_some());
        assert_eq!(
            ob.store_answer("a4", b"123456789").unwrap(),
            AnswerStored::New
        );
        assert_eq!(ob.answer("a2").unwrap(), None);
        assert_eq!(ob.answer("a3").unwrap(), None);
        assert!(ob.answer("a4").unwrap().is_some());
        assert_eq!(ob.state("a1").unwrap(), Some(EscalationState::Answered));
        assert_eq!(
            ob.store_answer("a1", b"again").unwrap(),
            AnswerStored::Duplicate
        );
        assert!(matches!(
            ob.store_answer("a5", b"12345678901"),
            Err(OutboxError::AnswerTooLarge {
                len: 11,
                budget: 10
            })
        ));
    }

    #[test]
    fn pending_orders_by_priority_then_age_and_honours_limit() {
        let dir = tempfile::tempdir().unwrap();
        let ob = open(&dir, OutboxConfig::default());
        ob.enqueue(&esc("low-old", 1, 100, FAR, 1)).unwrap();
        ob.enqueue(&esc("high-new", 200, 300, FAR, 1)).unwrap();
        ob.enqueue(&esc("high-old", 200, 50, FAR, 1)).unwrap();
        ob.enqueue(&esc("mid", 7, 10, FAR, 1)).unwrap();
        ob.enqueue(&esc("top", 255, 999, FAR, 1)).unwrap();
        ob.enqueue(&esc("zero", 0, 0, FAR, 1)).unwrap();
        assert_eq!(
            ids(&ob.pending(0, 10).unwrap()),
            ["top", "high-old", "high-new", "mid", "low-old", "zero"]
        );
        assert_eq!(ids(&ob.pending(0, 2).unwrap()), ["top", "high-old"]);
        assert!(ob.pending(0, 0).unwrap().is_empty());
    }

    #[test]
    fn garbage_file_is_a_typed_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.redb");
        std::fs::write(
            &path,
            b"this is not a database, just some text\n".repeat(200),
        )
        .unwrap();
        match Outbox::open(&path, OutboxConfig::default()) {
            Err(OutboxError::Corrupt { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{other:?}"),
        }
        let msg = Outbox::open(&path, OutboxConfig::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");

        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            Outbox::open(&path, OutboxConfig::default()),
            Err(OutboxError::Corrupt { .. })
        ));
    }

    /// Damage at random places (fixed seed): every open ends in an outbox
    /// or a typed error. Some of this damage makes redb panic while it
    /// loads the file; the check turns that into `Corrupt`,
    /// which is what keeps a release build (panics abort) from a crash loop.
    /// Here the check runs in this process under `catch_unwind`.
    #[test]
    fn random_damage_never_escapes_as_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.redb");
        {
            let ob = Outbox::open(&path, OutboxConfig::default()).unwrap();
            for i in 0..40u64 {
                ob.enqueue(&esc(&format!("r{i}"), 1, i, FAR, 300)).unwrap();
            }
            for i in 0..10u64 {
                ob.retire(&format!("r{i}")).unwrap();
            }
        }
        let clean = std::fs::read(&path).unwrap();
        let mut seed = 12345u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut opened, mut corrupt, mut failed_check) = (0, 0, 0);
        for _ in 0..300 {
            let mut bytes = clean.clone();
            // In u64, so 32-bit targets damage the same places.
            let start = (rnd() % bytes.len() as u64) as usize;
            let end = (start + 1 + (rnd() % 64) as usize).min(bytes.len());
            for b in &mut bytes[start..end] {
                *b = rnd() as u8;
            }
            std::fs::write(&path, &bytes).unwrap();
            match Outbox::open(&path, OutboxConfig::default()) {
                Ok(_) => opened += 1,
                Err(OutboxError::Corrupt { reason, .. }) => {
                    corrupt += 1;
                    failed_check += usize::from(reason.contains("internal consistency"));
                }
                Err(e) => panic!("damage at {start}..{end}: {e}"),
            }
        }
        eprintln!("{opened} opened, {corrupt} refused ({failed_check} by a caught panic)");
        assert_eq!(opened + corrupt, 300);
        assert!(corrupt > 0, "no damage was noticed");
    }

    #[test]
    fn damaged_outbox_files_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.redb");
        let build = || {
            let _ = std::fs::remove_file(&path);
            let ob = Outbox::open(&path, OutboxConfig::default()).unwrap();
            for i in 0..20u64 {
                ob.enqueue(&esc(&format!("r{i}"), 1, i, FAR, 100)).unwrap();
            }
        };
        build();
        let len = std::fs::metadata(&path).unwrap().len();
        // A truncated file is extended and verified whole: where the cut
        // took only free pages every record is there; where it took data,
        // the file is refused. Some truncations make redb panic while it
        // loads the file; the check catches that and refuses the file.
        let mut caught = 0;
        for cut in [400, 4096, len / 2, len - 1] {
            build();
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(cut).unwrap();
            drop(f);
            match Outbox::open(&path, OutboxConfig::default()) {
                Err(OutboxError::Corrupt { path: p, reason }) => {
                    assert_eq!(p, path);
                    caught += usize::from(reason.contains("internal consistency"));
                }
                Ok(ob) if cut == len - 1 => assert_eq!(ob.stats().unwrap().depth, 20),
                other => panic!("truncated to {cut}: {other:?}"),
            }
        }
        assert!(
            caught > 0,
            "no truncation made the store panic (a caught panic is tested here)"
        );
        // Without verification a short file is refused, not extended.
        build();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 1).unwrap();
        drop(f);
        let cfg = OutboxConfig {
            verify_on_open: false,
            ..OutboxConfig::default()
        };
        assert!(matches!(
            Outbox::open(&path, cfg),
            Err(OutboxError::Corrupt { reason, .. }) if reason.contains("shorter")
        ));
        // Damage the commit slots of the header.
        build();
        let mut bytes = std::fs::read(&path).unwrap();
        for b in &mut bytes[64..320] {
            *b = b.wrapping_mul(31).wrapping_add(7);
        }
        std::fs::write(&path, &bytes).unwrap();
        assert!(Outbox::open(&path, OutboxConfig::default()).is_err());
    }

    #[test]
    fn a_damaged_file_is_set_aside_and_a_new_outbox_started_keeping_three() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.redb");
        let mut aside = Vec::new();
        for round in 0..5 {
            std::fs::write(&path, format!("not a database {round}\n").repeat(100)).unwrap();
            let (ob, moved) = Outbox::open_or_set_aside(&path, OutboxConfig::default()).unwrap();
            ob.enqueue(&esc("r", 1, 1, FAR, 10)).unwrap();
            let moved = moved.expect("set aside");
            assert!(std::fs::read(&moved)
                .unwrap()
                .starts_with(b"not a database"));
            aside.push(moved);
            drop(ob);
            // A sound file is opened as it is.
            let (ob, moved) = Outbox::open_or_set_aside(&path, OutboxConfig::default()).unwrap();
            assert_eq!((ob.stats().unwrap().depth, moved), (1, None));
            std::thread::sleep(std::time::Duration::from_millis(3));
        }
        let kept: Vec<bool> = aside.iter().map(|p| p.exists()).collect();
        assert_eq!(kept, [false, false, true, true, true]);
    }

    #[test]
    fn a_half_created_outbox_beside_the_file_is_removed_and_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.redb");
        let staging = dir.path().join("outbox.redb.new");
        // A cut while the outbox was first made: only the staging file.
        std::fs::write(&staging, vec![0u8; 8192]).unwrap();
        let ob = Outbox::open(&path, OutboxConfig::default()).unwrap();
        assert!(!staging.exists());
        ob.enqueue(&esc("r", 1, 1, FAR, 10)).unwrap();
        drop(ob);
        std::fs::write(&staging, b"left over").unwrap();
        let ob = Outbox::open(&path, OutboxConfig::default()).unwrap();
        assert_eq!(ob.stats().unwrap().depth, 1);
        assert!(!staging.exists());
    }

    #[test]
    fn empty_file_becomes_a_new_outbox_and_second_handle_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.redb");
        std::fs::write(&path, b"").unwrap();
        let ob = Outbox::open(&path, OutboxConfig::default()).unwrap();
        assert_eq!(ob.stats().unwrap(), OutboxStats::default());
        assert!(matches!(
            Outbox::open(&path, OutboxConfig::default()),
            Err(OutboxError::Locked { .. })
        ));
    }

    #[test]
    fn foreign_redb_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut t = txn
                    .open_table(TableDefinition::<u64, u64>::new("records"))
                    .unwrap();
                t.insert(1, 2).unwrap();
            }
            txn.commit().unwrap();
        }
        match Outbox::open(&path, OutboxConfig::default()) {
            Err(OutboxError::Corrupt { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn states_survive_reopen_through_each_transition() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = OutboxConfig {
            max_attempts: 1,
            ..OutboxConfig::default()
        };
        {
            let ob = open(&dir, cfg.clone());
            for id in ["queued", "sent", "answered", "expired", "failed"] {
                let deadline = if id == "expired" { 100 } else { FAR };
                ob.enqueue(&esc(id, 1, 1, deadline, 3)).unwrap();
            }
        }
        {
            let ob = open(&dir, cfg.clone());
            assert_eq!(ob.state("sent").unwrap(), Some(EscalationState::Queued));
            assert!(ob.retire("sent").unwrap());
            assert_eq!(
                ob.store_answer("answered", b"ok").unwrap(),
                AnswerStored::New
            );
            assert_eq!(ob.expire(100).unwrap(), 1);
            ob.refused("failed", 0x80).unwrap();
        }
        let ob = open(&dir, cfg);
        let want = [
            ("queued", EscalationState::Queued),
            ("sent", EscalationState::Sent),
            ("answered", EscalationState::Answered),
            ("expired", EscalationState::Expired),
            ("failed", EscalationState::Failed),
        ];
        for (id, state) in want {
            assert_eq!(ob.state(id).unwrap(), Some(state), "{id}");
        }
        assert_eq!(
            ob.store_answer("sent", b"late answer").unwrap(),
            AnswerStored::New
        );
        assert_eq!(ob.state("sent").unwrap(), Some(EscalationState::Answered));
        assert_eq!(ids(&ob.pending(0, 10).unwrap()), ["queued"]);
        let json = serde_json::to_string(&EscalationState::Answered).unwrap();
        assert_eq!(json, "\"answered\"");
    }

    #[test]
    fn memory_of_finished_ids_is_bounded_by_count_and_age() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = OutboxConfig {
            remember_ids: 2,
            remember_ms: 1000,
            ..OutboxConfig::default()
        };
        let ob = open(&dir, cfg);
        for id in ["a", "b", "c"] {
            ob.enqueue(&esc(id, 1, 1, FAR, 1)).unwrap();
            assert!(ob.retire(id).unwrap());
        }
        assert_eq!(ob.state("a").unwrap(), None);
        assert_eq!(ob.state("c").unwrap(), Some(EscalationState::Sent));
        assert_eq!(
            ob.enqueue(&esc("a", 1, 1, FAR, 1)).unwrap(),
            Enqueued::Accepted
        );
        assert!(ob.retire("a").unwrap());
        ob.expire(wall_ms() + 60_000).unwrap();
        for id in ["a", "b", "c"] {
            assert_eq!(ob.state(id).unwrap(), None, "{id}");
        }
    }

    #[test]
    fn invalid_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ob = open(&dir, OutboxConfig::default());
        assert!(matches!(
            ob.enqueue(&esc("", 1, 1, FAR, 1)),
            Err(OutboxError::InvalidId(_))
        ));
        assert!(matches!(
            ob.enqueue(&esc(&"x".repeat(65), 1, 1, FAR, 1)),
            Err(OutboxError::InvalidId(_))
        ));
        assert_eq!(
            ob.enqueue(&esc(&"x".repeat(64), 1, 1, FAR, 1)).unwrap(),
            Enqueued::Accepted
        );
        assert!(matches!(
            ob.enqueue(&esc("t", 1, 5, 5, 1)),
            Err(OutboxError::InvalidDeadline { .. })
        ));
        let bad = OutboxConfig {
            max_attempts: 0,
            ..OutboxConfig::default()
        };
        assert!(matches!(
            Outbox::open(dir.path().join("other.redb"), bad),
            Err(OutboxError::Config(_))
        ));
    }

    #[test]
    fn usable_from_several_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Outbox>();
        let dir = tempfile::tempdir().unwrap();
        let ob = Arc::new(open(&dir, OutboxConfig::default()));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let ob = Arc::clone(&ob);
                std::thread::spawn(move || {
                    for i in 0..5 {
                        let id = format!("t{t}-{i}");
                        ob.enqueue(&esc(&id, 1, i, FAR, 2)).unwrap();
                        ob.enqueue(&esc("shared", 1, i, FAR, 2)).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let s = ob.stats().unwrap();
        assert_eq!((s.depth, s.bytes, s.duplicates_total), (21, 42, 19));
    }

    #[test]
    fn config_deserializes_with_defaults() {
        let cfg: OutboxConfig = serde_json::from_str(r#"{"max_bytes": 1024}"#).unwrap();
        assert_eq!(cfg.max_bytes, 1024);
        assert_eq!(cfg.max_attempts, OutboxConfig::default().max_attempts);
    }

    #[test]
    fn local_bytes_survive_a_reopen_and_go_when_the_id_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.redb");
        let cfg = OutboxConfig {
            remember_ids: 1,
            ..OutboxConfig::default()
        };
        {
            let ob = Outbox::open(&path, cfg.clone()).unwrap();
            let e = Escalation {
                local: b"map".to_vec(),
                ..esc("a", 1, 1, FAR, 4)
            };
            ob.enqueue(&e).unwrap();
        }
        let ob = Outbox::open(&path, cfg).unwrap();
        assert_eq!(ob.local("a").unwrap().as_deref(), Some(&b"map"[..]));
        assert!(ob.retire("a").unwrap());
        assert_eq!(ob.local("a").unwrap().as_deref(), Some(&b"map"[..]));
        ob.enqueue(&esc("b", 1, 1, FAR, 4)).unwrap();
        ob.retire("b").unwrap();
        assert_eq!(ob.local("a").unwrap(), None, "forgotten with its id");
    }

    #[test]
    fn sent_but_unanswered_records_can_be_queued_again_and_answered_ones_cannot() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(dir.path().join("o.redb"), OutboxConfig::default()).unwrap();
        ob.enqueue(&esc("a", 1, 1, FAR, 4)).unwrap();
        ob.enqueue(&esc("b", 1, 2, FAR, 4)).unwrap();
        assert!(ob.unanswered_before(u64::MAX, 10).unwrap().is_empty());
        ob.retire("a").unwrap();
        ob.retire("b").unwrap();
        ob.store_answer("b", b"done").unwrap();
        assert_eq!(ob.unanswered_before(u64::MAX, 10).unwrap(), ["a"]);
        assert!(
            ob.unanswered_before(0, 10).unwrap().is_empty(),
            "not yet due"
        );
        assert!(ob.requeue(&esc("a", 1, 3, FAR, 4)).unwrap());
        assert_eq!(ob.state("a").unwrap(), Some(EscalationState::Queued));
        assert_eq!(ids(&ob.pending(0, 10).unwrap()), ["a"]);
        assert!(!ob.requeue(&esc("b", 1, 3, FAR, 4)).unwrap(), "answered");
        assert!(
            !ob.requeue(&esc("a", 1, 3, FAR, 4)).unwrap(),
            "already queued"
        );
        ob.retire("a").unwrap();
        assert_eq!(ob.state("a").unwrap(), Some(EscalationState::Sent));
    }

    #[test]
    fn debug_does_not_print_payloads() {
        let e = Escalation {
            payload: b"confidential words".to_vec(),
            ..esc("a", 1, 1, FAR, 0)
        };
        let dbg = format!("{e:?}");
        assert!(
            !dbg.contains("confidential") && dbg.contains("payload_bytes: 18"),
            "{dbg}"
        );
    }
}
