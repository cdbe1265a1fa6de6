//! Training a cross-fitted ensemble: its members, each a full run with its own seed, holdout
//! fold and checkpoint folder (side by side on a CPU with several threads, else one after
//! another), and the average of their predictions.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::checkpoint::{clear_members, finished, member_dir};
use crate::config::{RunConfig, RunResult};
use crate::data::TaskData;
use crate::error::{Error, Result, panic_message};
use crate::progress::Progress;
use crate::run::fitted::{Member, TrainOutcome};
use crate::run::outputs::{Outputs, member_seed};
use crate::run::score::{mean_nll, score, valid_accuracy};
use crate::run::single::train_single;

/// Trains the `config.ensemble` members of an ensemble, each a full run (its own seed,
/// holdout split and checkpoint folder `members/<j>`), and scores the average of their class
/// probabilities.
pub(crate) fn train_ensemble(
    config: &RunConfig,
    data: &TaskData,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    let start = std::time::Instant::now();
    let k = config.ensemble;
    if let Some(dir) = outputs.save_dir
        && !outputs.resume
    {
        clear_members(dir);
        config.save(dir)?;
    }
    let outcomes = if parallel_members(config, k) {
        train_members_in_parallel(config, data, outputs, progress)
    } else {
        let mut done = Vec::with_capacity(k);
        for j in 0..k {
            let outcome = train_member(config, data, outputs, j, progress);
            let failed = outcome.is_err();
            done.push(outcome);
            if failed {
                break;
            }
        }
        done
    };
    let mut sum: Option<(Vec<f32>, usize)> = None;
    let mut holdout_sum: Option<Vec<f64>> = None;
    let mut valid_sum: Option<(Vec<f32>, usize)> = None;
    let mut first: Option<TrainOutcome> = None;
    let mut members: Vec<Member> = Vec::with_capacity(k);
    // Combined in member order, whichever finished first: the same sums, to the bit.
    for (j, outcome) in outcomes.into_iter().enumerate() {
        let mut outcome = outcome?;
        members.append(&mut outcome.members);
        if let Some((p, kk)) = &outcome.test_probabilities {
            match &mut sum {
                Some((s, _)) => s.iter_mut().zip(p).for_each(|(a, b)| *a += b),
                None => sum = Some((p.clone(), *kk)),
            }
        }
        if let Some((p, kk)) = &outcome.valid_probabilities {
            match &mut valid_sum {
                Some((s, _)) => s.iter_mut().zip(p).for_each(|(a, b)| *a += b),
                None => valid_sum = Some((p.clone(), *kk)),
            }
        }
        // Out-of-fold: each member's held-out labels are its own fold's.
        holdout_sum = match (holdout_sum, &outcome.holdout_probabilities) {
            (Some(mut s), Some(p)) => {
                s.extend_from_slice(p);
                Some(s)
            }
            (None, Some(p)) if j == 0 => Some(p.clone()),
            _ => None,
        };
        if first.is_none() {
            first = Some(outcome);
        }
    }
    let average = sum.map(|(s, kk)| (s.into_iter().map(|v| v / k as f32).collect(), kk));
    let (test_accuracy, test_macro_f1) = score(data, average.as_ref());
    let first = first.ok_or_else(|| Error::Internal("an ensemble trained no member".into()))?;
    let mut config = config.clone();
    config.result = Some(RunResult {
        best_epoch: first.config.result.as_ref().map_or(0, |r| r.best_epoch),
        epochs_run: first.config.result.as_ref().map_or(0, |r| r.epochs_run),
        test_accuracy,
        test_macro_f1,
        train_seconds: start.elapsed().as_secs_f64(),
        members: k,
        holdout_nll: holdout_sum.as_deref().and_then(mean_nll),
        valid_accuracy: valid_accuracy(data, valid_sum.as_ref()),
    });
    if let Some(dir) = outputs.save_dir {
        config.save(dir)?;
    }
    Ok(TrainOutcome {
        config,
        members,
        history: first.history,
        test_probabilities: average,
        holdout_probabilities: holdout_sum,
        valid_probabilities: valid_sum,
    })
}

/// Whether the members train two or more at a time: on the CPU, with more than one thread
/// for tensor math. Each member is a small model whose tensor operations keep the cores
/// only partly busy, so members side by side finish the ensemble sooner; each member's
/// arithmetic is the same as alone (`tests/same_bytes.rs` pins the bytes).
fn parallel_members(config: &RunConfig, k: usize) -> bool {
    k > 1 && config.device == "cpu" && rayon::current_num_threads() > 1
}

