//! `serve`: the HTTP API of the server crate over this ledger. Opens the writer (with the
//! command-line overrides), starts ONE sink over it, binds the address, prints
//! `{"listening":"HOST:PORT","dashboard":"http://HOST:PORT/"}` on standard output, and serves
//! until SIGINT or SIGTERM; then it ends running replays, waits (at most
//! `signal_ledger_server::SHUTDOWN_GRACE`) for the requests in flight and drains the sink, so
//! everything accepted is durable.

use signal_ledger_engine::sink::{SignalSink, SinkConfig};
use signal_ledger_server::{Server, ServerOptions};

use crate::args::{GlobalArgs, ServeArgs};
use crate::error::{CliError, CliResult};
use crate::output;
use crate::wiring;

/// The line `serve` prints once bound.
#[derive(serde::Serialize)]
struct Listening {
    listening: String,
    dashboard: String,
}

/// Runs `serve`.
pub fn run(global: &GlobalArgs, args: &ServeArgs) -> CliResult<()> {
    if args.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(CliError::new(
            "--token (or SIGNAL_LEDGER_TOKEN) is empty: give a token, or leave it unset",
        ));
    }
    let dir = wiring::ledger_dir(global)?;
    let ledger = wiring::open_writer(dir, global)?;
    let persistence = ledger.config().clone();
    let sink = SignalSink::start(ledger, SinkConfig::from_persistence(&persistence))?;
    // Scheduled integrity checks, as `ingest --follow` runs them.
    let _checks = wiring::start_scheduled_checks(dir, &persistence)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("signal-ledger-http")
        .build()
        .map_err(|e| CliError::new(format!("start the HTTP runtime: {e}")))?;
    let options = ServerOptions {
        token: args.token.clone(),
        ..ServerOptions::default()
    };
    runtime.block_on(async {
        let server = Server::bind(&args.addr, sink, options)
            .await
            .map_err(|e| CliError::new(e.to_string()))?;
        let stop = stop_signal()
            .map_err(|e| CliError::io("install a handler for", "SIGINT/SIGTERM", &e))?;
        let addr = server.local_addr();
        output::println(&output::json(&Listening {
            listening: addr.to_string(),
            dashboard: format!("http://{addr}/"),
        })?)?;
        server
            .serve(stop)
            .await
            .map_err(|e| CliError::new(e.to_string()))
    })
}

/// A future that completes on the first SIGINT or SIGTERM.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
