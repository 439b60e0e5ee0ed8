use std::io;
use std::path::PathBuf;

/// Why the store could not do what was asked. Each message is one line that
/// says what went wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory cannot be created or written to.
    #[error(
        "data directory {} is not writable ({source}): choose another with --data-dir or fix its permissions",
        dir.display()
    )]
    NotWritable { dir: PathBuf, source: io::Error },

    /// The store file exists but is not a readable sonde store.
    #[error(
        "event store {} is corrupt or not a sonde store ({reason}); it was left untouched — move it aside to start a new store",
        path.display()
    )]
    Corrupt { path: PathBuf, reason: String },

    /// Another process holds the store open.
    #[error(
        "event store {} is in use by another process (is another sonde agent running?): stop it or choose another --data-dir",
        path.display()
    )]
    InUse { path: PathBuf },

    /// The storage engine failed while doing `action`.
    #[error(
        "event store failed to {action} ({source}); check free space and I/O errors on the disk holding the data directory"
    )]
    Storage {
        action: &'static str,
        #[source]
        source: Box<redb::Error>,
    },

    /// An event could not be encoded; a bug, not a problem with the disk.
    #[error("could not encode an event for the store ({0}); please report this as a sonde bug")]
    Encode(#[from] postcard::Error),
}

impl StoreError {
    /// A storage engine failure while doing `action`.
    pub(crate) fn storage(action: &'static str, err: impl Into<redb::Error>) -> Self {
        StoreError::Storage {
            action,
            source: Box::new(err.into()),
        }
    }
}

/// Attaches the action that failed to an error from the storage engine.
pub(crate) trait StorageContext<T> {
    fn during(self, action: &'static str) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> StorageContext<T> for Result<T, E> {
    fn during(self, action: &'static str) -> Result<T, StoreError> {
        self.map_err(|err| StoreError::storage(action, err))
    }
}
