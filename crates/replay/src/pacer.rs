//! [`Pacer`]: when each event of a paced replay is due on the clock, and how late it was
//! delivered.

use std::time::Duration;

use crate::speed::Speed;

/// Schedules events by the gaps between their times: an event is due the previous event's due
/// time plus the gap, divided by the speed and cut to `max_gap`. Gaps are measured from the
/// latest time seen so far, so an event whose time goes backwards (in seq order, a producer's
/// clock behind the others) is due at once and the gap after it is not counted twice.
#[derive(Debug)]
pub(crate) struct Pacer {
    speed: Speed,
    max_gap: Duration,
    /// The latest event time delivered (ns) and when it was due on the clock.
    last: Option<(i64, Duration)>,
    lateness: Lateness,
}

impl Pacer {
    pub(crate) fn new(speed: Speed, max_gap: Duration) -> Pacer {
        Pacer {
            speed,
            max_gap,
            last: None,
            lateness: Lateness::default(),
        }
    }

    /// Whether events wait for a due time (false at max speed: the clock is not even read).
    pub(crate) fn is_paced(&self) -> bool {
        self.speed != Speed::Max
    }

    /// When an event at `time_ns` is due (None: at once, unpaced); `now` is the clock's time,
    /// the due time of a first event.
    pub(crate) fn due(&self, time_ns: i64, now: Duration) -> Option<Duration> {
        let Speed::Times(factor) = self.speed else {
            return None;
        };
        let Some((latest_ns, latest_due)) = self.last else {
            return Some(now);
        };
        let gap_ns = time_ns.saturating_sub(latest_ns).max(0) as f64 / factor;
        let gap = Duration::from_nanos(gap_ns.min(self.max_gap.as_nanos() as f64) as u64)
            .min(self.max_gap);
        Some(latest_due + gap)
    }

    /// Notes an event at `time_ns` delivered at `now`, due at `due` (None: unpaced).
    pub(crate) fn delivered(&mut self, time_ns: i64, due: Option<Duration>, now: Duration) {
        let Some(due) = due else {
            return;
        };
        self.lateness.record(now.saturating_sub(due));
        let latest = self.last.map_or(time_ns, |(ns, _)| ns.max(time_ns));
        self.last = Some((latest, due));
    }

    /// Notes an event delivered unpaced (at max speed): should the speed change, the gap to
    /// the next event counts from the latest time delivered, not from the last paced one.
    pub(crate) fn unpaced(&mut self, time_ns: i64) {
        let (latest, due) = self.last.map_or((time_ns, Duration::ZERO), |(ns, due)| {
            (ns.max(time_ns), due)
        });
        self.last = Some((latest, due));
    }

    /// Notes an event delivered out of schedule at `now` (a step): later events are paced
    /// from it.
    pub(crate) fn rebase(&mut self, time_ns: i64, now: Duration) {
        let latest = self.last.map_or(time_ns, |(ns, _)| ns.max(time_ns));
        self.last = Some((latest, now));
    }

    /// Moves the schedule later by `by` (the time a replay stood paused).
    pub(crate) fn shift(&mut self, by: Duration) {
        if let Some((_, due)) = self.last.as_mut() {
            *due += by;
        }
    }

    /// Changes the speed: the gaps after the latest event delivered (due `now`) use the new one.
    pub(crate) fn set_speed(&mut self, speed: Speed, now: Duration) {
        self.speed = speed;
        if let Some((_, due)) = self.last.as_mut() {
            *due = now;
        }
    }

    /// How late paced events were.
    pub(crate) fn lateness(&self) -> &Lateness {
        &self.lateness
    }
}

/// Buckets of [`Lateness`]: one per microsecond up to 10 ms; later ones share the last.
const BUCKETS: usize = 10_001;

/// A histogram of how late paced events were delivered, by the microsecond.
#[derive(Debug, Clone)]
pub(crate) struct Lateness {
    buckets: Vec<u64>,
    count: u64,
    max: Duration,
}

impl Default for Lateness {
    fn default() -> Lateness {
        Lateness {
            buckets: vec![0; BUCKETS],
            count: 0,
            max: Duration::ZERO,
        }
    }
}

impl Lateness {
    fn record(&mut self, late: Duration) {
        let bucket = (late.as_micros() as usize).min(BUCKETS - 1);
        if let Some(b) = self.buckets.get_mut(bucket) {
            *b += 1;
        }
        self.count += 1;
        self.max = self.max.max(late);
    }

    /// Events recorded.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The smallest lateness that `q` (0..=1) of the events were at most, to the microsecond
    /// (10 ms for anything later).
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        let wanted = ((self.count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (micros, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                return Duration::from_micros(micros as u64);
            }
        }
        Duration::ZERO
    }

    /// The latest delivery.
    pub(crate) fn max(&self) -> Duration {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn gaps_are_scaled_capped_and_counted_from_the_latest_time() {
        let mut pacer = Pacer::new(Speed::Times(2.0), ms(500));
        let start = ms(100);
        assert_eq!(
            pacer.due(0, start),
            Some(start),
            "the first event is due at once"
        );
        pacer.delivered(0, Some(start), start);
        assert_eq!(
            pacer.due(200 * MS, ms(999)),
            Some(ms(200)),
            "200 ms at 2x is 100 ms"
        );
        pacer.delivered(200 * MS, Some(ms(200)), ms(200));
        assert_eq!(
            pacer.due(150 * MS, ms(200)),
            Some(ms(200)),
            "back in time: at once"
        );
        pacer.delivered(150 * MS, Some(ms(200)), ms(200));
        assert_eq!(
            pacer.due(260 * MS, ms(200)),
            Some(ms(230)),
            "from the latest time"
        );
        assert_eq!(
            pacer.due(60_000 * MS, ms(200)),
            Some(ms(700)),
            "capped at max_gap"
        );
        pacer.shift(ms(1000));
        assert_eq!(
            pacer.due(260 * MS, ms(0)),
            Some(ms(1230)),
            "a pause moves it on"
        );
        pacer.set_speed(Speed::Times(1.0), ms(2000));
        assert_eq!(pacer.due(260 * MS, ms(0)), Some(ms(2060)));
        pacer.rebase(300 * MS, ms(3000));
        assert_eq!(pacer.due(301 * MS, ms(0)), Some(ms(3001)));
        assert_eq!(Pacer::new(Speed::Max, ms(1)).due(5, ms(7)), None);
    }

    #[test]
    fn lateness_quantiles() {
        let mut l = Lateness::default();
        for us in 0..100u64 {
            l.record(Duration::from_micros(us));
        }
        l.record(ms(50));
        assert_eq!(l.count(), 101);
        assert_eq!(l.quantile(0.5), Duration::from_micros(50));
        assert_eq!(l.quantile(0.99), Duration::from_micros(99));
        assert_eq!(l.quantile(1.0), ms(10));
        assert_eq!(l.max(), ms(50));
    }
}
