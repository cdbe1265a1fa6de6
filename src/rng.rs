//! Seeded random streams: every random choice (initial weights, holdout split, batch order,
//! dropout, tie breaks) draws from its own stream of the run's seed, so that the same seed on
//! the same machine gives the same result and no draw depends on another.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// RNG streams, so that each random choice has its own reproducible sequence.
pub mod stream {
    /// Majority-vote tie breaks.
    pub const TIES: u64 = 2;
    /// Initial weights.
    pub const INIT: u64 = 0;
    /// The crowd holdout split.
    pub const HOLDOUT: u64 = 1;
    /// Epoch `e` draws its batch order and dropout masks from stream `EPOCH + e`.
    pub const EPOCH: u64 = 1 << 32;
}

/// A ChaCha8 generator for `seed` on `stream`.
pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}
