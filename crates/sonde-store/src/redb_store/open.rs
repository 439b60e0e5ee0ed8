//! Opening the store: the data directory, the database file, its tables.
//! A file that does not open as a sonde store is never deleted, truncated or
//! written to by this crate (redb's own open may update the header of a valid
//! redb file, never its data).

use std::fs::{self, OpenOptions};
use std::io::{self, ErrorKind};
use std::path::Path;

use redb::{Database, DatabaseError, ReadableDatabase, StorageError, TableError, TableHandle};

use super::schema::{WriteTables, EVENTS};
use crate::error::{StorageContext, StoreError};

/// redb's page cache. Its default (1 GiB) is far more than an agent should hold.
const CACHE_BYTES: usize = 64 << 20;

/// Creates `dir` if needed and proves that files can be created in it. The
/// permission bits alone do not tell, as root bypasses them.
pub(super) fn ensure_writable_dir(dir: &Path) -> Result<(), StoreError> {
    let not_writable = |source| StoreError::NotWritable {
        dir: dir.to_path_buf(),
        source,
    };
    if fs::metadata(dir).is_ok_and(|meta| !meta.is_dir()) {
        return Err(not_writable(io::Error::new(
            ErrorKind::NotADirectory,
            "not a directory",
        )));
    }
    fs::create_dir_all(dir).map_err(not_writable)?;
    probe_write(dir).map_err(not_writable)
}

fn probe_write(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!(".sonde-write-probe.{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}

/// Opens the database at `path`, creating it if the file is missing or empty.
pub(super) fn open_database(path: &Path) -> Result<Database, StoreError> {
    Database::builder()
        .set_cache_size(CACHE_BYTES)
        .create(path)
        .map_err(|err| open_error(path, err))
}

fn open_error(path: &Path, err: DatabaseError) -> StoreError {
    match err {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            StoreError::InUse {
                path: path.to_path_buf(),
            }
        }
        DatabaseError::UpgradeRequired(_) => corrupt(path, err.to_string()),
        DatabaseError::Storage(StorageError::Corrupted(reason)) => corrupt(path, reason),
        DatabaseError::Storage(StorageError::Io(io)) => io_open_error(path, io),
        other => StoreError::storage("open the store file", other),
    }
}

fn io_open_error(path: &Path, err: io::Error) -> StoreError {
    match err.kind() {
        ErrorKind::InvalidData | ErrorKind::IsADirectory => corrupt(path, err.to_string()),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => StoreError::NotWritable {
            dir: path.parent().unwrap_or(path).to_path_buf(),
            source: err,
        },
        _ => StoreError::storage("open the store file", err),
    }
}

/// Creates the store's tables in a new database and checks that an existing
/// one is a sonde store.
pub(super) fn ensure_schema(db: &Database, path: &Path) -> Result<(), StoreError> {
    if holds_foreign_tables(db)? {
        return Err(corrupt(
            path,
            "a redb database without sonde's tables".to_string(),
        ));
    }
    let txn = db.begin_write().during("initialise the store")?;
    drop(WriteTables::open(&txn).map_err(|err| table_error(path, err))?);
    txn.commit().during("initialise the store")
}

/// Whether the database has tables but not sonde's: another program's file.
fn holds_foreign_tables(db: &Database) -> Result<bool, StoreError> {
    let txn = db.begin_read().during("list the store's tables")?;
    let names: Vec<String> = txn
        .list_tables()
        .during("list the store's tables")?
        .map(|table| table.name().to_string())
        .collect();
    Ok(!names.is_empty() && !names.iter().any(|name| name == EVENTS.name()))
}

fn table_error(path: &Path, err: TableError) -> StoreError {
    match err {
        TableError::Storage(err) => StoreError::storage("open the store's tables", err),
        other => corrupt(path, other.to_string()),
    }
}

fn corrupt(path: &Path, reason: String) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    }
}
