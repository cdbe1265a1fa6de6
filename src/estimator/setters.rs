//! The builder setters every learning estimator shares, generated once for each params type
//! (a macro rather than a trait, so that the setters need no import and each type's
//! documentation lists them).

/// Setters of the [`RunParams`](crate::config::RunParams) inside a params newtype
/// (`self.0`).
macro_rules! run_setters {
    () => {
        /// Whose per-task defaults fill the settings left unset (epochs, batch size, learning
        /// rate, λ, embedding size, head, selection). Defaults to `TaskKind::Table` (your own
        /// data: the authors' Music settings).
        pub fn task_defaults(mut self, task: $crate::data::source::TaskKind) -> Self {
            self.0.task = task;
            self
        }

        /// The training recipe. Defaults to the method's: `Recipe::Tuned` (a cross-fitted
        /// ensemble of 10), or `Recipe::Benchmark` for Annot-Mix and MaDL (one model, the
        /// Annot-Mix benchmark's settings); `Recipe::Paper` trains one model with the CoNAL authors'
        /// settings.
        pub fn recipe(mut self, recipe: $crate::config::Recipe) -> Self {
            self.0.recipe = Some(recipe);
            self
        }

        /// Seed of every random choice (weights, holdout split, batch order, dropout).
        /// Defaults to 0.
        pub fn seed(mut self, seed: u64) -> Self {
            self.0.seed = seed;
            self
        }

        /// Model selection. Defaults to the task's (crowd holdout for your own data).
        pub fn select(mut self, select: $crate::train::Selection) -> Self {
            self.0.select = Some(select);
            self
        }

        /// Passes over the training items. Defaults to the task's (200).
        pub fn epochs(mut self, epochs: usize) -> Self {
            self.0.epochs = Some(epochs);
            self
        }

        /// Items per optimisation step. Defaults to the task's (1,024).
        pub fn batch_size(mut self, batch_size: usize) -> Self {
            self.0.batch_size = Some(batch_size);
            self
        }

        /// Adam learning rate. Defaults to the task's (0.01).
        pub fn lr(mut self, lr: f64) -> Self {
            self.0.lr = Some(lr);
            self
        }

        /// Learning-rate schedule. Defaults to the recipe's: constant, or cosine annealing
        /// for `Recipe::Benchmark`.
        pub fn lr_schedule(mut self, schedule: $crate::train::LrSchedule) -> Self {
            self.0.lr_schedule = Some(schedule);
            self
        }

        /// The optimiser. Defaults to the recipe's: Adam, or RAdam for `Recipe::Benchmark`.
        pub fn optimizer(mut self, optimizer: $crate::train::OptimizerKind) -> Self {
            self.0.optimizer = Some(optimizer);
            self
        }

        /// What mixup blends. Defaults to the method's: labels for Annot-Mix, items
        /// otherwise.
        pub fn mixup_over(mut self, over: $crate::train::MixupOver) -> Self {
            self.0.mixup_over = Some(over);
            self
        }

        /// Fraction of crowd-labelled items held out for crowd-holdout selection. Defaults to
        /// 0.15 (an ensemble holds out one fold per member instead).
        pub fn holdout(mut self, fraction: f64) -> Self {
            self.0.holdout = fraction;
            self
        }

        /// When Adam's moments restart. Defaults to the method's on the task (every epoch
        /// for CoNAL on Music and LabelMe, as the authors' code; never otherwise).
        pub fn adam_reset(mut self, reset: $crate::train::AdamReset) -> Self {
            self.0.adam_reset = Some(reset);
            self
        }

        /// Keep a moving average of the weights with this decay per step. Defaults to off.
        pub fn ema(mut self, decay: f64) -> Self {
            self.0.ema = Some(decay);
            self
        }

        /// Ensemble members. Defaults to the recipe's (tuned 10, paper 1).
        pub fn ensemble(mut self, members: usize) -> Self {
            self.0.ensemble = Some(members);
            self
        }

        /// GeoCrowdNet's volume regulariser, `λ R` added to every batch's loss:
        /// `RegularizerKind::GeoF` (−log det FᵀF of the batch's class probabilities, any
        /// method) or `GeoW` (−log det WᵀW of the stacked annotator confusions; needs
        /// stochastic confusions). `lambda`: `None` for the Annot-Mix benchmark's 1e-3.
        /// Defaults to none.
        pub fn regularizer(
            mut self,
            kind: $crate::train::RegularizerKind,
            lambda: Option<f64>,
        ) -> Self {
            self.0.regularizer = Some(kind);
            self.0.reg_lambda = lambda;
            self
        }

        /// Mixup with Beta(α, α) weights. Defaults to off.
        pub fn mixup(mut self, alpha: f64) -> Self {
            self.0.mixup = Some(alpha);
            self
        }

        /// Adam's ε. Defaults to 1e-8 (PyTorch's).
        pub fn adam_eps(mut self, eps: f32) -> Self {
            self.0.adam_eps = eps;
            self
        }

        /// L2 weight decay. Defaults to 0.
        pub fn weight_decay(mut self, decay: f32) -> Self {
            self.0.weight_decay = decay;
            self
        }

        /// Hidden units of the classifier. Defaults to 128.
        pub fn n_units(mut self, n: usize) -> Self {
            self.0.model.n_units = n;
            self
        }

        /// Dropout after the classifier's hidden layer. Defaults to 0.5.
        pub fn dropout(mut self, p: f64) -> Self {
            self.0.model.dropout = p;
            self
        }

        /// Weight initialisation. Defaults to PyTorch's.
        pub fn init(mut self, init: $crate::model::Init) -> Self {
            self.0.model.init = init;
            self
        }

        /// Classifier head. Defaults to the task's (Music's batch-normalised head for your
        /// own data).
        pub fn head(mut self, head: $crate::model::Head) -> Self {
            self.0.model.head = Some(head);
            self
        }

        /// Device: `cpu`, or a GPU backend the build has. Defaults to `cpu`.
        pub fn device(mut self, device: impl Into<String>) -> Self {
            self.0.device = device.into();
            self
        }

        /// Data-parallel training: every batch split into `n` shares whose gradients are
        /// computed in parallel, each on its own instance of the device, and summed into
        /// one step. Defaults to 1.
        pub fn devices(mut self, n: usize) -> Self {
            self.0.devices = n;
            self
        }

        /// Threads for tensor math during `fit`. Defaults to the current pool (one per core).
        pub fn threads(mut self, n: usize) -> Self {
            self.0.threads = Some(n);
            self
        }

        /// Checks every setting that does not depend on the data; errors name the setter
        /// ([`Error::Param`](crate::Error::Param)).
        pub fn check(&self) -> $crate::error::Result<()> {
            self.0.check()
        }

        /// The method-independent parameters.
        pub fn run_params(&self) -> &$crate::config::RunParams {
            &self.0
        }
    };
}

