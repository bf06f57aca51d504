//! The eight demo producers: volumes, versions, timeframes, strategies, distributions, payloads.

use signal_ledger_engine::{Direction, SignalType};

use crate::calendar::Session;
use crate::rng::Rng;
use crate::text::{push_date, push_fixed, push_hex, push_u64, NS_PER_DAY};

/// What a payload builder knows about the signal it describes.
pub(crate) struct Ctx {
    pub(crate) direction: Direction,
    pub(crate) conviction: f64,
    /// Current price of the ticker (even when the signal itself omits it).
    pub(crate) price: f64,
    /// Decimals the ticker is quoted with.
    pub(crate) price_decimals: usize,
    pub(crate) crypto: bool,
    pub(crate) timestamp_ns: i64,
    pub(crate) parents: usize,
}

/// Writes a compact JSON object for one signal.
type PayloadFn = fn(&mut Rng, &Ctx, &mut String);

/// One producer's behaviour.
pub(crate) struct Producer {
    pub(crate) name: &'static str,
    /// Version before and after a mid-window deploy.
    pub(crate) versions: (&'static str, &'static str),
    /// When the new version rolls out, as a fraction of the window.
    pub(crate) deploy_at: f64,
    /// Relative volume per session (regular, extended, overnight, weekend).
    pub(crate) volume: [u32; 4],
    /// Timeframes with their bar length in seconds, weighted.
    pub(crate) timeframes: &'static [((&'static str, i64), u32)],
    pub(crate) timeframe_absent: f64,
    pub(crate) strategies: &'static [(&'static str, u32)],
    pub(crate) strategy_absent: f64,
    /// Kumaraswamy (a, b) shape of the conviction.
    pub(crate) conviction: (f64, f64),
    pub(crate) directions: &'static [(Direction, u32)],
    pub(crate) types: &'static [(SignalType, u32)],
    /// Producer-clock to ledger latency range, milliseconds.
    pub(crate) latency_ms: (f64, f64),
    pub(crate) price_present: f64,
    pub(crate) correlation_present: f64,
    /// Whether the producer learns if its signal was acted upon.
    pub(crate) outcome_known: f64,
    /// How much executors trust the producer (scales the acted-upon rate).
    pub(crate) trust: f64,
    /// Derives from other producers' signals (names parents).
    pub(crate) lineage: bool,
    /// Never emits crypto pairs.
    pub(crate) equities_only: bool,
    pub(crate) payload: PayloadFn,
}

use Direction::{Long, Neutral, Short};
use SignalType::{Alert, Entry, Exit, ScaleIn, ScaleOut};

/// Names of the demo producers (`source_module`), in table order.
pub const SOURCE_MODULES: [&str; 8] = [
    "ema_crossover",
    "social_sentiment",
    "signal_fusion",
    "agent_consensus",
    "momentum_breakout",
    "mean_reversion",
    "options_flow",
    "news_nlp",
];

