//! Typed errors of the library.
//!
//! Every error that comes from user input names the file and, where there is one, the line
//! (1-based, counting the header) and says what was expected, so that the message alone is
//! enough to fix the input.

use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors raised while reading or validating crowd data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error (part of the message, so not also a `source`).
        cause: std::io::Error,
    },
    /// A file's content is malformed at a given line.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number (the header, if any, is line 1).
        line: u64,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A file's content is malformed as a whole (wrong shape, no rows, bad header).
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The data is inconsistent across files or with the requested configuration.
    #[error("{0}")]
    Invalid(String),
}

impl DataError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, cause: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            cause,
        }
    }

    /// A parse error on `path` at 1-based `line`.
    pub fn parse(path: &Path, line: u64, message: impl Into<String>) -> Self {
        DataError::Parse {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    /// A whole-file error on `path`.
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        DataError::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Errors of the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad or inconsistent input data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A configuration value is out of range or contradicts the data.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A parameter of an estimator (a field of its params; on the command line, the flag of
    /// the same name) has a value it cannot take.
    #[error("{param} = {value}: {expected}")]
    Param {
        /// The parameter's name, as the field of the params type (`batch_size`).
        param: &'static str,
        /// The value given.
        value: String,
        /// What it must be, or why it cannot be used here.
        expected: String,
    },
    /// Input arrays of the wrong shape (features of another width than the model's, …).
    #[error("{what} have {got} columns, the model was trained on {expected}")]
    Shape {
        /// What was given (`features`).
        what: &'static str,
        /// The width the model expects.
        expected: usize,
        /// The width given.
        got: usize,
    },
    /// A checkpoint directory is missing a file, or a file in it is corrupt.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The offending file or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The caller asked to stop ([`crate::progress::Progress::cancelled`]).
    #[error("interrupted after epoch {epoch}{}", saved_hint(saved))]
    Interrupted {
        /// The last finished epoch.
        epoch: usize,
        /// The checkpoint directory whose state now holds that epoch, if the run has one.
        saved: Option<PathBuf>,
    },
    /// A run directory already holds a run, and the caller neither resumes nor replaces it.
    #[error(
        "{} already holds a run: continue it with --resume, or replace it with --overwrite \
         (overwrite=True from Python; the old run is kept until the new one has saved its \
         first state)",
        dir.display()
    )]
    RunExists {
        /// The directory.
        dir: PathBuf,
    },
    /// Another process holds the run directory's write lock.
    #[error("{} is being written by process {pid}", dir.display())]
    Busy {
        /// The directory.
        dir: PathBuf,
        /// The writer's process id, as its lock file says (`?` if unreadable).
        pid: String,
    },
    /// Writing the run's outputs failed; the last complete state, if any, is kept.
    #[error("{cause}; {}", kept_hint(dir, *epoch))]
    WriteFailed {
        /// What failed.
        cause: Box<Error>,
        /// The checkpoint directory.
        dir: PathBuf,
        /// The epoch of the last complete state kept there (0: none).
        epoch: usize,
    },
    /// Training diverged (a non-finite loss or gradient).
    #[error("training diverged: {0}")]
    Diverged(String),
    /// An I/O error while writing outputs.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error (part of the message, so not also a `source`).
        cause: std::io::Error,
    },
}

fn saved_hint(saved: &Option<PathBuf>) -> String {
    match saved {
        Some(dir) => format!(
            "; its state is saved: resume with `conal train --resume --save-dir {}`",
            dir.display()
        ),
        None => String::new(),
    }
}

fn kept_hint(dir: &Path, epoch: usize) -> String {
    if epoch == 0 {
        format!(
            "no complete state of this run was saved in {}",
            dir.display()
        )
    } else {
        format!(
            "the last complete state (epoch {epoch}) is kept in {0}: resume with `conal train \
             --resume --save-dir {0}`",
            dir.display()
        )
    }
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            cause,
        }
    }

    /// A parameter error: `param` (a field name) cannot be `value`; `expected` says what it
    /// must be.
    pub fn param(
        param: &'static str,
        value: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        Error::Param {
            param,
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// A checkpoint error on `path`.
    pub fn checkpoint(path: &Path, message: impl Into<String>) -> Self {
        Error::Checkpoint {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
