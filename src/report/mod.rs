//! What a run produced, for people and scripts: TensorBoard event files, the learned
//! confusion matrices, pictures.

pub mod annotators;
pub mod plot;
pub mod tensorboard;
