//! The store database (`<store>/.db/db.sqlite`): connection settings and
//! schema migrations.
//!
//! A full disk is reported as such ([`Error::DiskFull`]), not as SQLite's
//! `disk I/O error`. Settings on every connection: WAL, `synchronous=FULL` (a commit is durable
//! before any root may point at what it registered), `foreign_keys=ON` (the
//! closure invariant lives in the schema), a one-hour busy timeout. Writers
//! use `BEGIN IMMEDIATE`. Migrations are the files of `store-schema/`,
//! applied in order, keyed on `PRAGMA user_version` (see its README).

use super::{Error, Result};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// The migrations, in order. Append only.
const MIGRATIONS: &[&str] = &[
    include_str!("../../store-schema/0001_init.sql"),
    include_str!("../../store-schema/0002_drop_unused.sql"),
    include_str!("../../store-schema/0003_signatures.sql"),
];

pub(crate) fn err(what: &str) -> impl FnOnce(rusqlite::Error) -> Error {
    let what = what.to_string();
    move |source| Error::Db { what, source }
}

/// Opens (creating if needed) and migrates the database at `path`.
pub fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|source| Error::Db {
        what: format!("opening `{}`", path.display()),
        source,
    });
    let conn = conn.map_err(|e| on_full_disk(path, e))?;
    configure(&conn).map_err(|e| on_full_disk(path, e))?;
    migrate(&conn).map_err(|e| on_full_disk(path, e))?;
    Ok(conn)
}

/// A database error that a full disk caused becomes [`Error::DiskFull`]
/// naming the database. SQLite says `SQLITE_FULL` when a write hits
/// `ENOSPC`, but only `disk I/O error` (`SQLITE_IOERR_SHMSIZE`...) when
/// the `-shm` file cannot be grown, and `unable to open` when no file can
/// be created: those count as a full disk when its file system has (next
/// to) no space or no inodes left.
pub fn on_full_disk(path: &Path, e: Error) -> Error {
    classify(path, e, || file_system_full(path))
}

fn classify(path: &Path, e: Error, full: impl FnOnce() -> bool) -> Error {
    use rusqlite::ErrorCode as C;
    let Error::Db { what, source } = e else {
        return e;
    };
    let code = source.sqlite_error_code();
    let is_full = code == Some(C::DiskFull)
        || (matches!(code, Some(C::SystemIoFailure | C::CannotOpen)) && full());
    if is_full {
        Error::DiskFull {
            path: path.to_path_buf(),
            what,
            source,
        }
    } else {
        Error::Db { what, source }
    }
}

/// Whether the file system holding `path` has less than 1 MiB (what the
/// superuser may use, if that is us) or no inodes left.
fn file_system_full(path: &Path) -> bool {
    let dir = path.parent().unwrap_or(path);
    let Ok(st) = nix::sys::statvfs::statvfs(dir) else {
        return false;
    };
    let root = nix::unistd::geteuid().is_root();
    let (blocks, files) = if root {
        (st.blocks_free(), st.files_free())
    } else {
        (st.blocks_available(), st.files_available())
    };
    let bytes = blocks.saturating_mul(st.fragment_size());
    bytes < (1 << 20) || (st.files() > 0 && files == 0)
}

