//! Streamed answers: a blocking writer ([`ChannelWriter`]) that hands fixed-size chunks to a
//! bounded channel, and the receiving end as a `Stream` ([`ChannelStream`]) that a response
//! body or an SSE answer polls. The bounded channel holds the writer back to the client's
//! pace; when the client goes away the receiver is dropped, the writer's next send fails and
//! whatever was writing ends with an error.

use std::io::{self, Write};
use std::pin::Pin;
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
        let writer = ChannelWriter {
            sender,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            failed: false,
        };
        (writer, Body::from_stream(ChannelStream::new(receiver)))
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

/// The receiving end of a bounded channel as a `Stream`, holding `guard` until it is dropped
/// (so dropping the stream, as a server does when its client goes away, can stop the sender's
/// work through the guard's own `Drop`).
#[derive(Debug)]
pub struct ChannelStream<T, G = ()> {
    receiver: mpsc::Receiver<T>,
    _guard: G,
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
        }
    }
}

impl<T, G: Unpin> futures_core::Stream for ChannelStream<T, G> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().receiver.poll_recv(cx)
    }
}
