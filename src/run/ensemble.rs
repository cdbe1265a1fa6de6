//! Training a cross-fitted ensemble: its members one after another, each a full run with its
//! own seed, holdout fold and checkpoint folder, and the average of their predictions.

use crate::checkpoint::{files, member_dir};
use crate::data::TaskData;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::run::score::{mean_nll, score, valid_accuracy};
use crate::run::single::train_single;
use crate::run::{Member, Outputs, TrainOutcome, member_seed};
use crate::spec::{RunConfig, RunResult};

/// Trains the `config.train.ensemble` members of an ensemble one after another, each a full
/// run (its own seed, holdout split and checkpoint folder `members/<j>`), and scores the
/// average of their class probabilities.
pub(crate) fn train_ensemble(
    config: &RunConfig,
    data: &TaskData,
    outputs: Outputs<'_>,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    let start = std::time::Instant::now();
    let k = config.train.ensemble;
    if let Some(dir) = outputs.save_dir
        && !outputs.resume
    {
        let _ = std::fs::remove_dir_all(dir.join("members"));
        config.save(dir)?;
    }
    let mut sum: Option<(Vec<f32>, usize)> = None;
    let mut holdout_sum: Option<Vec<f64>> = None;
    let mut valid_sum: Option<(Vec<f32>, usize)> = None;
    let mut first: Option<TrainOutcome> = None;
    let mut members: Vec<Member> = Vec::with_capacity(k);
    for j in 0..k {
        let mut member = config.clone();
        member.train.ensemble = 1;
        member.train.seed = member_seed(config.train.seed, j);
        member.train.holdout_seed = Some(config.train.holdout_seed.unwrap_or(config.train.seed));
        // Members hold out disjoint folds: together they train on every item, and each
        // item's held-out likelihood comes from the member that did not train on it.
        member.train.holdout_fold = Some((j, k));
        member.log_dir = config
            .log_dir
            .as_ref()
            .map(|d| d.join(format!("member-{j}")));
        let dir = outputs.save_dir.map(|d| member_dir(d, j));
        let finished = dir
            .as_deref()
            .filter(|d| outputs.resume && d.join(files::MODEL).is_file())
            .and_then(|d| RunConfig::load(d).ok())
            .filter(|c| c.result.is_some());
        let mut outcome = match (finished, &dir) {
            (Some(done), Some(d)) => {
                tracing::debug!("ensemble member {} of {k} already trained", j + 1);
                let member = Member::load(d, done)?;
                TrainOutcome {
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
                }
            }
            _ => {
                tracing::debug!("training ensemble member {} of {k}", j + 1);
                let member_outputs = Outputs {
                    save_dir: dir.as_deref(),
                    log_dir: member.log_dir.as_deref(),
                    ..outputs
                };
                train_single(&member, data, member_outputs, progress)?
            }
        };
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
    let first =
        first.ok_or_else(|| Error::Config("an ensemble needs at least one member".into()))?;
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