#[cfg(test)]
/// An in-memory database with the full schema (tests, dry runs).
pub fn open_in_memory() -> Result<Connection> {
    let conn = Connection::open_in_memory().map_err(err("opening an in-memory database"))?;
    configure(&conn)?;
    migrate(&conn)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(3600))
        .map_err(err("setting the busy timeout"))?;
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .map_err(err("reading the journal mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err("enabling WAL"))?;
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(err("setting synchronous=FULL"))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(err("enabling foreign keys"))?;
    Ok(())
}

fn user_version(conn: &Connection) -> Result<usize> {
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(err("reading the schema version"))?;
    Ok(usize::try_from(v).unwrap_or(0))
}

/// Applies every migration above `user_version`, all in one exclusive
/// transaction that re-reads the version first (so concurrent openers apply
/// each migration once, and a new store pays one commit, not one per
/// migration; a failing migration leaves the schema as it was).
pub fn migrate(conn: &Connection) -> Result<()> {
    let found = user_version(conn)?;
    if found > MIGRATIONS.len() {
        return Err(Error::SchemaTooNew {
            found,
            known: MIGRATIONS.len(),
        });
    }
    if found == MIGRATIONS.len() {
        return Ok(());
    }
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Exclusive)
        .map_err(err("starting a migration"))?;
    let start = user_version(&tx)?;
    for (v, migration) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(migration)
            .map_err(err(&format!("applying schema migration {}", v + 1)))?;
    }
    if start < MIGRATIONS.len() {
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX),
        )
        .map_err(err("recording the schema version"))?;
    }
    tx.commit().map_err(err("committing a migration"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(conn: &Connection) -> String {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok(format!(
                    "-- {} {}\n{}\n",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?.unwrap_or_default()
                ))
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    fn db_error(code: std::os::raw::c_int, message: &str) -> Error {
        Error::Db {
            what: "reading the journal mode".into(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                Some(message.into()),
            ),
        }
    }

    #[test]
    fn a_full_disk_is_named_with_the_database() {
        let path = Path::new("/st/.db/db.sqlite");
        // SQLITE_FULL is a full disk whatever the file system says.
        let e = classify(path, db_error(13, "database or disk is full"), || false);
        assert!(matches!(e, Error::DiskFull { .. }), "{e}");
        // SQLITE_IOERR_SHMSIZE (the -shm file cannot grow): full only when
        // the file system is.
        let shm = 4874;
        let e = classify(path, db_error(shm, "disk I/O error"), || true);
        assert_eq!(
            e.to_string(),
            "the disk holding the store database `/st/.db/db.sqlite` is full (while reading \
             the journal mode: disk I/O error): free some space and try again"
        );
        let e = classify(path, db_error(shm, "disk I/O error"), || false);
        assert!(matches!(e, Error::Db { .. }), "{e}");
        // Anything else is left alone.
        let e = classify(path, db_error(1, "no such table"), || true);
        assert!(matches!(e, Error::Db { .. }), "{e}");
    }

    #[test]
    fn schema_snapshot() {
        let conn = open_in_memory().unwrap();
        insta::assert_snapshot!(schema(&conn));
    }

    #[test]
    fn migrate_twice_is_a_no_op() {
        let conn = open_in_memory().unwrap();
        let before = schema(&conn);
        migrate(&conn).unwrap();
        assert_eq!(schema(&conn), before);
        assert_eq!(user_version(&conn).unwrap(), MIGRATIONS.len());
    }

    #[test]
    fn newer_schema_is_refused() {
        let conn = open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(migrate(&conn), Err(Error::SchemaTooNew { .. })));
    }

    #[test]
    fn closure_invariant_is_enforced_by_foreign_keys() {
        let conn = open_in_memory().unwrap();
        let insert = |id: i64, name: &str| {
            conn.execute(
                "INSERT INTO Objects (id, base_name, hash_part, kind, nar_sha256, nar_size, registered_at)
                 VALUES (?1, ?2, ?3, 'source', zeroblob(32), 1, 0)",
                rusqlite::params![id, name, format!("{:032}", id)],
            )
            .unwrap();
        };
        insert(1, "a");
        insert(2, "b");
        conn.execute("INSERT INTO Refs VALUES (2, 1)", []).unwrap();
        conn.execute("INSERT INTO Refs VALUES (2, 2)", []).unwrap();
        assert!(conn.execute("INSERT INTO Refs VALUES (1, 3)", []).is_err());
        assert!(
            conn.execute("DELETE FROM Objects WHERE id = 1", [])
                .is_err()
        );
        conn.execute("DELETE FROM Objects WHERE id = 2", [])
            .unwrap();
        conn.execute("DELETE FROM Objects WHERE id = 1", [])
            .unwrap();
    }
}
