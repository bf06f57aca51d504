//! When signals happen: an intensity over the window in 15-minute buckets (UTC), shaped like a US
//! trading week (regular session 13:30–20:00 UTC, i.e. 9:30–16:00 EDT, with busier open and close;
//! quieter pre-market and after-hours; a trickle overnight and at weekends).

use crate::rng::Rng;
use crate::text::NS_PER_DAY;

/// Bucket width.
pub(crate) const BUCKET_NS: i64 = 15 * 60 * 1_000_000_000;

/// The kind of market session a moment falls in; steers the producer and ticker mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Session {
    /// Regular US equity session.
    Regular,
    /// Pre-market and after-hours.
    Extended,
    /// Weekday night.
    Overnight,
    /// Saturday or Sunday (UTC).
    Weekend,
}

impl Session {
    /// Index into per-session tables.
    pub(crate) fn index(self) -> usize {
        match self {
            Session::Regular => 0,
            Session::Extended => 1,
            Session::Overnight => 2,
            Session::Weekend => 3,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Cumulative weight up to the end of this bucket.
    cum_end: f64,
    weight: f64,
    session: Session,
}

/// Relative intensity and session of the 15-minute bucket starting at `minute` (UTC) of a weekday.
fn weekday_shape(minute: i64) -> (f64, Session) {
    match minute {
        m if m < 8 * 60 => (0.6, Session::Overnight),
        m if m < 12 * 60 => (1.4, Session::Extended),
        m if m < 13 * 60 + 30 => (3.0, Session::Extended),
        m if m < 14 * 60 => (16.0, Session::Regular),
        m if m < 16 * 60 => (11.0, Session::Regular),
        m if m < 18 * 60 => (8.0, Session::Regular),
        m if m < 19 * 60 + 30 => (10.0, Session::Regular),
        m if m < 20 * 60 => (15.0, Session::Regular),
        m if m < 21 * 60 => (3.2, Session::Extended),
        m if m < 24 * 60 => (1.1, Session::Extended),
        _ => (0.6, Session::Overnight),
    }
}

/// Maps a monotone fraction of the total intensity to a time, walking forwards with a cursor.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    start_ns: i64,
    buckets: Vec<Bucket>,
    total: f64,
    cursor: usize,
}

impl Calendar {
    /// The calendar of `days` days starting at `start_ns`; day-to-day busyness varies with `rng`.
    pub(crate) fn new(start_ns: i64, days: u32, rng: &mut Rng) -> Self {
        let per_day = (NS_PER_DAY / BUCKET_NS) as usize;
        let count = per_day * days.max(1) as usize;
        let mut buckets = Vec::with_capacity(count);
        let mut cum = 0.0;
        let mut day_factor = 1.0;
        let mut current_day = i64::MIN;
        for b in 0..count {
            let t0 = start_ns.saturating_add((b as i64).saturating_mul(BUCKET_NS));
            let day = t0.div_euclid(NS_PER_DAY);
            if day != current_day {
                current_day = day;
                // Some days are busier (earnings, macro prints) than others.
                day_factor = rng.range(0.75, 1.3);
            }
            let minute = t0.rem_euclid(NS_PER_DAY) / 60_000_000_000;
            let weekday = (day + 4).rem_euclid(7); // 0 = Sunday; 1970-01-01 was a Thursday
            let (shape, session) = if weekday == 0 || weekday == 6 {
                (0.5, Session::Weekend)
            } else {
                weekday_shape(minute)
            };
            let weight = shape * day_factor * rng.range(0.9, 1.1);
            cum += weight;
            buckets.push(Bucket {
                cum_end: cum,
                weight,
                session,
            });
        }
        Self {
            start_ns,
            buckets,
            total: cum,
            cursor: 0,
        }
    }

    /// The time at fraction `u` (0..=1) of the cumulative intensity and its session.
    /// Successive calls must pass non-decreasing `u`.
    pub(crate) fn at(&mut self, u: f64) -> (i64, Session) {
        let target = u.clamp(0.0, 1.0) * self.total;
        let last = self.buckets.len().saturating_sub(1);
        while self.cursor < last
            && self
                .buckets
                .get(self.cursor)
                .is_some_and(|b| b.cum_end <= target)
        {
            self.cursor += 1;
        }
        let Some(bucket) = self.buckets.get(self.cursor) else {
            return (self.start_ns, Session::Overnight);
        };
        let before = bucket.cum_end - bucket.weight;
        let frac = if bucket.weight > 0.0 {
            ((target - before) / bucket.weight).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let offset = (self.cursor as i64)
            .saturating_mul(BUCKET_NS)
            .saturating_add((frac * BUCKET_NS as f64) as i64);
        (self.start_ns.saturating_add(offset), bucket.session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::days_from_civil;

    #[test]
    fn market_hours_are_busiest() {
        // Monday 2026-10-05 .. Sunday 2026-10-11.
        let start = days_from_civil(2026, 10, 5) * NS_PER_DAY;
        let mut cal = Calendar::new(start, 7, &mut Rng::new(3));
        let mut per_session = [0u32; 4];
        let n = 100_000;
        let mut prev = i64::MIN;
        for i in 0..n {
            let (t, s) = cal.at((f64::from(i) + 0.5) / f64::from(n));
            assert!(t >= prev && t >= start && t < start + 7 * NS_PER_DAY);
            prev = t;
            if let Some(c) = per_session.get_mut(s.index()) {
                *c += 1;
            }
        }
        let [regular, extended, overnight, weekend] = per_session;
        // 32.5 of 168 hours are regular session, but they carry most of the signals.
        assert!(regular > n / 2, "{per_session:?}");
        assert!(
            extended > overnight && overnight > 0 && weekend > 0,
            "{per_session:?}"
        );
    }
}
