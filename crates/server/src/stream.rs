//! Streamed answers: a blocking writer ([`ChannelWriter`]) that hands fixed-size chunks to a
//! bounded channel, and the receiving end as a `Stream` ([`ChannelStream`]) that a response
//! body or an SSE answer polls. The bounded channel holds the writer back to the client's
//! pace; when the client goes away the receiver is dropped, the writer's next send fails and
//! whatever was writing ends with an error.
//!
//! A body whose writer did not [`finish`](ChannelWriter::finish) (it failed or panicked) ends
//! with an error, so the client sees an incomplete transfer, never a short body that looks
//! whole.

use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;

/// Size of the chunks a [`ChannelWriter`] sends.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks that may wait in the channel: with [`CHUNK_BYTES`], 512 KiB ahead of the client.
pub const CHUNKS_AHEAD: usize = 8;

/// What a body channel carries: a chunk, or the error that ends the body early.
pub type Chunk = Result<Bytes, io::Error>;

/// A blocking [`Write`] whose bytes go to a response body, [`CHUNK_BYTES`] at a time. Use it
/// only off the runtime's worker threads (it blocks while the channel is full).
#[derive(Debug)]
pub struct ChannelWriter {
    sender: mpsc::Sender<Chunk>,
    buffer: Vec<u8>,
    /// Set once the body was ended by [`ChannelWriter::fail`]: nothing more is sent.
    failed: bool,
    /// Set by [`ChannelWriter::finish`]: the body is whole.
    complete: Arc<AtomicBool>,
}

/// The error of a send to a body whose client went away.
fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the client closed the connection",
    )
}

impl ChannelWriter {
    /// A writer, and the body that streams what it writes.
    pub fn body() -> (ChannelWriter, Body) {
        let (sender, receiver) = mpsc::channel(CHUNKS_AHEAD);
        let complete = Arc::new(AtomicBool::new(false));
        let writer = ChannelWriter {
            sender,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            failed: false,
            complete: Arc::clone(&complete),
        };
        let stream = ChannelStream::new(receiver).complete_when(complete);
        (writer, Body::from_stream(stream))
    }

    /// Sends what is buffered and marks the body whole: only a finished body ends cleanly.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        self.complete.store(true, Ordering::Release);
        Ok(())
    }

    /// Sends the buffered bytes as one chunk.
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.failed {
            return Err(gone());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.sender
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| gone())
    }

    /// Ends the body early with `why` (after its headers went out, an error can only cut the
    /// body short: the client sees the connection end before the body's end). What is still
    /// buffered is dropped, and every later write fails.
    pub fn fail(&mut self, why: String) {
        if !self.failed {
            self.failed = true;
            self.buffer.clear();
            let _ = self.sender.blocking_send(Err(io::Error::other(why)));
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(gone());
        }
        let room = CHUNK_BYTES.saturating_sub(self.buffer.len());
        let (taken, _) = data.split_at(room.min(data.len()));
        self.buffer.extend_from_slice(taken);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send_buffer()?;
        }
        Ok(taken.len())
    }

    /// Sends what is buffered, however little.
    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return if self.failed { Err(gone()) } else { Ok(()) };
        }
        self.send_buffer()
    }
}

/// What a stream yields when its sender stopped before its end: a body's error (so the
/// transfer is seen to be incomplete), or nothing for an event stream (it just ends).
pub trait CutShort: Sized {
    /// The item that ends a stream cut short, if any.
    fn cut_short() -> Option<Self>;
}

impl CutShort for Chunk {
    fn cut_short() -> Option<Self> {
        Some(Err(io::Error::other(
            "the answer ended before its end (its writer stopped)",
        )))
    }
}

impl<T> CutShort for Result<T, std::convert::Infallible> {
    fn cut_short() -> Option<Self> {
        None
    }
}

/// The receiving end of a bounded channel as a `Stream`, holding `guard` until it is dropped
/// (so dropping the stream, as a server does when its client goes away, can stop the sender's
/// work through the guard's own `Drop`). Made [`complete_when`](ChannelStream::complete_when),
/// it ends cut short if its channel closes before the sender said it sent everything.
#[derive(Debug)]
pub struct ChannelStream<T, G = ()> {
    receiver: mpsc::Receiver<T>,
    _guard: G,
    /// Set by the sender once it has sent everything (None: any close is the end).
    complete: Option<Arc<AtomicBool>>,
    ended: bool,
}

impl<T> ChannelStream<T> {
    /// The stream of `receiver`'s items.
    pub fn new(receiver: mpsc::Receiver<T>) -> ChannelStream<T> {
        ChannelStream::with_guard(receiver, ())
    }
}

impl<T, G> ChannelStream<T, G> {
    /// The stream of `receiver`'s items, keeping `guard` alive as long as the stream.
    pub fn with_guard(receiver: mpsc::Receiver<T>, guard: G) -> ChannelStream<T, G> {
        ChannelStream {
            receiver,
            _guard: guard,
            complete: None,
            ended: false,
        }
    }

    /// The same stream, cut short if its channel closes before `complete` is set.
    pub fn complete_when(mut self, complete: Arc<AtomicBool>) -> Self {
        self.complete = Some(complete);
        self
    }
}

impl<T: CutShort, G: Unpin> futures_core::Stream for ChannelStream<T, G> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match this.receiver.poll_recv(cx) {
            Poll::Ready(None) => {
                this.ended = true;
                let whole = this
                    .complete
                    .as_ref()
                    .is_none_or(|complete| complete.load(Ordering::Acquire));
                Poll::Ready(if whole { None } else { T::cut_short() })
            }
            other => other,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Everything `body` yields: the bytes, and whether it ended with an error.
    async fn drain(body: Body) -> (Vec<u8>, bool) {
        let mut stream = body.into_data_stream();
        let mut bytes = Vec::new();
        loop {
            let next = std::future::poll_fn(|cx| {
                futures_core::Stream::poll_next(Pin::new(&mut stream), cx)
            })
            .await;
            match next {
                None => return (bytes, false),
                Some(Ok(chunk)) => bytes.extend_from_slice(&chunk),
                Some(Err(_)) => return (bytes, true),
            }
        }
    }

    #[test]
    fn only_a_finished_body_ends_cleanly() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for finish in [true, false] {
            let (mut writer, body) = ChannelWriter::body();
            let drained = runtime.spawn(drain(body));
            let written = std::thread::spawn(move || {
                writer.write_all(&[7u8; CHUNK_BYTES + 10]).unwrap();
                if finish {
                    writer.finish().unwrap();
                }
                // Otherwise dropped unfinished, as by a panic in the export.
            });
            written.join().unwrap();
            let (bytes, failed) = runtime.block_on(drained).unwrap();
            if finish {
                assert_eq!(bytes.len(), CHUNK_BYTES + 10);
                assert!(!failed);
            } else {
                assert!(failed, "an unfinished body must not end like a whole one");
            }
        }
    }
}
