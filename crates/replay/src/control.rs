//! [`ReplayControl`]: pause, resume, step, stop and change the speed of a running replay, from
//! its consumer or any other thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::speed::Speed;

/// A handle on a replay's flow; clones control the same replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayControl {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// Set by every command, cleared when the replay has read the state: the replay's fast
    /// path is one atomic load per event.
    attention: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    paused: bool,
    /// Events to deliver while paused.
    steps: u64,
    stopped: bool,
    /// A new speed, not yet taken up.
    speed: Option<Speed>,
}

/// What the replay does next, by its control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Deliver the next event at its time.
    Go,
    /// Deliver the next event now (a step while paused), then wait again.
    Step,
    /// Deliver nothing more.
    Stop,
}

impl ReplayControl {
    /// A control for a replay that runs (not paused).
    pub fn new() -> ReplayControl {
        ReplayControl::default()
    }

    fn command(&self, change: impl FnOnce(&mut State)) {
        let mut state = self.shared.state.lock();
        change(&mut state);
        self.shared.attention.store(true, Ordering::Release);
        self.shared.changed.notify_all();
    }

    /// Holds the replay before its next event until [`ReplayControl::resume`] (or a step).
    pub fn pause(&self) {
        self.command(|s| s.paused = true);
    }

    /// Lets a paused replay go on; its pacing continues from now, the pause not counted.
    pub fn resume(&self) {
        self.command(|s| {
            s.paused = false;
            s.steps = 0;
        });
    }

    /// While paused, delivers one more event at once (pacing skipped); no effect otherwise.
    pub fn step(&self) {
        self.command(|s| {
            if s.paused {
                s.steps += 1;
            }
        });
    }

    /// Ends the replay before its next event; a replay stopped is not resumed.
    pub fn stop(&self) {
        self.command(|s| s.stopped = true);
    }

    /// Changes the speed from the next event on.
    pub fn set_speed(&self, speed: Speed) {
        self.command(|s| s.speed = Some(speed));
    }

    /// Whether the replay is paused.
    pub fn is_paused(&self) -> bool {
        self.shared.state.lock().paused
    }

    /// Whether a command arrived since the replay last looked (cheap: one atomic load).
    pub(crate) fn needs_attention(&self) -> bool {
        self.shared.attention.load(Ordering::Acquire)
    }

    /// A new speed asked for since the last call, if any.
    pub(crate) fn take_speed(&self) -> Option<Speed> {
        self.shared.state.lock().speed.take()
    }

    /// What to do with the next event: blocks while paused (until resumed, stepped or
    /// stopped). `blocked` hears whether it waited.
    pub(crate) fn gate(&self, blocked: &mut bool) -> Gate {
        let mut state = self.shared.state.lock();
        loop {
            if state.stopped {
                return Gate::Stop;
            }
            if !state.paused {
                self.shared
                    .attention
                    .store(state.speed.is_some(), Ordering::Release);
                return Gate::Go;
            }
            if state.steps > 0 {
                state.steps -= 1;
                return Gate::Step;
            }
            *blocked = true;
            self.shared.changed.wait(&mut state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_step_resume_and_stop() {
        let control = ReplayControl::new();
        let mut blocked = false;
        assert_eq!(control.gate(&mut blocked), Gate::Go);
        assert!(!control.needs_attention());
        control.pause();
        assert!(control.needs_attention() && control.is_paused());
        control.step();
        control.step();
        assert_eq!(control.gate(&mut blocked), Gate::Step);
        assert_eq!(control.gate(&mut blocked), Gate::Step);
        assert!(!blocked);
        let other = control.clone();
        let waiter = std::thread::spawn(move || {
            let mut blocked = false;
            (other.gate(&mut blocked), blocked)
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        control.resume();
        assert_eq!(waiter.join().ok(), Some((Gate::Go, true)));
        control.set_speed(Speed::Times(2.0));
        assert_eq!(control.gate(&mut blocked), Gate::Go);
        assert!(
            control.needs_attention(),
            "a speed change waits to be taken"
        );
        assert_eq!(control.take_speed(), Some(Speed::Times(2.0)));
        control.stop();
        control.resume();
        assert_eq!(control.gate(&mut blocked), Gate::Stop);
    }
}
