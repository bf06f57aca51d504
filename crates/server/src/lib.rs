//! signal-ledger's HTTP API: producers record signals through ONE shared [`SignalSink`] (so
//! concurrent requests are group-committed together), and readers query, verify and monitor the
//! ledger through the query crate's `Catalog` and the engine's `Snapshot`, opened per request so
//! every read sees what was acknowledged before it.
//!
//! No storage or query logic lives here: each handler parses its request, calls the same
//! library function the CLI command calls, and formats the answer as JSON.
//!
//! ```no_run
//! # async fn run() -> Result<(), signal_ledger_server::ServerError> {
//! use signal_ledger_server::{Server, ServerOptions};
//! let sink = signal_ledger_engine::SignalSink::open(std::path::Path::new("ledger"))?;
//! let server = Server::bind("127.0.0.1:8080", sink, ServerOptions::default()).await?;
//! println!("listening on {}", server.local_addr());
//! server.serve(std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! [`SignalSink`]: signal_ledger_engine::SignalSink

#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod handlers;
pub mod json;
pub mod params;
mod server;
pub mod state;
mod stream;

pub use app::router;
pub use error::{ApiError, ServerError};
pub use server::{Server, SHUTDOWN_GRACE};
pub use state::{AppState, Counters, ServerOptions, BODY_LIMIT_DEFAULT, STREAMS_MAX_DEFAULT};
