//! The ticker universe: real-looking symbols by popularity rank, then generated ones.

use std::collections::HashSet;

use crate::rng::Rng;

/// Largest universe `DemoConfig::tickers` is clamped to.
pub(crate) const MAX_TICKERS: usize = 1_000_000;

/// Fixed seed of the generated part of the universe: the universe depends only on its size,
/// not on `DemoConfig::seed`, so tickers stay stable across demo runs.
const UNIVERSE_SEED: u64 = 0x7AC4_E25E_ED00_0001;

/// The most popular symbols, most popular first, with a plausible reference price.
const CURATED: &[(&str, f64)] = &[
    ("NVDA", 134.8),
    ("TSLA", 248.5),
    ("AAPL", 228.3),
    ("SPY", 574.6),
    ("BTC/USD", 67_850.0),
    ("MSFT", 418.2),
    ("AMZN", 186.4),
    ("META", 576.9),
    ("QQQ", 492.7),
    ("AMD", 157.6),
    ("ETH/USD", 2_645.0),
    ("GOOGL", 165.9),
    ("PLTR", 41.7),
    ("AVGO", 171.3),
    ("NFLX", 721.4),
    ("SMCI", 44.6),
    ("MSTR", 212.5),
    ("COIN", 204.8),
    ("JPM", 221.9),
    ("SOL/USD", 151.2),
    ("BRK.B", 461.7),
    ("INTC", 22.8),
    ("MU", 102.4),
    ("ARM", 139.6),
    ("IWM", 221.5),
    ("LLY", 893.1),
    ("UNH", 589.7),
    ("BA", 155.3),
    ("XOM", 118.4),
    ("DOGE/USD", 0.1184),
    ("V", 284.9),
    ("TSM", 190.2),
    ("ORCL", 172.6),
    ("CRM", 291.4),
    ("UBER", 76.3),
    ("BAC", 40.9),
    ("DIS", 95.2),
    ("COST", 889.5),
    ("WMT", 80.7),
    ("HOOD", 23.4),
    ("XRP/USD", 0.5412),
    ("MA", 504.8),
    ("SHOP", 79.9),
    ("SOFI", 9.42),
    ("RIVN", 10.83),
    ("GME", 21.05),
    ("PYPL", 80.12),
    ("ADBE", 505.3),
    ("QCOM", 168.1),
    ("ASML", 701.4),
    ("PFE", 29.07),
    ("F", 10.91),
    ("T", 21.88),
    ("KO", 69.94),
    ("PEP", 170.2),
    ("NKE", 82.35),
    ("SBUX", 97.48),
    ("BABA", 98.6),
    ("GS", 501.2),
    ("MS", 104.3),
    ("C", 62.71),
    ("WFC", 56.92),
    ("CVX", 147.8),
    ("BF.B", 44.12),
    ("NIO", 5.13),
    ("RDDT", 69.5),
    ("SNOW", 115.2),
    ("PANW", 361.4),
    ("CRWD", 281.3),
    ("DELL", 118.6),
    ("HD", 405.1),
    ("ABNB", 130.4),
    ("AVAX/USD", 27.15),
    ("LINK/USD", 11.24),
    ("TXN", 205.3),
    ("LCID", 2.61),
    ("MARA", 17.2),
    ("RBLX", 44.9),
    ("DKNG", 37.6),
    ("ROKU", 70.3),
];

/// One symbol of the universe.
#[derive(Debug, Clone)]
pub(crate) struct TickerSpec {
    /// `A-Z 0-9 . - /`, 1..=16 characters.
    pub(crate) symbol: String,
    /// Reference price at the start of the window.
    pub(crate) base_price: f64,
    /// A crypto pair (trades around the clock).
    pub(crate) crypto: bool,
}

