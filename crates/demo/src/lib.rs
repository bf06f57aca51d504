//! Realistic, deterministic demo trading signals for signal-ledger's demos, tests and benches.
//!
//! [`DemoGenerator`] streams [`Signal`]s (constant memory, so 10M are fine) that look like the
//! output of eight producers ([`SOURCE_MODULES`]) over a universe of tickers with Zipf-like
//! popularity, spread over a window of days shaped like a US trading week. The same
//! [`DemoConfig`] always yields the same signals, byte for byte, across versions: the PRNG is
//! xoshiro256** seeded through splitmix64 (`rand_xoshiro`, fixed algorithms), and every draw is
//! built here on its 64-bit outputs alone; a test pins the streams of several seeds.
//!
//! What the data looks like:
//! - **Producers** differ in volume (which also shifts with the session: `social_sentiment` and
//!   `news_nlp` dominate nights and weekends, `options_flow` is silent then), version (most roll
//!   out a new `source_version` part-way through the window), timeframes, strategies, direction
//!   and signal-type mix, conviction shape (Kumaraswamy, a closed-form Beta look-alike) and
//!   payload fields.
//! - **Tickers**: the top ranks are real-looking symbols (`NVDA`, `TSLA`, `AAPL`, `BTC/USD`,
//!   `BRK.B`, ...), the rest generated 3–5 letter symbols, some with class suffixes (`.B`) and a
//!   few crypto pairs. Popularity is Zipf with s = 1.1 (the top 10 of 500 carry about half the
//!   signals); crypto pairs gain share at night and at weekends. The universe depends only on its
//!   size, not on the seed. Each ticker's price follows a mean-reverting random walk in time.
//! - **Timestamps**: arrivals follow the order statistics of the intensity (15-minute buckets,
//!   busiest at the open and close, per-day busyness varying), so emission order is by arrival;
//!   `timestamp_ns` is the producer's clock, the arrival minus a producer-specific latency of up
//!   to 450 ms, so signals are roughly but not strictly ordered by timestamp. All timestamps lie
//!   in `[end_ns - days, end_ns]`.
//! - **Lineage**: `signal_fusion` and `agent_consensus` name 2–5 recent (last 24 h) signals of
//!   other producers for the same ticker in `parent_signal_ids`, when there are any, and are
//!   timestamped after them.
//! - **Ids**: `signal_id` is a UUIDv7-format string (`xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx`,
//!   lower-case): the top 48 bits are the signal's timestamp in Unix milliseconds, the remaining
//!   74 bits come from the PRNG. Acted-upon signals get `execution_id`s `exec-000001`,
//!   `exec-000002`, ... in emission order.

#![forbid(unsafe_code)]

mod calendar;
mod ndjson;
mod producers;
mod rng;
mod text;
mod tickers;

use signal_ledger_engine::{Direction, Signal, SignalType};

use crate::calendar::{Calendar, Session};
use crate::producers::{volume_table, Ctx, PRODUCERS};
use crate::rng::{Quantiles, Rng};
use crate::text::{days_from_civil, push_hex, push_padded, round_to, NS_PER_DAY};

pub mod live;
pub mod load;

pub use crate::live::LiveDemo;
pub use crate::ndjson::write_ndjson_line;
pub use crate::producers::SOURCE_MODULES;

/// 2026-11-01T00:00:00Z in nanoseconds since the Unix epoch: the default end of the window.
pub const DEFAULT_END_NS: i64 = days_from_civil(2026, 11, 1) * NS_PER_DAY;

/// Zipf exponent of ticker popularity.
const ZIPF_S: f64 = 1.1;
/// Recent signals remembered per ticker, for lineage.
const RING: usize = 8;
/// How far back a fused signal looks for parents.
const LINEAGE_WINDOW_NS: i64 = NS_PER_DAY;
/// Longest window, in days (about ten years): keeps the calendar table small.
const MAX_DAYS: u32 = 3_660;
/// Extra chance, per session, of drawing among crypto pairs only.
const CRYPTO_BOOST: [f64; 4] = [0.0, 0.08, 0.35, 0.7];

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// PRNG seed: same seed, same signals.
    pub seed: u64,
    /// Number of signals.
    pub count: usize,
    /// Size of the ticker universe (clamped to 1..=1,000,000).
    pub tickers: usize,
    /// Length of the window in days (clamped to 1..=3,660).
    pub days: u32,
    /// End of the window, ns since the Unix epoch (UTC).
    pub end_ns: i64,
}

