//! [`Server`]: a bound listener and the router over one sink, served until a shutdown signal.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use signal_ledger_engine::SignalSink;
use tokio::net::TcpListener;

use crate::app::router;
use crate::error::ServerError;
use crate::state::{AppState, ServerOptions};

/// How long the server waits, once asked to stop, for the answers in flight before it drops
/// their connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The HTTP server: bound to its address, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: Arc<AppState>,
}

impl Server {
    /// Binds `addr` (`HOST:PORT`; port 0 picks a free one) and prepares the API over `sink`,
    /// which every write goes through.
    pub async fn bind(
        addr: &str,
        sink: SignalSink,
        options: ServerOptions,
    ) -> Result<Server, ServerError> {
        let bind_error = |source| ServerError::Bind {
            addr: addr.to_owned(),
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(Server {
            listener,
            local_addr,
            state: Arc::new(AppState::new(Arc::new(sink), options)),
        })
    }

    /// The address actually bound (the port chosen when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The state the handlers share (its sink, for a caller that also records directly).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight and shuts the
    /// sink down (everything it accepted is committed first). Replays in progress end at
    /// once (their `end` event says `stopped`); answers still going [`SHUTDOWN_GRACE`] later
    /// (a long export, a client that stopped reading) are cut short (the client sees an
    /// incomplete transfer).
    pub async fn serve<F>(self, shutdown: F) -> Result<(), ServerError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let app = router(Arc::clone(&self.state));
        let state = Arc::clone(&self.state);
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            shutdown.await;
            // Ends the paced replays, which would otherwise hold the shutdown open.
            state.stopping.send_replace(true);
            let _ = stopping.send(());
        };
        let graceful = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .into_future();
        let served = tokio::select! {
            served = graceful => served.map_err(ServerError::Serve),
            () = async {
                if stopped.await.is_ok() {
                    tokio::time::sleep(SHUTDOWN_GRACE).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                // The connections still open are dropped with the runtime's tasks.
                Ok(())
            }
        };
        let sink = Arc::clone(&self.state.sink);
        // shutdown joins the flusher thread: off the runtime's worker threads.
        let _ = tokio::task::spawn_blocking(move || sink.shutdown()).await;
        served
    }
}
