//! One writer per checkpoint directory, and no run replaced by accident.
//!
//! A process that writes a directory (a training run, a fitted model's `save`) first takes
//! [`RunDir::claim`]:
//! - an exclusive advisory lock on `DIR/.lock` (the operating system's `flock`, through the
//!   standard library's `File::try_lock`), holding the writer's process id. A second writer
//!   stops at once with [`Error::Busy`]; a killed writer's lock goes with its process. Readers
//!   (`conal test`, `conal inspect`, `conal.load`) never take it.
//! - a check that the directory does not already hold a run ([`Error::RunExists`]) unless the
//!   writer resumes it or replaces it.
//!
//! Replacing ([`Claim::Overwrite`]) moves the old run's entries aside into a sibling folder
//! `.<name>.replaced-<pid>` and deletes them only once the new run has a complete state (a
//! training state, or its model); a new run that fails before that puts them back. If the
//! replacing process is killed first, the next writer of the directory does it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::checkpoint::files;
use crate::checkpoint::state::LATEST;
use crate::error::{Error, Result};

/// The lock file inside a run directory.
pub const LOCK: &str = ".lock";

/// What a writer means to do with a directory that may hold a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Start a run; refuse a directory that holds one.
    Fresh,
    /// Continue the run the directory holds (or start one if it holds none).
    Resume,
    /// Replace the run the directory holds, once the new one has a complete state.
    Overwrite,
}

/// The write lock on a run directory, and the replaced run set aside until the new one has a
/// complete state. Dropping it decides: a new run with a complete state drops the old one,
/// otherwise the old one comes back.
#[derive(Debug)]
pub struct RunDir {
    dir: PathBuf,
    /// Kept open: closing it releases the lock.
    _lock: File,
    /// The replaced run's entries, until the new run has a complete state.
    replaced: Option<PathBuf>,
    /// Set by [`RunDir::commit`]: the new run is complete.
    committed: bool,
    /// Whether a training state or model in the directory counts as complete (training
    /// runs) or only [`RunDir::commit`] does (saving a fitted model).
    state_counts: bool,
}

impl RunDir {
    /// Takes the write lock on `dir` (creating it) for a training run, and applies `claim`.
    pub fn claim(dir: &Path, claim: Claim) -> Result<Self> {
        Self::open(dir, claim, true)
    }

    /// As [`RunDir::claim`], for writing a finished model: only [`RunDir::commit`] makes the
    /// new contents replace the old.
    pub fn claim_for_save(dir: &Path, claim: Claim) -> Result<Self> {
        Self::open(dir, claim, false)
    }