impl Default for DemoConfig {
    /// Seed 42, 100,000 signals, 500 tickers, 30 days ending 2026-11-01T00:00:00Z.
    fn default() -> Self {
        Self {
            seed: 42,
            count: 100_000,
            tickers: 500,
            days: 30,
            end_ns: DEFAULT_END_NS,
        }
    }
}

/// A signal remembered for lineage.
#[derive(Debug, Clone, Copy)]
struct Recent {
    uuid: u128,
    producer: usize,
    timestamp_ns: i64,
}

/// Per-ticker state: the price walk and the recent signals.
#[derive(Debug, Clone)]
struct TickerState {
    crypto: bool,
    ln_base: f64,
    ln_price: f64,
    daily_vol: f64,
    decimals: usize,
    last_ns: Option<i64>,
    recent: [Option<Recent>; RING],
    next: usize,
}

/// Streams the demo signals of a [`DemoConfig`], in emission (arrival) order.
///
/// Memory is constant in `count` (it grows with the ticker universe only).
#[derive(Debug, Clone)]
pub struct DemoGenerator {
    rng: Rng,
    remaining: usize,
    start_ns: i64,
    end_ns: i64,
    /// Largest-remaining order statistic, counting down from 1 (arrival fraction = 1 - this).
    u_desc: f64,
    calendar: Calendar,
    symbols: Vec<String>,
    state: Vec<TickerState>,
    zipf: Alias,
    crypto: Vec<usize>,
    crypto_pick: Alias,
    volume: [[(usize, u32); 8]; 4],
    deploy_ns: [i64; 8],
    conviction: Vec<Quantiles>,
    batch: [u64; 8],
    exec_seq: u64,
}

impl DemoGenerator {
    /// A generator of `config.count` signals.
    pub fn new(config: &DemoConfig) -> Self {
        let mut rng = Rng::new(config.seed);
        let days = config.days.clamp(1, MAX_DAYS);
        let window = i64::from(days) * NS_PER_DAY;
        let end_ns = config.end_ns.max(i64::MIN + window);
        let start_ns = end_ns - window;
        let calendar = Calendar::new(start_ns, days, &mut rng);

        let universe = tickers::universe(config.tickers);
        let mut weights = Vec::with_capacity(universe.len());
        let mut crypto = Vec::new();
        let mut crypto_weights = Vec::new();
        let mut state = Vec::with_capacity(universe.len());
        for (rank, spec) in universe.iter().enumerate() {
            let weight = ((rank + 1) as f64).powf(-ZIPF_S);
            weights.push(weight);
            if spec.crypto {
                crypto.push(rank);
                crypto_weights.push(weight);
            }
            let ln_base = spec.base_price.ln();
            state.push(TickerState {
                crypto: spec.crypto,
                ln_base,
                ln_price: ln_base + 0.04 * rng.normal(),
                daily_vol: if spec.crypto {
                    rng.range(0.03, 0.06)
                } else {
                    rng.range(0.01, 0.035)
                },
                decimals: match spec.base_price {
                    p if p >= 1.0 => 2,
                    p if p >= 0.05 => 4,
                    _ => 6,
                },
                last_ns: None,
                recent: [None; RING],
                next: 0,
            });
        }

        let mut deploy_ns = [0i64; 8];
        let mut batch = [0u64; 8];
        for ((deploy, b), p) in deploy_ns.iter_mut().zip(batch.iter_mut()).zip(&PRODUCERS) {
            *deploy = start_ns.saturating_add((p.deploy_at * window as f64) as i64);
            *b = rng.next_u64();
        }
        Self {
            rng,
            remaining: config.count,
            start_ns,
            end_ns,
            u_desc: 1.0,
            calendar,
            symbols: universe.into_iter().map(|t| t.symbol).collect(),
            state,
            zipf: Alias::new(&weights),
            crypto,
            crypto_pick: Alias::new(&crypto_weights),
            volume: [
                volume_table(Session::Regular),
                volume_table(Session::Extended),
                volume_table(Session::Overnight),
                volume_table(Session::Weekend),
            ],
            deploy_ns,
            conviction: PRODUCERS
                .iter()
                .map(|p| Quantiles::kumaraswamy(p.conviction.0, p.conviction.1))
                .collect(),
            batch,
            exec_seq: 0,
        }
    }