/// The `n` most popular symbols (1..=[`MAX_TICKERS`]), most popular first; unique.
pub(crate) fn universe(n: usize) -> Vec<TickerSpec> {
    let n = n.clamp(1, MAX_TICKERS);
    let mut out: Vec<TickerSpec> = CURATED
        .iter()
        .take(n)
        .map(|&(symbol, base_price)| TickerSpec {
            symbol: symbol.to_owned(),
            base_price,
            crypto: symbol.contains('/'),
        })
        .collect();
    let mut seen: HashSet<String> = out.iter().map(|t| t.symbol.clone()).collect();
    let mut rng = Rng::new(UNIVERSE_SEED);
    while out.len() < n {
        let spec = generated(&mut rng);
        if seen.insert(spec.symbol.clone()) {
            out.push(spec);
        }
    }
    out
}

fn letters(rng: &mut Rng, symbol: &mut String, count: u32) {
    // Letter frequencies of real symbols are uneven; favour a common subset a little.
    const COMMON: &[u8] = b"ACDEGHILMNPRST";
    for _ in 0..count {
        let c = if rng.chance(0.45) {
            COMMON
                .get(rng.below(COMMON.len() as u64) as usize)
                .copied()
                .unwrap_or(b'A')
        } else {
            b'A' + rng.below(26) as u8
        };
        symbol.push(char::from(c));
    }
}

fn generated(rng: &mut Rng) -> TickerSpec {
    let mut symbol = String::with_capacity(16);
    let roll = rng.f64();
    if roll < 0.012 {
        // A smaller crypto pair.
        let len = 3 + rng.below(2) as u32;
        letters(rng, &mut symbol, len);
        symbol.push_str(if rng.chance(0.7) { "/USD" } else { "/USDT" });
        let base_price = (rng.range(0.01f64.ln(), 60f64.ln())).exp();
        return TickerSpec {
            symbol,
            base_price: crate::text::round_to(base_price, 4),
            crypto: true,
        };
    }
    let len = match rng.below(10) {
        0..=2 => 3,
        3..=8 => 4,
        _ => 5,
    };
    letters(rng, &mut symbol, len);
    if roll < 0.030 {
        // Share classes, units and warrants: BRK.B-style suffixes.
        let suffix = [".A", ".B", ".U", ".WS"]
            .get(rng.below(4) as usize)
            .copied()
            .unwrap_or(".B");
        symbol.push_str(suffix);
    }
    // Log-uniform between $2 and $400.
    let base_price = rng.range(2f64.ln(), 400f64.ln()).exp();
    TickerSpec {
        symbol,
        base_price: crate::text::round_to(base_price, 2),
        crypto: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curated_symbols_are_valid_and_unique() {
        let set: HashSet<&str> = CURATED.iter().map(|&(s, _)| s).collect();
        assert_eq!(set.len(), CURATED.len());
        for &(s, p) in CURATED {
            assert!(
                signal_ledger_engine::record::signal::check_ticker(s).is_ok(),
                "{s}"
            );
            assert!(p > 0.0);
        }
    }

    #[test]
    fn universe_is_valid_unique_and_stable() {
        for n in [0, 1, 10, 500, 5_000] {
            let u = universe(n);
            assert_eq!(u.len(), n.max(1));
            let set: HashSet<&str> = u.iter().map(|t| t.symbol.as_str()).collect();
            assert_eq!(set.len(), u.len());
            for t in &u {
                assert!(
                    signal_ledger_engine::record::signal::check_ticker(&t.symbol).is_ok(),
                    "{}",
                    t.symbol
                );
                assert!(t.base_price.is_finite() && t.base_price > 0.0);
                assert_eq!(t.crypto, t.symbol.contains('/'));
            }
        }
        let a: Vec<String> = universe(500).into_iter().map(|t| t.symbol).collect();
        let b: Vec<String> = universe(800).into_iter().map(|t| t.symbol).collect();
        assert_eq!(a.as_slice(), b.get(..500).unwrap_or_default());
        assert!(a.iter().any(|s| s.contains('.')));
        assert!(a.iter().filter(|s| s.contains('/')).count() >= 5);
    }
}
