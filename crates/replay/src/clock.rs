//! [`Clock`]: the time a paced replay waits on — the system's monotonic clock, or a
//! [`FakeClock`] that tests advance without waiting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A monotonic clock a replay paces itself by.
pub trait Clock: Send + Sync {
    /// Time since the clock's origin; never decreases.
    fn now(&self) -> Duration;
    /// Returns once [`Clock::now`] has reached `deadline` (at once if it has).
    fn sleep_until(&self, deadline: Duration);
}

/// The system's monotonic clock. It sleeps until just before a deadline and spins the last
/// stretch, so events are delivered within tens of microseconds of their time, not within
/// the scheduler's wake-up slack.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

/// How long before a deadline [`SystemClock`] stops sleeping and spins.
const SPIN: Duration = Duration::from_micros(500);

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep_until(&self, deadline: Duration) {
        let now = self.now();
        if let Some(sleep) = deadline.checked_sub(now + SPIN) {
            std::thread::sleep(sleep);
        }
        while self.now() < deadline {
            std::hint::spin_loop();
        }
    }
}

/// A clock that only moves when slept on: [`Clock::sleep_until`] jumps to the deadline at once
/// and records how far it moved. Clones share one time.
#[derive(Debug, Clone, Default)]
pub struct FakeClock {
    state: Arc<Mutex<FakeState>>,
}

#[derive(Debug, Default)]
struct FakeState {
    now: Duration,
    sleeps: Vec<Duration>,
}

impl FakeClock {
    /// A clock at time zero.
    pub fn new() -> FakeClock {
        FakeClock::default()
    }

    /// Moves the clock forward by `by` (time passing outside any sleep: a slow consumer).
    pub fn advance(&self, by: Duration) {
        self.state.lock().now += by;
    }

    /// Every sleep so far: how far each moved the clock (zero when its deadline had passed).
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().sleeps.clone()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        self.state.lock().now
    }

    fn sleep_until(&self, deadline: Duration) {
        let mut state = self.state.lock();
        let moved = deadline.saturating_sub(state.now);
        state.now += moved;
        state.sleeps.push(moved);
    }
}