    /// The ticker universe, most popular first.
    pub fn tickers(&self) -> &[String] {
        &self.symbols
    }

    /// The window every timestamp lies in, `(start_ns, end_ns)`, both inclusive.
    pub fn window(&self) -> (i64, i64) {
        (self.start_ns, self.end_ns)
    }

    fn sample_ticker(&mut self, session: Session, equities_only: bool) -> usize {
        let mut idx = 0;
        for _ in 0..8 {
            let boost = CRYPTO_BOOST.get(session.index()).copied().unwrap_or(0.0);
            idx = if !equities_only && !self.crypto.is_empty() && self.rng.chance(boost) {
                let i = self.crypto_pick.sample(&mut self.rng);
                self.crypto.get(i).copied().unwrap_or(0)
            } else {
                self.zipf.sample(&mut self.rng)
            };
            let crypto = self.state.get(idx).is_some_and(|t| t.crypto);
            if !(equities_only && crypto) {
                break;
            }
        }
        idx
    }

    fn make(&mut self, arrival_ns: i64, session: Session) -> Signal {
        let table = self
            .volume
            .get(session.index())
            .copied()
            .unwrap_or_default();
        let pidx = self.rng.pick(&table).unwrap_or(0);
        let Some(producer) = PRODUCERS.get(pidx) else {
            unreachable!("producer tables have eight entries")
        };
        let tidx = self.sample_ticker(session, producer.equities_only);
        let ticker = self.symbols.get(tidx).cloned().unwrap_or_default();
        let (start_ns, end_ns) = (self.start_ns, self.end_ns);
        let rng = &mut self.rng;
        let Some(state) = self.state.get_mut(tidx) else {
            unreachable!("ticker index comes from the universe tables")
        };

        // Producer clock: arrival minus latency; fused signals come after their parents.
        let latency = rng.range(producer.latency_ms.0, producer.latency_ms.1) * 1e6;
        let mut timestamp_ns = arrival_ns.saturating_sub(latency as i64);
        let mut parents = Vec::new();
        if producer.lineage {
            let mut candidates = [None::<Recent>; RING];
            let mut found = 0;
            let horizon = arrival_ns.saturating_sub(LINEAGE_WINDOW_NS);
            for r in state.recent.iter().flatten() {
                if r.producer != pidx && r.timestamp_ns >= horizon {
                    if let Some(slot) = candidates.get_mut(found) {
                        *slot = Some(*r);
                        found += 1;
                    }
                }
            }
            let want = rng
                .pick(&[(2usize, 4), (3, 3), (4, 2), (5, 1)])
                .unwrap_or(2)
                .min(found);
            let mut latest_parent = i64::MIN;
            parents.reserve_exact(want);
            for i in 0..want {
                let j = i + rng.below((found - i) as u64) as usize;
                candidates.swap(i, j);
                if let Some(Some(parent)) = candidates.get(i) {
                    parents.push(uuid_string(parent.uuid));
                    latest_parent = latest_parent.max(parent.timestamp_ns);
                }
            }
            if latest_parent != i64::MIN {
                timestamp_ns =
                    timestamp_ns.max(latest_parent.saturating_add(rng.int(50_000, 5_000_000)));
            }
        }
        let timestamp_ns = timestamp_ns.clamp(start_ns, end_ns);

        // Price: mean-reverting walk in log space, stepped by the time since the last signal.
        let dt_days = state.last_ns.map_or(0.0, |last| {
            timestamp_ns.saturating_sub(last).max(0) as f64 / NS_PER_DAY as f64
        });
        if dt_days > 0.0 {
            state.ln_price += 0.08 * (state.ln_base - state.ln_price) * dt_days
                + state.daily_vol * dt_days.sqrt() * rng.normal();
        }
        state.last_ns = Some(state.last_ns.map_or(timestamp_ns, |l| l.max(timestamp_ns)));
        let price = round_to(state.ln_price.exp(), state.decimals);

        let mut direction = rng.pick(producer.directions).unwrap_or(Direction::Neutral);
        let mut signal_type = rng.pick(producer.types).unwrap_or(SignalType::Alert);
        if direction == Direction::Neutral
            && matches!(signal_type, SignalType::Entry | SignalType::ScaleIn)
        {
            signal_type = SignalType::Alert; // no view, nothing to open
        }
        if signal_type == SignalType::Alert && rng.chance(0.3) {
            direction = Direction::Neutral;
        }
        let conviction = self
            .conviction
            .get(pidx)
            .map_or(0.5, |q| round_to(q.sample(rng), 4).clamp(0.0, 1.0));

        let timeframe = if rng.chance(producer.timeframe_absent) {
            None
        } else {
            rng.pick(producer.timeframes)
        };
        let expires_at_ns = match signal_type {
            SignalType::Entry | SignalType::ScaleIn if rng.chance(0.65) => {
                let bar_s = timeframe.map_or(3600, |(_, s)| s);
                let bars = if producer.equities_only {
                    rng.int(1, 2) // options flow: a day or two
                } else {
                    rng.int(1, 4)
                };
                Some(bar_s * bars * 1_000_000_000 + rng.int(0, 999_999_999))
            }
            SignalType::Alert if rng.chance(0.2) => Some(rng.int(15, 120) * 60_000_000_000),
            _ => None,
        }
        .map(|ttl| timestamp_ns.saturating_add(ttl));

        let strategy_id = if rng.chance(producer.strategy_absent) {
            None
        } else {
            rng.pick(producer.strategies).map(str::to_owned)
        };
        let correlation_id = if rng.chance(producer.correlation_present) {
            let batch = self.batch.get_mut(pidx);
            let id = batch.map_or(0, |b| {
                if rng.chance(0.05) {
                    *b = rng.next_u64(); // a new scan run / decision batch
                }
                *b
            });
            let mut s = String::with_capacity(17);
            s.push_str("corr-");
            push_hex(&mut s, id, 12);
            Some(s)
        } else {
            None
        };
        let (acted_upon, execution_id) =
            if signal_type != SignalType::Alert && rng.chance(producer.outcome_known) {
                let p = producer.trust * (0.08 + 0.6 * conviction * conviction);
                if rng.chance(p) {
                    self.exec_seq += 1;
                    let mut s = String::with_capacity(12);
                    s.push_str("exec-");
                    push_padded(&mut s, self.exec_seq, 6);
                    (Some(true), Some(s))
                } else {
                    (Some(false), None)
                }
            } else {
                (None, None)
            };

        let ctx = Ctx {
            direction,
            conviction,
            price,
            price_decimals: state.decimals,
            crypto: state.crypto,
            timestamp_ns,
            parents: parents.len(),
        };
        let mut payload_json = String::with_capacity(192);
        (producer.payload)(rng, &ctx, &mut payload_json);

        let uuid = uuid_v7(timestamp_ns, rng);
        if let Some(slot) = state.recent.get_mut(state.next) {
            *slot = Some(Recent {
                uuid,
                producer: pidx,
                timestamp_ns,
            });
        }
        state.next = (state.next + 1) % RING;

        let deploy = self.deploy_ns.get(pidx).copied().unwrap_or(i64::MAX);
        let version = if arrival_ns >= deploy {
            producer.versions.1
        } else {
            producer.versions.0
        };
        Signal {
            signal_id: uuid_string(uuid),
            source_module: producer.name.to_owned(),
            source_version: Some(version.to_owned()),
            ticker,
            direction,
            conviction,
            signal_type,
            timeframe: timeframe.map(|(name, _)| name.to_owned()),
            price: if rng.chance(producer.price_present) {
                Some(price)
            } else {
                None
            },
            timestamp_ns,
            expires_at_ns,
            strategy_id,
            correlation_id,
            parent_signal_ids: parents,
            acted_upon,
            execution_id,
            payload_json,
        }
    }
}