pub(crate) const PRODUCERS: [Producer; 8] = [
    Producer {
        name: "ema_crossover",
        versions: ("2.3.1", "2.4.0"),
        deploy_at: 0.55,
        volume: [22, 10, 6, 6],
        timeframes: &[
            (("5m", 300), 3),
            (("15m", 900), 4),
            (("1h", 3600), 3),
            (("4h", 14_400), 1),
        ],
        timeframe_absent: 0.0,
        strategies: &[
            ("ema_9_21_scalp", 3),
            ("ema_12_26_swing", 5),
            ("ema_50_200_trend", 2),
        ],
        strategy_absent: 0.0,
        conviction: (2.0, 3.0),
        directions: &[(Long, 48), (Short, 40), (Neutral, 12)],
        types: &[
            (Entry, 50),
            (Exit, 35),
            (ScaleIn, 5),
            (ScaleOut, 5),
            (Alert, 5),
        ],
        latency_ms: (2.0, 40.0),
        price_present: 1.0,
        correlation_present: 0.15,
        outcome_known: 0.8,
        trust: 0.6,
        lineage: false,
        equities_only: false,
        payload: ema_payload,
    },
    Producer {
        name: "social_sentiment",
        versions: ("1.8.4", "1.9.0"),
        deploy_at: 0.3,
        volume: [12, 16, 24, 34],
        timeframes: &[(("1h", 3600), 5), (("4h", 14_400), 3), (("1d", 86_400), 2)],
        timeframe_absent: 0.1,
        strategies: &[("retail_momentum", 5), ("contrarian_fade", 2)],
        strategy_absent: 0.25,
        conviction: (1.2, 2.5),
        directions: &[(Long, 52), (Short, 30), (Neutral, 18)],
        types: &[
            (Entry, 30),
            (Exit, 15),
            (ScaleIn, 3),
            (ScaleOut, 2),
            (Alert, 50),
        ],
        latency_ms: (20.0, 350.0),
        price_present: 0.7,
        correlation_present: 0.3,
        outcome_known: 0.3,
        trust: 0.3,
        lineage: false,
        equities_only: false,
        payload: sentiment_payload,
    },
    Producer {
        name: "signal_fusion",
        versions: ("0.9.2", "1.0.0"),
        deploy_at: 0.7,
        volume: [9, 6, 5, 4],
        timeframes: &[(("15m", 900), 2), (("1h", 3600), 5), (("4h", 14_400), 3)],
        timeframe_absent: 0.0,
        strategies: &[("fusion_core", 6), ("fusion_aggr", 3)],
        strategy_absent: 0.0,
        conviction: (5.0, 2.5),
        directions: &[(Long, 45), (Short, 38), (Neutral, 17)],
        types: &[
            (Entry, 50),
            (Exit, 30),
            (ScaleIn, 8),
            (ScaleOut, 7),
            (Alert, 5),
        ],
        latency_ms: (5.0, 120.0),
        price_present: 1.0,
        correlation_present: 0.8,
        outcome_known: 0.9,
        trust: 1.0,
        lineage: true,
        equities_only: false,
        payload: fusion_payload,
    },
    Producer {
        name: "agent_consensus",
        versions: ("3.1.0", "3.1.1"),
        deploy_at: 0.45,
        volume: [6, 4, 4, 5],
        timeframes: &[(("1h", 3600), 3), (("4h", 14_400), 4), (("1d", 86_400), 3)],
        timeframe_absent: 0.0,
        strategies: &[("llm_committee", 5), ("risk_gated", 3)],
        strategy_absent: 0.0,
        conviction: (4.0, 2.0),
        directions: &[(Long, 44), (Short, 36), (Neutral, 20)],
        types: &[
            (Entry, 45),
            (Exit, 30),
            (ScaleIn, 10),
            (ScaleOut, 10),
            (Alert, 5),
        ],
        latency_ms: (50.0, 450.0),
        price_present: 1.0,
        correlation_present: 0.9,
        outcome_known: 0.9,
        trust: 1.0,
        lineage: true,
        equities_only: false,
        payload: consensus_payload,
    },
    Producer {
        name: "momentum_breakout",
        versions: ("4.0.7", "4.0.7"),
        deploy_at: 1.0,
        volume: [16, 8, 4, 3],
        timeframes: &[(("1m", 60), 3), (("5m", 300), 5), (("15m", 900), 3)],
        timeframe_absent: 0.0,
        strategies: &[("orb_15m", 3), ("breakout_20d", 4), ("vol_squeeze", 3)],
        strategy_absent: 0.0,
        conviction: (2.5, 2.0),
        directions: &[(Long, 58), (Short, 37), (Neutral, 5)],
        types: &[
            (Entry, 55),
            (Exit, 30),
            (ScaleIn, 8),
            (ScaleOut, 4),
            (Alert, 3),
        ],
        latency_ms: (1.0, 25.0),
        price_present: 1.0,
        correlation_present: 0.1,
        outcome_known: 0.85,
        trust: 0.7,
        lineage: false,
        equities_only: false,
        payload: momentum_payload,
    },
    Producer {
        name: "mean_reversion",
        versions: ("1.12.3", "1.12.4"),
        deploy_at: 0.2,
        volume: [14, 8, 6, 5],
        timeframes: &[(("5m", 300), 3), (("15m", 900), 4), (("1h", 3600), 3)],
        timeframe_absent: 0.0,
        strategies: &[("bb_revert", 4), ("pairs_stat_arb", 2), ("rsi2_dip", 3)],
        strategy_absent: 0.0,
        conviction: (3.0, 3.0),
        directions: &[(Long, 47), (Short, 47), (Neutral, 6)],
        types: &[
            (Entry, 48),
            (Exit, 40),
            (ScaleIn, 4),
            (ScaleOut, 6),
            (Alert, 2),
        ],
        latency_ms: (2.0, 60.0),
        price_present: 1.0,
        correlation_present: 0.2,
        outcome_known: 0.8,
        trust: 0.6,
        lineage: false,
        equities_only: false,
        payload: reversion_payload,
    },
    Producer {
        name: "options_flow",
        versions: ("2.0.0-rc.3", "2.0.0"),
        deploy_at: 0.6,
        volume: [10, 2, 0, 0],
        timeframes: &[(("1d", 86_400), 1)],
        timeframe_absent: 0.4,
        strategies: &[("unusual_flow", 6), ("sweep_follow", 3)],
        strategy_absent: 0.0,
        conviction: (1.5, 1.5),
        directions: &[(Long, 55), (Short, 43), (Neutral, 2)],
        types: &[
            (Entry, 40),
            (Exit, 15),
            (ScaleIn, 10),
            (ScaleOut, 5),
            (Alert, 30),
        ],
        latency_ms: (10.0, 200.0),
        price_present: 1.0,
        correlation_present: 0.4,
        outcome_known: 0.5,
        trust: 0.5,
        lineage: false,
        equities_only: true,
        payload: options_payload,
    },
    Producer {
        name: "news_nlp",
        versions: ("5.2.0", "5.3.0"),
        deploy_at: 0.8,
        volume: [8, 22, 18, 14],
        timeframes: &[(("15m", 900), 2), (("1h", 3600), 3), (("1d", 86_400), 3)],
        timeframe_absent: 0.35,
        strategies: &[("event_driven", 5), ("headline_scalp", 2)],
        strategy_absent: 0.3,
        conviction: (0.8, 0.8),
        directions: &[(Long, 40), (Short, 35), (Neutral, 25)],
        types: &[
            (Entry, 25),
            (Exit, 10),
            (ScaleIn, 2),
            (ScaleOut, 3),
            (Alert, 60),
        ],
        latency_ms: (30.0, 450.0),
        price_present: 0.6,
        correlation_present: 0.5,
        outcome_known: 0.3,
        trust: 0.4,
        lineage: false,
        equities_only: false,
        payload: news_payload,
    },
];

