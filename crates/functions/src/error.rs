//! What can go wrong when registering functions or reading logs. A failing *task* is not one of
//! these: it is an ASL error in the execution (see the crate documentation).

use std::path::PathBuf;

/// A registry or log error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A registry file cannot be read or is not valid; `detail` lists every problem.
    #[error("{detail}")]
    File {
        /// The registry file.
        path: PathBuf,
        /// What is wrong, naming the file.
        detail: String,
    },
    /// A function's configuration is not valid.
    #[error("{}", problems.join("; "))]
    Invalid {
        /// Every problem, each naming the function and the key.
        problems: Vec<String>,
    },
    /// No function has this name.
    #[error("function '{name}' does not exist")]
    NotFound {
        /// The name asked for.
        name: String,
    },
    /// A function with this name exists already.
    #[error("function '{name}' already exists")]
    AlreadyExists {
        /// The name.
        name: String,
    },
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(#[from] store::Error),
    /// A stored function or log cannot be read back.
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// Which record.
        what: String,
        /// What is wrong with it.
        detail: String,
    },
}
