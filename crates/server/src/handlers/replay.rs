//! GET /v1/replay: the replay crate's chronological replay (`signal-ledger replay`) as
//! server-sent events. The replay runs, paced, on the blocking pool and hands each event to a
//! bounded channel the SSE answer reads; when the client goes away the answer's stream is
//! dropped, which stops the replay through its control (within one pacing slice, even in a
//! long gap) and fails its next send.

use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use signal_ledger_engine::record::json::{write_outcome_json, write_view_json};
use signal_ledger_engine::record::EntryView;
use signal_ledger_replay::{
    Event, Position, Replay, ReplayControl, ReplayError, ReplayOrder, ReplaySummary, Start,
};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::handlers::{blocking, params};
use crate::params as parse;
use crate::state::{AppState, Counters};
use crate::stream::ChannelStream;

/// Query parameters as decoded pairs (repeatable filters come once per value).
type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Events that may wait in the channel ahead of the client.
const EVENTS_AHEAD: usize = 256;

/// A replay or bundle error as an answer: bad request input (a speed, a position) is a 400.
pub fn replay_error(e: ReplayError) -> ApiError {
    match e {
        ReplayError::Query(e) => e.into(),
        e @ (ReplayError::BadPosition(_)
        | ReplayError::PositionOrder { .. }
        | ReplayError::BadSpeed(_)) => ApiError::BadRequest(e.to_string()),
        e => ApiError::Internal(e.to_string()),
    }
}

/// Pacing accuracy in the end event, in microseconds.
#[derive(Debug, Serialize)]
struct PacingBody {
    paced: u64,
    p50_us: u128,
    p99_us: u128,
    max_us: u128,
}

/// The data of the `end` event: what the replay delivered.
#[derive(Debug, Serialize)]
struct EndBody {
    signals: u64,
    outcomes: u64,
    /// The position of the last event: pass as `resume` to go on after it.
    last: Option<String>,
    stopped: bool,
    pacing: PacingBody,
}

impl From<&ReplaySummary> for EndBody {
    fn from(s: &ReplaySummary) -> Self {
        EndBody {
            signals: s.signals,
            outcomes: s.outcomes,
            last: s.last.map(|p| p.encode()),
            stopped: s.stopped,
            pacing: PacingBody {
                paced: s.pacing.paced,
                p50_us: s.pacing.p50.as_micros(),
                p99_us: s.pacing.p99.as_micros(),
                max_us: s.pacing.max.as_micros(),
            },
        }
    }
}

/// One replayed entry as an SSE event: `event: signal` or `event: outcome`, `id:` its replay
/// position (what `resume` takes: a client that reconnects sends it back as `Last-Event-ID`
/// and the replay goes on after it), `data:` its JSON (a signal as GET /v1/signals writes a
/// record, an outcome as `tail` does).
fn sse_event(order: ReplayOrder, event: &Event<'_>, text: &mut String) -> SseEvent {
    text.clear();
    let name = match event {
        EntryView::Signal(s) => {
            write_view_json(s, text);
            "signal"
        }
        EntryView::Outcome(o) => {
            write_outcome_json(o, text);
            "outcome"
        }
    };
    SseEvent::default()
        .event(name)
        .id(Position::of(order, event).encode())
        .data(text.as_str())
}

/// The `id` of the last event. A client that reconnects after it (an `EventSource` does so by
/// itself) sends it back as `Last-Event-ID` and is answered 204, which tells it to stop.
pub const END_ID: &str = "end";

/// The last event: `end` with the summary, or `error` with what ended the replay early; both
/// with the id [`END_ID`].
fn last_event(result: Result<ReplaySummary, ReplayError>) -> SseEvent {
    let (name, data) = match result {
        Ok(summary) => (
            "end",
            serde_json::to_string(&EndBody::from(&summary)).unwrap_or_default(),
        ),
        Err(e) => (
            "error",
            serde_json::json!({ "error": e.to_string() }).to_string(),
        ),
    };
    SseEvent::default().event(name).id(END_ID).data(data)
}

/// Stops the replay when dropped: the SSE stream holds it, so a client that goes away stops
/// the replay even while it waits out a gap between two events.
#[derive(Debug)]
struct StopOnDrop(ReplayControl);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Stops the replay when the server starts shutting down; the watcher ends instead when
/// `ended` does (its sender is dropped when the replay has run).
fn stop_on_shutdown(
    state: &AppState,
    control: ReplayControl,
    ended: tokio::sync::oneshot::Receiver<()>,
) {
    let mut stopping = state.stopping.subscribe();
    tokio::spawn(async move {
        tokio::select! {
            stopped = stopping.wait_for(|stopping| *stopping) => {
                if stopped.is_ok() {
                    control.stop();
                }
            }
            _ = ended => {}
        }
    });
}

/// Runs `replay` to its end (or until the receiver is gone), sending each event, then `end`.
fn run(mut replay: Replay, sender: &mpsc::Sender<Result<SseEvent, Infallible>>) {
    let mut text = String::with_capacity(1024);
    let order = replay.order();
    let result =
        replay.run(
            |event| match sender.blocking_send(Ok(sse_event(order, event, &mut text))) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            },
        );
    // The client may be gone already: then there is no one to tell.
    let _ = sender.blocking_send(Ok(last_event(result)));
}

/// Matching signals (and their outcomes) replayed in chronological order, paced, as
/// server-sent events (`signal-ledger replay`); parameters as [`crate::params::replay`].
/// A `Last-Event-ID` header (an `EventSource` reconnecting) resumes after that event, or is
/// answered 204 (no more events) when it names the end. Bad parameters, a ledger that cannot
/// be opened, or too many streams in progress (`streams_max`, 503) are JSON errors before the
/// stream starts; an error during the replay ends the stream with an `error` event.
pub async fn get_replay(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Pairs,
) -> Result<Response, ApiError> {
    let mut options = parse::replay(params(query)?)?;
    match last_event_id(&headers)? {
        LastEventId::None => {}
        LastEventId::End => return Ok(StatusCode::NO_CONTENT.into_response()),
        LastEventId::After(position) => options.start = Start::After(position),
    }
    let permit = state.stream_permit()?;
    Counters::bump(&state.counters.queries);
    let dir = state.dir.clone();
    let replay = blocking(move || Replay::open(&dir, options).map_err(replay_error)).await?;
    let (sender, receiver) = mpsc::channel(EVENTS_AHEAD);
    let guard = StopOnDrop(replay.control());
    let (finished, ended) = tokio::sync::oneshot::channel::<()>();
    stop_on_shutdown(&state, replay.control(), ended);
    // Paced waits sleep: on the blocking pool, never on a runtime worker.
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        run(replay, &sender);
        drop(finished);
    });
    let stream = ChannelStream::with_guard(receiver, guard);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// What a `Last-Event-ID` header asks for.
enum LastEventId {
    /// No header: start as the parameters say.
    None,
    /// The client saw the end already.
    End,
    /// Go on after this event.
    After(Position),
}

fn last_event_id(headers: &HeaderMap) -> Result<LastEventId, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(LastEventId::None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == END_ID {
        return Ok(LastEventId::End);
    }
    Position::decode(text)
        .map(LastEventId::After)
        .map_err(|e| ApiError::BadRequest(format!("header Last-Event-ID: {e}")))
}
