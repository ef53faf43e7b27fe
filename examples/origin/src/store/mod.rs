//! The origin's SQLite database: one file, one connection, every write of a request in one
//! transaction.
//!
//! One connection behind a mutex is plenty for a reference origin and makes concurrency easy to
//! reason about: requests touching the database run one at a time. Each write still runs in a
//! `BEGIN IMMEDIATE` transaction, and de-duplication rests on the idempotency table's primary key
//! inside that transaction, so the guarantees hold even if a second process opens the same file.
//! WAL mode lets readers (for example `sqlite3` on the file while debugging) work alongside, and
//! the busy timeout makes a locked database a short wait rather than an error.
//!
//! The schema is created on start (see [`schema`]). Submodules group queries by area: [`sync`]
//! for configuration sync (sections, module state, last-sync metadata, idempotency),
//! [`customers`] for customer records (idempotent create, read, list, versioned patch), and
//! [`nonces`] for the accepted edge attestation nonces (replay refusal), [`hooks`] for the
//! provider webhook deliveries the edge forwarded.

pub mod customers;
pub mod hooks;
pub mod nonces;
pub mod schema;
pub mod sync;

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::OriginError;

/// How long a write waits for a lock held by another connection before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The database.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating when missing) the database at `path` — `:memory:` for a throwaway one —
    /// creates the parent directory, sets WAL mode and the busy timeout, and brings the schema up
    /// to date.
    ///
    /// # Errors
    /// When the directory or the database cannot be created or migrated.
    pub fn open(path: &Path) -> Result<Self, OriginError> {
        let in_memory = path.as_os_str() == ":memory:";
        if !in_memory && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                OriginError::Storage(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if !in_memory {
            let mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(OriginError::Storage(format!(
                    "the database refused WAL mode (it is in {mode} mode)"
                )));
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Runs `f` with the connection, one caller at a time.
    ///
    /// A panic while the lock was held cannot leave a half-written change behind (an open
    /// transaction rolls back when dropped), so a poisoned lock is simply taken over.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, OriginError>,
    ) -> Result<T, OriginError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut conn)
    }
}