/// Member `j`: a full run with its own seed, holdout fold and checkpoint folder, or the
/// finished member read back when resuming.
fn train_member(
    config: &RunConfig,
    data: &TaskData,
    outputs: Outputs<'_>,
    j: usize,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    let k = config.ensemble;
    let mut member = config.clone();
    member.ensemble = 1;
    member.train.seed = member_seed(config.train.seed, j);
    member.train.holdout_seed = Some(config.train.holdout_seed.unwrap_or(config.train.seed));
    // Members hold out disjoint folds: together they train on every item, and each item's
    // held-out likelihood comes from the member that did not train on it.
    member.train.holdout_fold = Some((j, k));
    member.log_dir = config
        .log_dir
        .as_ref()
        .map(|d| d.join(format!("member-{j}")));
    let dir = outputs.save_dir.map(|d| member_dir(d, j));
    let done = dir.as_deref().filter(|_| outputs.resume).and_then(finished);
    match (done, &dir) {
        (Some(_), Some(d)) => {
            tracing::debug!("ensemble member {} of {k} already trained", j + 1);
            let member = Member::load(d)?;
            Ok(TrainOutcome {
                config: member.config.clone(),
                history: member.history.clone(),
                test_probabilities: match &data.test {
                    Some(test) => Some(member.predict_proba(&test.features, 4096)?),
                    None => None,
                },
                // Not kept on disk: a resumed ensemble reports no held-out likelihood.
                holdout_probabilities: None,
                valid_probabilities: match &data.valid {
                    Some(v) => Some(member.predict_proba(&v.features, 4096)?),
                    None => None,
                },
                members: vec![member],
            })
        }
        _ => {
            tracing::debug!("training ensemble member {} of {k}", j + 1);
            let member_outputs = Outputs {
                save_dir: dir.as_deref(),
                log_dir: member.log_dir.as_deref(),
                ..outputs
            };
            train_single(&member, data, member_outputs, progress)
        }
    }
}

/// Trains the members as many at a time as the thread pool has threads: one runner per
/// thread takes the next member until none is left. The runners are jobs of the current
/// pool (so `--threads` still bounds the work), and there are never more of them than
/// threads, so a thread waiting inside a member's tensor operation steals only that kind of
/// work, never a whole other member. Progress counts finished members; a stop asked for
/// (Ctrl-C) reaches every member at its next epoch.
fn train_members_in_parallel(
    config: &RunConfig,
    data: &TaskData,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Vec<Result<TrainOutcome>> {
    let k = config.ensemble;
    let runners = rayon::current_num_threads().min(k);
    progress.start("ensemble members", k as u64);
    let shared = Mutex::new(progress);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<TrainOutcome>>>> =
        Mutex::new((0..k).map(|_| None).collect());
    rayon::scope(|scope| {
        for _ in 0..runners {
            scope.spawn(|_| {
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    if j >= k {
                        break;
                    }
                    let mut member_progress = MemberProgress { shared: &shared };
                    // A member that panics ends the ensemble with an error, not the process.
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        train_member(config, data, outputs, j, &mut member_progress)
                    }))
                    .unwrap_or_else(|payload| {
                        Err(Error::WorkerPanic {
                            what: format!("ensemble member {}", j + 1),
                            message: panic_message(payload.as_ref()),
                        })
                    });
                    let failed = outcome.is_err();
                    if let Ok(mut p) = shared.lock() {
                        p.advance(&format!("member {} of {k}", j + 1));
                    }
                    if let Ok(mut r) = results.lock() {
                        r[j] = Some(outcome);
                    }
                    if failed {
                        // The others stop at their next member; the first error is reported.
                        next.store(k, Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    if let Ok(mut p) = shared.lock() {
        p.finish("");
    }
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    // A member not trained (after another failed) is reported as that failure.
    let mut out = Vec::with_capacity(k);
    let mut error = None;
    for r in results {
        match r {
            Some(Err(e)) if error.is_none() => error = Some(e),
            Some(r) => out.push(r),
            None => {}
        }
    }
    match error {
        Some(e) => vec![Err(e)],
        None => out,
    }
}

/// What one member of a parallel ensemble reports: nothing per epoch (members interleave),
/// but it asks the run's progress whether to stop.
struct MemberProgress<'a, 'p> {
    shared: &'a Mutex<&'p mut dyn Progress>,
}

impl Progress for MemberProgress<'_, '_> {
    fn cancelled(&mut self) -> bool {
        self.shared
            .lock()
            .map(|mut p| p.cancelled())
            .unwrap_or(true)
    }
}