/// Prediction and persistence of a fitted newtype over [`FittedModel`](crate::run::FittedModel)
/// (`self.0`).
macro_rules! fitted_methods {
    () => {
        /// Class probabilities for the rows of `features` (an ensemble averages its
        /// members'): items × classes, rows summing to 1, columns in [`Self::classes`] order.
        pub fn predict_proba(
            &self,
            features: &$crate::data::Matrix,
        ) -> $crate::error::Result<$crate::data::Matrix> {
            self.0.predict_proba(features)
        }

        /// The most probable class index of each row of `features`.
        pub fn predict(&self, features: &$crate::data::Matrix) -> $crate::error::Result<Vec<u32>> {
            self.0.predict(features)
        }

        /// Class names.
        pub fn classes(&self) -> &[String] {
            self.0.classes()
        }

        /// Worker ids, in worker-index order.
        pub fn workers(&self) -> &[String] {
            self.0.workers()
        }

        /// What training selected and measured (kept epoch, held-out likelihood, …).
        pub fn result(&self) -> Option<&$crate::config::RunResult> {
            self.0.result()
        }

        /// Metrics of every epoch (of the first member, for an ensemble).
        pub fn history(&self) -> &[$crate::metrics::EpochMetrics] {
            self.0.history()
        }

        /// Writes the checkpoint directory `conal train --save-dir` writes (`conal test` and
        /// `conal inspect` read it). A directory that holds a run is refused unless
        /// `overwrite` (see [`FittedModel::save`]($crate::run::FittedModel::save)).
        pub fn save(&self, dir: &std::path::Path, overwrite: bool) -> $crate::error::Result<()> {
            self.0.save(dir, overwrite)
        }

        /// The trained run underneath.
        pub fn fitted(&self) -> &$crate::run::FittedModel {
            &self.0
        }
    };
}

/// `fit` and `fit_splits` of a params newtype whose fitted type is `$fitted`.
macro_rules! fit_methods {
    ($fitted:ty) => {
        /// Trains on the crowd-labelled items of `data`.
        pub fn fit(&self, data: &$crate::data::CrowdData) -> $crate::error::Result<$fitted> {
            self.fit_splits(data, None, None)
        }

        /// Trains on `train`, with a labelled validation split (for `Selection::Valid`) and
        /// a test split (reported per epoch; selected on only by `Selection::TestPeek`).
        pub fn fit_splits(
            &self,
            train: &$crate::data::CrowdData,
            valid: Option<&$crate::data::LabeledSet>,
            test: Option<&$crate::data::LabeledSet>,
        ) -> $crate::error::Result<$fitted> {
            <$fitted>::new($crate::estimator::fit_splits(&self.0, train, valid, test)?)
        }
    };
}

/// The annotator report of a fitted crowd model newtype that keeps it as `self.1`.
macro_rules! annotator_methods {
    () => {
        /// What the model learned about each annotator (of the first member, for an
        /// ensemble): its confusion, reliability and labels given
        /// ([`AnnotatorReport`]($crate::report::annotators::AnnotatorReport)).
        pub fn annotators(&self) -> &$crate::report::annotators::AnnotatorReport {
            &self.1
        }

        /// Labels, ω statistics and the class prior per worker (of the first member).
        pub fn worker_stats(&self) -> Option<&$crate::checkpoint::WorkerStats> {
            self.1.stats.as_ref()
        }
    };
}

/// The annotator report of the first member of `fitted`.
pub(crate) fn first_report(
    fitted: &crate::run::FittedModel,
) -> crate::error::Result<crate::report::annotators::AnnotatorReport> {
    let member = &fitted.members()[0];
    crate::report::annotators::AnnotatorReport::of(
        &member.model,
        &member.config,
        member.worker_stats.clone(),
    )
}