/// The producer-volume table of one session, ready for [`Rng::pick`].
pub(crate) fn volume_table(session: Session) -> [(usize, u32); 8] {
    let mut table = [(0usize, 0u32); 8];
    for (i, (slot, p)) in table.iter_mut().zip(PRODUCERS.iter()).enumerate() {
        *slot = (i, p.volume.get(session.index()).copied().unwrap_or(0));
    }
    table
}

fn choose<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items
        .get(rng.below(items.len() as u64) as usize)
        .copied()
        .unwrap_or("")
}

fn key(out: &mut String, first: bool, name: &str) {
    out.push(if first { '{' } else { ',' });
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
}

fn key_str(out: &mut String, first: bool, name: &str, value: &str) {
    key(out, first, name);
    out.push('"');
    out.push_str(value); // payload values are fixed ASCII words: nothing to escape
    out.push('"');
}

fn key_num(out: &mut String, name: &str, value: f64, decimals: usize) {
    key(out, false, name);
    push_fixed(out, value, decimals);
}

fn key_int(out: &mut String, name: &str, value: u64) {
    key(out, false, name);
    push_u64(out, value);
}

/// `+1` for long, `-1` for short, `0` for neutral.
fn sign(direction: Direction) -> f64 {
    match direction {
        Long => 1.0,
        Short => -1.0,
        Neutral => 0.0,
    }
}

fn ema_payload(rng: &mut Rng, c: &Ctx, out: &mut String) {
    let (fast, slow) = rng
        .pick(&[((9, 21), 3), ((12, 26), 5), ((20, 50), 2), ((50, 200), 1)])
        .unwrap_or((12, 26));
    key(out, true, "ema_fast");
    push_u64(out, fast);
    key_int(out, "ema_slow", slow);
    let cross = match c.direction {
        Long => "golden",
        Short => "death",
        Neutral => "none",
    };
    key_str(out, false, "cross", cross);
    let spread = sign(c.direction) * rng.range(0.3, 2.0) * (1.0 + 8.0 * c.conviction);
    key_num(out, "spread_bps", spread, 1);
    key_num(
        out,
        "atr",
        c.price * rng.range(0.004, 0.03),
        c.price_decimals,
    );
    key_num(
        out,
        "vol_ratio",
        rng.range(0.6, 1.2) + 1.5 * c.conviction,
        2,
    );
    out.push('}');
}

