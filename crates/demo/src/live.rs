//! The demo dated as a live producer's: the signals of a window that ends at a given moment,
//! moved later by whole milliseconds so that the newest lands on that moment. Recorded right
//! after, the newest records show the latency of a live feed (the time the demo takes), not
//! the weeks between a fixed window and the day it is run.
//!
//! Deterministic like [`DemoGenerator`]: the same [`DemoConfig`] and moment give the same
//! signals. The move is only the gap between the window's last arrival and its end (seconds to
//! minutes), so the window's weekday shape stays where it was.

use signal_ledger_engine::Signal;

use crate::{DemoConfig, DemoGenerator};

/// Nanoseconds per millisecond.
const NS_PER_MS: i64 = 1_000_000;

/// The signals of a demo window ending at a given moment, the newest moved onto it.
#[derive(Debug, Clone)]
pub struct LiveDemo {
    config: DemoConfig,
    shift_ms: i64,
}

impl LiveDemo {
    /// `config`'s signals over the window that ends at `now_ns` (its own `end_ns` is replaced),
    /// all moved later by the whole milliseconds that bring the newest timestamp to at most
    /// 1 ms before `now_ns`. Generates the signals once to find the newest.
    pub fn ending_at(config: &DemoConfig, now_ns: i64) -> Self {
        let config = DemoConfig {
            end_ns: now_ns,
            ..config.clone()
        };
        let newest = DemoGenerator::new(&config).map(|s| s.timestamp_ns).max();
        let shift_ms = newest.map_or(0, |t| now_ns.saturating_sub(t).max(0) / NS_PER_MS);
        Self { config, shift_ms }
    }

    /// How much later than the generator dated them the signals are, in ms.
    pub fn shift_ms(&self) -> i64 {
        self.shift_ms
    }

    /// The signals, in emission order.
    pub fn signals(&self) -> impl Iterator<Item = Signal> + '_ {
        DemoGenerator::new(&self.config).map(|mut s| {
            shift_signal(&mut s, self.shift_ms);
            s
        })
    }
}

/// Moves a demo signal `delta_ms` later: its timestamp and expiry, and the millisecond time of
/// its id and of its parents' ids (UUIDv7's first 48 bits), so that lineage still joins. An id
/// that is not a UUID is left as it is.
pub fn shift_signal(signal: &mut Signal, delta_ms: i64) {
    let delta_ns = delta_ms.saturating_mul(NS_PER_MS);
    signal.timestamp_ns = signal.timestamp_ns.saturating_add(delta_ns);
    signal.expires_at_ns = signal.expires_at_ns.map(|t| t.saturating_add(delta_ns));
    shift_uuid_v7(&mut signal.signal_id, delta_ms);
    for parent in &mut signal.parent_signal_ids {
        shift_uuid_v7(parent, delta_ms);
    }
}

/// Adds `delta_ms` to the 48-bit millisecond time of a UUIDv7 string
/// (`tttttttt-tttt-7xxx-...`), lower-case hex as the generator writes it.
fn shift_uuid_v7(id: &mut String, delta_ms: i64) {
    let (Some(high), Some(b'-'), Some(low)) = (id.get(0..8), id.as_bytes().get(8), id.get(9..13))
    else {
        return;
    };
    let Ok(ms) = u64::from_str_radix(&format!("{high}{low}"), 16) else {
        return;
    };
    let shifted = ms.saturating_add_signed(delta_ms) & 0xFFFF_FFFF_FFFF;
    let time = format!("{:08x}-{:04x}", shifted >> 16, shifted & 0xFFFF);
    id.replace_range(0..13, &time);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn config(count: usize) -> DemoConfig {
        DemoConfig {
            count,
            ..DemoConfig::default()
        }
    }

    #[test]
    fn the_newest_signal_lands_on_the_moment() {
        let now = 1_796_000_000_123_456_789; // 2026-12-01T...
        let live = LiveDemo::ending_at(&config(5_000), now);
        let newest = live.signals().map(|s| s.timestamp_ns).max().unwrap();
        assert!(
            now - NS_PER_MS < newest && newest <= now,
            "{newest} vs {now}"
        );
        assert!(live.shift_ms() >= 0);
    }

    #[test]
    fn it_is_the_generator_moved_in_time_with_ids_and_lineage_kept() {
        let now = 1_796_000_000_000_000_000;
        let live = LiveDemo::ending_at(&config(5_000), now);
        let moved: Vec<Signal> = live.signals().collect();
        let plain: Vec<Signal> = DemoGenerator::new(&DemoConfig {
            end_ns: now,
            ..config(5_000)
        })
        .collect();
        let delta = live.shift_ms() * NS_PER_MS;
        let ids: HashSet<&str> = moved.iter().map(|s| s.signal_id.as_str()).collect();
        let mut parents = 0;
        for (m, p) in moved.iter().zip(&plain) {
            assert_eq!(m.timestamp_ns, p.timestamp_ns + delta);
            assert_eq!(m.expires_at_ns, p.expires_at_ns.map(|t| t + delta));
            // The id's time is the timestamp's millisecond, its random part unchanged.
            let ms = u64::from_str_radix(&m.signal_id[..13].replace('-', ""), 16).unwrap();
            assert_eq!(ms as i64, m.timestamp_ns / NS_PER_MS, "{}", m.signal_id);
            assert_eq!(m.signal_id[13..], p.signal_id[13..]);
            for parent in &m.parent_signal_ids {
                assert!(ids.contains(parent.as_str()), "{parent}");
                parents += 1;
            }
            let mut unshifted = m.clone();
            unshifted.timestamp_ns = p.timestamp_ns;
            unshifted.expires_at_ns = p.expires_at_ns;
            unshifted.signal_id.clone_from(&p.signal_id);
            unshifted.parent_signal_ids.clone_from(&p.parent_signal_ids);
            assert_eq!(&unshifted, p);
        }
        assert!(parents > 0);
    }

    #[test]
    fn an_id_that_is_not_a_uuid_is_left_alone() {
        for id in ["sig-0001", "", "0123456789abcdef", "zzzzzzzz-zzzz-7000"] {
            let mut s = id.to_owned();
            shift_uuid_v7(&mut s, 1_000);
            assert_eq!(s, id);
        }
        let mut s = "0000ffff-ffff-7abc-8def-0123456789ab".to_owned();
        shift_uuid_v7(&mut s, 1);
        assert_eq!(s, "00010000-0000-7abc-8def-0123456789ab");
    }

    #[test]
    fn no_signals_no_shift() {
        let live = LiveDemo::ending_at(&config(0), 1_796_000_000_000_000_000);
        assert_eq!(live.shift_ms(), 0);
        assert_eq!(live.signals().count(), 0);
    }
}
