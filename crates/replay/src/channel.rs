//! The replay as an iterator ([`Replay::into_events`], [`ReplayEvents`]) and on a thread of
//! its own, delivering into a channel ([`Replay::spawn`], [`ReplayChannel`]).

use std::ops::ControlFlow;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;

use crate::control::ReplayControl;
use crate::error::{ReplayError, Result};
use crate::event::OwnedEvent;
use crate::replay::Replay;
use crate::summary::ReplaySummary;

impl Replay {
    /// The replay as an iterator of owned events (each paced like [`Replay::next_event`]); an
    /// error ends it.
    pub fn into_events(self) -> ReplayEvents {
        ReplayEvents {
            replay: self,
            failed: false,
        }
    }

    /// Runs the replay on a thread of its own, sending each event, owned, into a channel of
    /// `capacity` events (a full channel holds the replay back: its pacing then follows the
    /// consumer). Dropping the receiver stops it.
    pub fn spawn(self, capacity: usize) -> Result<ReplayChannel> {
        let (sender, events) = sync_channel(capacity);
        let control = self.control();
        let mut replay = self;
        let handle = std::thread::Builder::new()
            .name("signal-ledger-replay".to_owned())
            .spawn(move || {
                replay.run(|event| match sender.send(event.to_record()) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                })
            })
            .map_err(|e| ReplayError::io("spawn", "the replay thread", e))?;
        Ok(ReplayChannel {
            events,
            control,
            handle: Some(handle),
        })
    }
}

/// A replay as an iterator of owned events.
#[derive(Debug)]
pub struct ReplayEvents {
    replay: Replay,
    failed: bool,
}

impl ReplayEvents {
    /// The replay's control.
    pub fn control(&self) -> ReplayControl {
        self.replay.control()
    }

    /// What was delivered so far.
    pub fn summary(&self) -> ReplaySummary {
        self.replay.summary()
    }
}

impl Iterator for ReplayEvents {
    type Item = Result<OwnedEvent>;

    fn next(&mut self) -> Option<Result<OwnedEvent>> {
        if self.failed {
            return None;
        }
        match self.replay.next_event() {
            Ok(event) => event.map(|e| Ok(e.to_record())),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// A replay running on its own thread: its events arrive on [`ReplayChannel::events`]; when
/// the channel ends, [`ReplayChannel::join`] says whether the replay ended well.
#[derive(Debug)]
pub struct ReplayChannel {
    /// The events, owned, in order.
    pub events: Receiver<OwnedEvent>,
    /// The replay's control.
    pub control: ReplayControl,
    /// None once joined.
    handle: Option<JoinHandle<Result<ReplaySummary>>>,
}

impl ReplayChannel {
    /// Waits for the replay's thread: its summary, or the error that ended it. The events not
    /// received are given up: the receiver is dropped and the replay stopped (a paused replay,
    /// or one waiting out a gap, would not otherwise notice until its next send). The summary
    /// may count events sent but never received: resume from the last event received.
    pub fn join(mut self) -> Result<ReplaySummary> {
        let (_, unused) = sync_channel(0);
        drop(std::mem::replace(&mut self.events, unused));
        self.control.stop();
        let Some(handle) = self.handle.take() else {
            return Ok(ReplaySummary::default());
        };
        handle.join().unwrap_or_else(|_| {
            Err(ReplayError::io(
                "run",
                "the replay thread",
                std::io::Error::other("the replay thread panicked"),
            ))
        })
    }
}

impl Drop for ReplayChannel {
    /// A channel dropped without [`ReplayChannel::join`] stops its replay (the thread ends on
    /// its own, releasing the snapshot).
    fn drop(&mut self) {
        self.control.stop();
    }
}