fn sentiment_payload(rng: &mut Rng, c: &Ctx, out: &mut String) {
    let platform = if c.crypto && rng.chance(0.4) {
        "telegram"
    } else {
        rng.pick(&[("reddit", 4), ("x", 4), ("stocktwits", 3), ("discord", 1)])
            .unwrap_or("reddit")
    };
    key_str(out, true, "platform", platform);
    key_int(
        out,
        "mentions_1h",
        rng.range(5f64.ln(), 6000f64.ln()).exp() as u64,
    );
    key_num(out, "z", 0.3 + 3.2 * c.conviction + 0.4 * rng.normal(), 2);
    let score = match c.direction {
        Neutral => rng.range(-0.15, 0.15),
        d => sign(d) * (0.1 + 0.8 * c.conviction * rng.range(0.7, 1.0)),
    };
    key_num(out, "score", score, 3);
    const TERMS: [&str; 12] = [
        "earnings",
        "calls",
        "puts",
        "squeeze",
        "breakout",
        "moon",
        "guidance",
        "short",
        "dip",
        "ath",
        "bagholder",
        "yolo",
    ];
    key(out, false, "top_terms");
    let first = rng.below(12);
    let step = 1 + rng.below(11); // 1..=11: first and first+step are distinct mod 12
    for i in 0..2u64 {
        out.push(if i == 0 { '[' } else { ',' });
        out.push('"');
        out.push_str(
            TERMS
                .get(((first + i * step) % 12) as usize)
                .copied()
                .unwrap_or("dip"),
        );
        out.push('"');
    }
    out.push_str("]}");
}

fn fusion_payload(rng: &mut Rng, c: &Ctx, out: &mut String) {
    key_str(
        out,
        true,
        "method",
        choose(rng, &["weighted_vote", "bayes_blend", "stacked_gbm"]),
    );
    key_int(out, "inputs", c.parents as u64);
    key(out, false, "weights");
    out.push('[');
    let raw: Vec<f64> = (0..c.parents).map(|_| rng.range(0.2, 1.0)).collect();
    let sum: f64 = raw.iter().sum();
    for (i, w) in raw.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_fixed(out, w / sum, 2);
    }
    out.push(']');
    key_num(out, "agreement", (0.35 + 0.6 * c.conviction).min(1.0), 2);
    key_num(out, "score", sign(c.direction) * c.conviction, 3);
    key_str(
        out,
        false,
        "regime",
        choose(rng, &["trending", "ranging", "volatile"]),
    );
    out.push('}');
}

fn consensus_payload(rng: &mut Rng, c: &Ctx, out: &mut String) {
    let agents = rng.int(3, 7) as u64;
    let majority = (agents / 2 + 1 + rng.below(agents - agents / 2)).min(agents);
    let rest = agents - majority;
    let other_a = rng.below(rest + 1);
    let other_b = rest - other_a;
    let (long, short, neutral) = match c.direction {
        Long => (majority, other_a, other_b),
        Short => (other_a, majority, other_b),
        Neutral => (other_a, other_b, majority),
    };
    key(out, true, "agents");
    push_u64(out, agents);
    out.push_str(",\"votes\":{\"long\":");
    push_u64(out, long);
    out.push_str(",\"short\":");
    push_u64(out, short);
    out.push_str(",\"neutral\":");
    push_u64(out, neutral);
    out.push('}');
    key(out, false, "quorum");
    out.push_str(if majority * 3 >= agents * 2 {
        "true"
    } else {
        "false"
    });
    key_int(out, "rounds", 1 + rng.below(3));
    let dissent = if rest == 0 {
        "none"
    } else {
        choose(
            rng,
            &["risk_agent", "macro_agent", "quant_agent", "news_agent"],
        )
    };
    key_str(out, false, "dissent", dissent);
    out.push('}');
}

fn momentum_payload(rng: &mut Rng, c: &Ctx, out: &mut String) {
    let s = sign(c.direction);
    key(out, true, "lookback");
    push_u64(out, rng.pick(&[(10u64, 2), (20, 5), (55, 2)]).unwrap_or(20));
    let level = c.price * (1.0 - s * rng.range(0.001, 0.02));
    key_num(out, "level", level, c.price_decimals);
    key_num(
        out,
        "rsi",
        50.0 + s * rng.range(5.0, 32.0) + rng.range(-4.0, 4.0),
        1,
    );
    key_num(out, "adx", rng.range(15.0, 25.0) + 25.0 * c.conviction, 1);
    key_num(
        out,
        "vol_surge",
        rng.range(0.9, 1.5) + 2.5 * c.conviction,
        2,
    );
    key_num(out, "gap_pct", s * rng.range(0.0, 2.5), 2);
    out.push('}');
}

