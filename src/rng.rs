//! Seeded random streams: every random choice (initial weights, holdout split, batch order,
//! dropout, tie breaks) draws from its own stream of the run's seed, so that the same seed on
//! the same machine gives the same result and no draw depends on another.
//!
//! ```
//! use conal::rng::{rng, stream};
//! use rand::RngExt;
//!
//! // The same seed and stream give the same draws; another stream, other draws.
//! let a: u64 = rng(7, stream::INIT).random();
//! assert_eq!(a, rng(7, stream::INIT).random::<u64>());
//! assert_ne!(a, rng(7, stream::HOLDOUT).random::<u64>());
//! ```

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

/// numpy's legacy `RandomState(seed)`: MT19937 seeded by `init_genrand`, doubles from two
/// 32-bit draws, normals by the polar method with one cached value. crowd-kit draws the
/// starting points of KOS, MACE and M-MSR from it (through numpy and scipy); drawing the
/// same numbers makes those methods reproduce crowd-kit's runs, not only its definition.
/// The generator itself is `rand_mt`'s; the two conversions below are numpy's
/// (`legacy_double`, `legacy_gauss`), which no crate provides.
#[derive(Debug, Clone)]
pub struct NumpyRandomState {
    mt: rand_mt::Mt,
    gauss: Option<f64>,
}

impl NumpyRandomState {
    /// `numpy.random.RandomState(seed)`.
    pub fn new(seed: u32) -> Self {
        NumpyRandomState {
            mt: rand_mt::Mt::new(seed),
            gauss: None,
        }
    }

    /// `random_sample()`: uniform on [0, 1) with 53 random bits.
    pub fn random_sample(&mut self) -> f64 {
        let a = self.mt.next_u32() >> 5;
        let b = self.mt.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// `standard_normal()` of the legacy generator (what `numpy.random.normal` scales).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NumpyRandomState;

    #[test]
    fn numpy_legacy_streams() {
        // numpy 2: RandomState(0).random_sample(3); np.random.seed(7); normal(1, 1, 5).
        let mut r = NumpyRandomState::new(0);
        let u: Vec<f64> = (0..3).map(|_| r.random_sample()).collect();
        assert_eq!(
            u,
            [0.5488135039273248, 0.7151893663724195, 0.6027633760716439]
        );
        let mut r = NumpyRandomState::new(7);
        let n: Vec<f64> = (0..5).map(|_| 1.0 + r.standard_normal()).collect();
        let want = [
            2.690525703800356,
            0.5340626294591673,
            1.0328201636785843,
            1.4075162829965078,
            0.2110769713742614,
        ];
        for (a, b) in n.iter().zip(want) {
            assert!((a - b).abs() <= 1e-15, "{a} vs {b}");
        }
    }
}
