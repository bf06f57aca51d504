//! The demo's random draws: xoshiro256** seeded through splitmix64 (`rand_xoshiro`), and the
//! draws built on its 64-bit outputs (uniform floats and integers, a rough normal, weighted
//! picks, tabulated quantiles), written here.
//!
//! The same seed gives the same signals forever: xoshiro256** and splitmix64 are fixed
//! algorithms (Blackman & Vigna), `Xoshiro256StarStar::seed_from_u64` fills the state from
//! splitmix64 as their reference code does, and the draws below use nothing but `next_u64`, so
//! neither a `rand` upgrade nor a change of its distribution code can change a stream. The
//! test `every_seed_gives_the_signals_it_always_gave` pins the streams of several seeds (they
//! are those of the hand-written generator this replaced).

use rand_xoshiro::rand_core::{Rng as _, SeedableRng as _};
use rand_xoshiro::Xoshiro256StarStar;

/// The inverse CDF of Kumaraswamy(a, b), a closed-form stand-in for Beta(a, b), at `u` in `[0, 1]`.
pub(crate) fn kumaraswamy_quantile(u: f64, a: f64, b: f64) -> f64 {
    (1.0 - (1.0 - u).powf(1.0 / b))
        .powf(1.0 / a)
        .clamp(0.0, 1.0)
}

/// A distribution on `[0, 1]` sampled through a tabulated inverse CDF (linear interpolation):
/// two `powf` per draw replaced by a table look-up.
#[derive(Debug, Clone)]
pub(crate) struct Quantiles {
    table: Vec<f64>,
}

impl Quantiles {
    const STEPS: usize = 256;

    /// The Kumaraswamy(a, b) distribution.
    pub(crate) fn kumaraswamy(a: f64, b: f64) -> Self {
        let table = (0..=Self::STEPS)
            .map(|i| kumaraswamy_quantile(i as f64 / Self::STEPS as f64, a, b))
            .collect();
        Self { table }
    }

    /// One draw, in `[0, 1]`.
    #[inline]
    pub(crate) fn sample(&self, rng: &mut Rng) -> f64 {
        let x = rng.f64() * Self::STEPS as f64;
        let i = x as usize; // 0..STEPS
        let frac = x - i as f64;
        match (self.table.get(i), self.table.get(i + 1)) {
            (Some(lo), Some(hi)) => (lo + (hi - lo) * frac).clamp(0.0, 1.0),
            _ => 0.5,
        }
    }
}

/// xoshiro256** (Blackman & Vigna), state filled from the seed by splitmix64.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    inner: Xoshiro256StarStar,
}

impl Rng {
    /// A generator for `seed`; every seed (0 included) gives a valid, distinct stream.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            inner: Xoshiro256StarStar::seed_from_u64(seed),
        }
    }

    /// The next 64 random bits.
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in `[0, 1)`, 53 bits of precision.
    #[inline]
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    #[inline]
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Uniform integer in `0..n` (`0` when `n == 0`); Lemire's multiply-shift, bias below 2^-40.
    #[inline]
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform integer in `lo..=hi` (`lo` when `hi < lo`).
    #[inline]
    pub(crate) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.abs_diff(lo).saturating_add(1);
        lo.wrapping_add(self.below(span) as i64)
    }

    /// `true` with probability `p`.
    #[inline]
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Roughly standard normal (Irwin–Hall of four uniforms, rescaled; tails cut at ±3.46).
    #[inline]
    pub(crate) fn normal(&mut self) -> f64 {
        let sum = self.f64() + self.f64() + self.f64() + self.f64();
        (sum - 2.0) * 3f64.sqrt()
    }

    /// One item of a weighted table; `None` only when every weight is zero.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[(T, u32)]) -> Option<T> {
        let total: u64 = items.iter().map(|&(_, w)| u64::from(w)).sum();
        let mut r = self.below(total);
        for &(item, w) in items {
            let w = u64::from(w);
            if r < w {
                return Some(item);
            }
            r -= w;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first three outputs of the hand-written xoshiro256** for seed 42 (this crate's
    /// default seed), before `rand_xoshiro` replaced it.
    const FIRST_OF_SEED_42: [u64; 3] = [
        1_546_998_764_402_558_742,
        6_990_951_692_964_543_102,
        12_544_586_762_248_559_009,
    ];

    #[test]
    fn the_stream_is_xoshiro256starstar_seeded_by_splitmix64() {
        // Reference outputs of splitmix64 seeded with 1234567 (Vigna's splitmix64.c) ...
        let mut splitmix = rand_xoshiro::SplitMix64::seed_from_u64(1_234_567);
        assert_eq!(splitmix.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(splitmix.next_u64(), 3_203_168_211_198_807_973);
        // ... and the first outputs of seed 42, as the hand-written generator gave them.
        let mut rng = Rng::new(42);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(first, FIRST_OF_SEED_42);
    }

    #[test]
    fn uniform_ranges() {
        let mut rng = Rng::new(7);
        let mut sum = 0.0;
        for _ in 0..100_000 {
            let x = rng.f64();
            assert!((0.0..1.0).contains(&x));
            sum += x;
            assert!(rng.below(10) < 10);
            let i = rng.int(-3, 3);
            assert!((-3..=3).contains(&i));
        }
        let mean = sum / 100_000.0;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.int(5, 5), 5);
    }

    #[test]
    fn quantile_tables_follow_the_shape() {
        let mut rng = Rng::new(9);
        for (a, b) in [(0.8, 0.8), (2.0, 3.0), (5.0, 2.5)] {
            let q = Quantiles::kumaraswamy(a, b);
            let n = 100_000;
            let mut below_half = 0;
            for _ in 0..n {
                let x = q.sample(&mut rng);
                assert!((0.0..=1.0).contains(&x));
                if x < 0.5 {
                    below_half += 1;
                }
            }
            // CDF of Kumaraswamy at 0.5: 1 - (1 - 0.5^a)^b.
            let expected = 1.0 - (1.0 - 0.5f64.powf(a)).powf(b);
            let got = f64::from(below_half) / f64::from(n);
            assert!(
                (got - expected).abs() < 0.01,
                "({a}, {b}): {got} vs {expected}"
            );
        }
    }

    #[test]
    fn pick_respects_weights() {
        let mut rng = Rng::new(1);
        let table = [('a', 0u32), ('b', 3), ('c', 1)];
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            match rng.pick(&table) {
                Some('b') => counts[1] += 1,
                Some('c') => counts[2] += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(counts[1] > 2 * counts[2]);
        assert_eq!(rng.pick::<char>(&[('x', 0)]), None);
    }
}