impl Iterator for DemoGenerator {
    type Item = Signal;

    fn next(&mut self) -> Option<Signal> {
        if self.remaining == 0 {
            return None;
        }
        // The largest of k uniforms on [0, u] is u * U^(1/k): walking down from 1 gives the
        // arrival fractions in increasing order, without storing or sorting them.
        let k = self.remaining as f64;
        self.remaining -= 1;
        let draw = 1.0 - self.rng.f64(); // (0, 1]
        self.u_desc *= (draw.ln() / k).exp();
        let (arrival_ns, session) = self.calendar.at(1.0 - self.u_desc);
        Some(self.make(arrival_ns, session))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for DemoGenerator {}

impl std::iter::FusedIterator for DemoGenerator {}

/// Walker/Vose alias table: O(1) sampling of an index with given weights.
#[derive(Debug, Clone)]
struct Alias {
    /// Per slot: probability of keeping the slot, and the index to take otherwise.
    slots: Vec<(f64, u32)>,
}

impl Alias {
    fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut slots: Vec<(f64, u32)> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| (w * n as f64 / total, i as u32))
            .collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| slots.get(i).is_some_and(|s| s.0 < 1.0));
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            let Some(scaled_s) = slots.get(s).map(|x| x.0) else {
                break;
            };
            if let Some(slot) = slots.get_mut(s) {
                *slot = (scaled_s, l as u32);
            }
            if let Some(slot) = slots.get_mut(l) {
                slot.0 -= 1.0 - scaled_s;
                if slot.0 < 1.0 {
                    large.pop();
                    small.push(l);
                }
            }
        }
        // Leftovers (rounding) keep their own slot.
        for i in small.into_iter().chain(large) {
            if let Some(slot) = slots.get_mut(i) {
                *slot = (1.0, i as u32);
            }
        }
        Self { slots }
    }

    #[inline]
    fn sample(&self, rng: &mut Rng) -> usize {
        let i = rng.below(self.slots.len() as u64) as usize;
        match self.slots.get(i) {
            Some(&(keep, alias)) if rng.f64() >= keep => alias as usize,
            _ => i,
        }
    }
}