    fn open(dir: &Path, claim: Claim, state_counts: bool) -> Result<Self> {
        if dir.exists() && !dir.is_dir() {
            return Err(Error::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(LOCK);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = lock.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(Error::Busy {
                    dir: dir.to_path_buf(),
                    pid: if pid.is_empty() {
                        "?".into()
                    } else {
                        pid.into()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let id = std::process::id();
        (|| {
            lock.set_len(0)?;
            lock.rewind()?;
            writeln!(lock, "{id}")?;
            lock.sync_all()
        })()
        .map_err(|e| Error::io(&path, e))?;
        let mut guard = RunDir {
            dir: dir.to_path_buf(),
            _lock: lock,
            replaced: None,
            committed: false,
            state_counts,
        };
        guard.settle_stale_replacements()?;
        remove_stale_temporaries(dir);
        if holds_run(dir) {
            match claim {
                Claim::Resume => {}
                Claim::Fresh => {
                    return Err(Error::RunExists {
                        dir: dir.to_path_buf(),
                    });
                }
                Claim::Overwrite => guard.set_aside()?,
            }
        }
        Ok(guard)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The new contents are complete: the replaced run, if any, is deleted now.
    pub fn commit(&mut self) {
        self.committed = true;
        if let Some(old) = self.replaced.take() {
            let _ = std::fs::remove_dir_all(old);
        }
    }

    /// The sibling folder a replaced run is moved to by process `pid`.
    fn replaced_dir(&self, pid: u32) -> PathBuf {
        let name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        self.dir.with_file_name(format!(".{name}.replaced-{pid}"))
    }

    /// Moves the run's entries into the replacement folder.
    fn set_aside(&mut self) -> Result<()> {
        let aside = self.replaced_dir(std::process::id());
        let _ = std::fs::remove_dir_all(&aside);
        std::fs::create_dir_all(&aside).map_err(|e| Error::io(&aside, e))?;
        self.replaced = Some(aside.clone());
        for name in run_entries(&self.dir) {
            let (from, to) = (self.dir.join(&name), aside.join(&name));
            // On failure, Drop puts back what was moved.
            std::fs::rename(&from, &to).map_err(|e| Error::io(&from, e))?;
        }
        tracing::info!(
            "{}: the previous run is set aside in {} until this one has saved a state",
            self.dir.display(),
            aside.display()
        );
        Ok(())
    }

    /// Replacement folders left by a replacing writer that was killed: its run is kept if
    /// it got as far as a complete state, else the replaced run comes back.
    fn settle_stale_replacements(&mut self) -> Result<()> {
        let Some(parent) = self.dir.parent().map(Path::to_path_buf) else {
            return Ok(());
        };
        let name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.replaced-");
        let parent = if parent.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            parent
        };
        let Ok(entries) = std::fs::read_dir(&parent) else {
            return Ok(());
        };
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if !n.starts_with(&prefix) {
                continue;
            }
            let aside = e.path();
            if has_complete_state(&self.dir) {
                let _ = std::fs::remove_dir_all(&aside);
            } else {
                tracing::warn!(
                    "{}: a run that was replacing it stopped before its first state; the \
                     previous run comes back from {}",
                    self.dir.display(),
                    aside.display()
                );
                restore(&self.dir, &aside)?;
            }
        }
        Ok(())
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let Some(aside) = self.replaced.take() else {
            // A save that did not complete leaves nothing half-written behind.
            if !self.committed && !self.state_counts {
                remove_run_entries(&self.dir);
            }
            return;
        };
        if self.committed || (self.state_counts && has_complete_state(&self.dir)) {
            let _ = std::fs::remove_dir_all(aside);
        } else if let Err(e) = restore(&self.dir, &aside) {
            tracing::error!(
                "could not put the replaced run back into {}: {e}; it is in {}",
                self.dir.display(),
                aside.display()
            );
        }
    }
}

/// Temporary files a writer that was stopped mid-write left (a second Ctrl-C exits at once,
/// a kill): never under a real name, so harmless, and removed here by the next writer, which
/// holds the lock. In the directory and its ensemble members' folders.
fn remove_stale_temporaries(dir: &Path) {
    let is_temporary = |name: &str| name.starts_with('.') && name.contains(".tmp-");
    let mut dirs = vec![dir.to_path_buf()];
    if let Ok(members) = std::fs::read_dir(dir.join("members")) {
        dirs.extend(members.flatten().map(|e| e.path()));
    }
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if is_temporary(&e.file_name().to_string_lossy()) {
                let p = e.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    }
}

fn remove_run_entries(dir: &Path) {
    for name in run_entries(dir) {
        let p = dir.join(&name);
        let _ = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
    }
}

/// Removes the new run's entries from `dir` and moves the replaced ones back from `aside`.
fn restore(dir: &Path, aside: &Path) -> Result<()> {
    remove_run_entries(dir);
    for name in run_entries(aside) {
        let (from, to) = (aside.join(&name), dir.join(&name));
        std::fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
    }
    let _ = std::fs::remove_dir_all(aside);
    Ok(())
}

/// The entries of `dir` that belong to a run (not the lock, not files of the user's).
fn run_entries(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_run_entry(n))
        .collect();
    names.sort();
    names
}

fn is_run_entry(name: &str) -> bool {
    [
        files::ARGS,
        files::MODEL,
        files::METRICS,
        files::WORKERS,
        LATEST,
        "members",
    ]
    .contains(&name)
        || name.starts_with("state-")
        || name.starts_with(".state-")
        || (name.starts_with('.') && name.contains(".tmp-"))
}

/// Whether `dir` holds a run (its configuration, model or training state).
pub fn holds_run(dir: &Path) -> bool {
    [files::ARGS, files::MODEL, LATEST, "members"]
        .iter()
        .any(|n| dir.join(n).exists())
}

/// Whether the run in `dir` has a complete training state or model (its own, or one of its
/// ensemble members').
fn has_complete_state(dir: &Path) -> bool {
    let complete = |d: &Path| d.join(LATEST).is_file() || d.join(files::MODEL).is_file();
    if complete(dir) {
        return true;
    }
    std::fs::read_dir(dir.join("members"))
        .map(|entries| entries.flatten().any(|e| complete(&e.path())))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn fresh_claim_refuses_a_run_and_a_second_writer() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let first = RunDir::claim(&dir, Claim::Fresh).unwrap();
        // The lock is per open file: a second claim in this process is refused as well.
        let busy = RunDir::claim(&dir, Claim::Resume).unwrap_err();
        let text = busy.to_string();
        assert!(
            text.contains(&format!(
                "is being written by process {}",
                std::process::id()
            )),
            "{text}"
        );
        drop(first);
        write(&dir, files::ARGS, "{}");
        let e = RunDir::claim(&dir, Claim::Fresh).unwrap_err();
        assert!(matches!(e, Error::RunExists { .. }), "{e}");
        assert!(e.to_string().contains("resume it, or replace it"), "{e}");
        RunDir::claim(&dir, Claim::Resume).unwrap();
    }

    #[test]
    fn overwrite_keeps_the_old_run_until_the_new_one_has_a_state() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        write(&dir, files::ARGS, "old");
        write(&dir, files::MODEL, "old model");
        write(&dir, "notes.txt", "the user's");
        // The new run fails before its first state: the old one comes back, whole.
        {
            let _claim = RunDir::claim(&dir, Claim::Overwrite).unwrap();
            assert!(!dir.join(files::MODEL).exists(), "set aside");
            write(&dir, files::ARGS, "new");
        }
        assert_eq!(
            std::fs::read_to_string(dir.join(files::ARGS)).unwrap(),
            "old"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join(files::MODEL)).unwrap(),
            "old model"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
            "the user's"
        );
        // The new run saves a state: the old one is gone.
        {
            let _claim = RunDir::claim(&dir, Claim::Overwrite).unwrap();
            write(&dir, files::ARGS, "new");
            write(&dir, LATEST, "state-000001");
        }
        assert_eq!(
            std::fs::read_to_string(dir.join(files::ARGS)).unwrap(),
            "new"
        );
        assert!(!dir.join(files::MODEL).exists());
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "no replacement folder left: {left:?}");
    }

    #[test]
    fn a_killed_replacement_is_settled_by_the_next_writer() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        write(&dir, files::ARGS, "new, no state");
        // What a replacing writer killed before its first state leaves.
        let aside = tmp.path().join(".run.replaced-999999");
        write(&aside, files::ARGS, "old");
        write(&aside, files::MODEL, "old model");
        let claim = RunDir::claim(&dir, Claim::Resume).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join(files::ARGS)).unwrap(),
            "old"
        );
        assert!(!aside.exists());
        drop(claim);
        // A save that fails leaves nothing behind; one that commits drops the replaced run.
        drop(RunDir::claim_for_save(&dir, Claim::Resume).unwrap());
        assert_eq!(std::fs::read_to_string(dir.join(files::ARGS)).ok(), None);
        write(&dir, files::ARGS, "old");
        write(&dir, files::MODEL, "old model");
        let mut claim = RunDir::claim_for_save(&dir, Claim::Overwrite).unwrap();
        write(&dir, files::ARGS, "saved");
        claim.commit();
        drop(claim);
        assert_eq!(
            std::fs::read_to_string(dir.join(files::ARGS)).unwrap(),
            "saved"
        );
        assert!(!dir.join(files::MODEL).exists());
    }

    #[test]
    fn the_next_writer_removes_temporaries_a_stopped_one_left() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        write(&dir, files::ARGS, "kept");
        write(&dir, ".LATEST.tmp-999999", "state-000003");
        write(&dir.join("members/0"), ".model.bpk.tmp-999999", "half");
        write(&dir.join("members/0"), files::MODEL, "kept too");
        drop(RunDir::claim(&dir, Claim::Resume).unwrap());
        assert!(!dir.join(".LATEST.tmp-999999").exists());
        assert!(!dir.join("members/0/.model.bpk.tmp-999999").exists());
        assert!(
            dir.join(files::ARGS).is_file() && dir.join("members/0").join(files::MODEL).is_file()
        );
    }
}