fn reversion_payload(rng: &mut Rng, c: &Ctx, out: &mut String) {
    let s = sign(c.direction);
    let z = if s == 0.0 {
        rng.range(-0.8, 0.8)
    } else {
        -s * (1.4 + 2.2 * c.conviction + rng.range(0.0, 0.4))
    };
    key(out, true, "zscore");
    push_fixed(out, z, 2);
    key_int(
        out,
        "lookback",
        rng.pick(&[(20u64, 4), (50, 3), (100, 1)]).unwrap_or(20),
    );
    key_num(out, "half_life", rng.range(2.0, 18.0), 1);
    key_num(out, "bb_width", rng.range(0.01, 0.09), 3);
    let edge = z.abs() * rng.range(0.002, 0.006);
    let target = c.price * (1.0 + if s == 0.0 { 0.0 } else { s * edge });
    let stop = c.price * (1.0 - if s == 0.0 { edge } else { s * edge * 0.6 });
    key_num(out, "target", target, c.price_decimals);
    key_num(out, "stop", stop, c.price_decimals);
    out.push('}');
}

fn options_payload(rng: &mut Rng, c: &Ctx, out: &mut String) {
    let call = match c.direction {
        Long => rng.chance(0.88),
        Short => rng.chance(0.12),
        Neutral => rng.chance(0.5),
    };
    key_str(out, true, "right", if call { "C" } else { "P" });
    let step = match c.price {
        p if p < 5.0 => 0.5,
        p if p < 100.0 => 1.0,
        p if p < 500.0 => 5.0,
        _ => 10.0,
    };
    let otm = rng.range(-0.02, 0.12) * if call { 1.0 } else { -1.0 };
    let strike = ((c.price * (1.0 + otm) / step).round() * step).max(step);
    key_num(out, "strike", strike, if step < 1.0 { 1 } else { 0 });
    // Expiry: a Friday 2..45 days out.
    let day = c.timestamp_ns.div_euclid(NS_PER_DAY) + rng.int(2, 45);
    let weekday = (day + 4).rem_euclid(7);
    key(out, false, "expiry");
    out.push('"');
    push_date(out, day + (5 - weekday).rem_euclid(7));
    out.push('"');
    let premium = rng.range(25_000f64.ln(), 5_000_000f64.ln()).exp() * (0.5 + c.conviction);
    key_int(out, "premium_usd", premium as u64);
    key_int(
        out,
        "contracts",
        rng.range(50f64.ln(), 20_000f64.ln()).exp() as u64,
    );
    key_num(out, "iv", rng.range(0.18, 0.95), 2);
    key(out, false, "sweep");
    out.push_str(if rng.chance(0.3 + 0.4 * c.conviction) {
        "true"
    } else {
        "false"
    });
    key_str(
        out,
        false,
        "side",
        if rng.chance(0.8) { "ask" } else { "bid" },
    );
    out.push('}');
}

fn news_payload(rng: &mut Rng, c: &Ctx, out: &mut String) {
    key_str(
        out,
        true,
        "source",
        rng.pick(&[
            ("reuters", 4),
            ("bloomberg", 4),
            ("dow_jones", 3),
            ("benzinga", 3),
            ("sec_edgar", 2),
            ("pr_newswire", 2),
        ])
        .unwrap_or("reuters"),
    );
    key(out, false, "story");
    out.push_str("\"nw-");
    push_hex(out, rng.next_u64(), 8);
    out.push('"');
    let event = match (c.crypto, c.direction) {
        (true, Long) => choose(rng, &["etf_inflows", "exchange_listing", "upgrade_mainnet"]),
        (true, Short) => choose(rng, &["exchange_hack", "regulatory_action", "etf_outflows"]),
        (true, Neutral) => choose(rng, &["regulatory_comment", "macro_print"]),
        (false, Long) => choose(
            rng,
            &[
                "earnings_beat",
                "guidance_raise",
                "analyst_upgrade",
                "contract_win",
                "buyback",
            ],
        ),
        (false, Short) => choose(
            rng,
            &[
                "earnings_miss",
                "guidance_cut",
                "analyst_downgrade",
                "lawsuit",
                "recall",
            ],
        ),
        (false, Neutral) => choose(
            rng,
            &["exec_change", "conference", "filing_10q", "macro_print"],
        ),
    };
    key_str(out, false, "event", event);
    let score = match c.direction {
        Neutral => rng.range(-0.1, 0.1),
        d => sign(d) * (0.2 + 0.75 * c.conviction),
    };
    key_num(out, "sentiment", score, 2);
    key_num(out, "relevance", rng.range(0.55, 1.0), 2);
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_source_modules() {
        for (p, name) in PRODUCERS.iter().zip(SOURCE_MODULES) {
            assert_eq!(p.name, name);
            assert!(p.latency_ms.1 <= 500.0);
            assert!(!p.strategies.is_empty() && !p.directions.is_empty() && !p.types.is_empty());
        }
    }
}