/// A UUIDv7: 48-bit Unix-millisecond timestamp, version 7, 12 + 62 random bits, variant `10`.
fn uuid_v7(timestamp_ns: i64, rng: &mut Rng) -> u128 {
    let ms = (timestamp_ns.div_euclid(1_000_000).max(0) as u128) & 0xFFFF_FFFF_FFFF;
    let rand = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
    (ms << 80)
        | (0x7 << 76)
        | (rand & (0xFFF << 64))
        | (0b10 << 62)
        | (rand & 0x3FFF_FFFF_FFFF_FFFF)
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower-case.
fn uuid_string(uuid: u128) -> String {
    let hi = (uuid >> 64) as u64;
    let lo = uuid as u64;
    let mut buf = *b"00000000-0000-0000-0000-000000000000";
    fill_hex(&mut buf, 0..8, hi >> 32);
    fill_hex(&mut buf, 9..13, hi >> 16);
    fill_hex(&mut buf, 14..18, hi);
    fill_hex(&mut buf, 19..23, lo >> 48);
    fill_hex(&mut buf, 24..36, lo);
    String::from_utf8(buf.to_vec()).unwrap_or_default()
}

/// Writes the low nibbles of `v` as lower-case hex into `buf[range]`, most significant first.
#[inline]
fn fill_hex(buf: &mut [u8], range: std::ops::Range<usize>, mut v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if let Some(dst) = buf.get_mut(range) {
        for slot in dst.iter_mut().rev() {
            *slot = HEX.get((v & 0xf) as usize).copied().unwrap_or(b'0');
            v >>= 4;
        }
    }
}

#[cfg(test)]
mod tests;
