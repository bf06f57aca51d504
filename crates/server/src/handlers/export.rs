//! GET /v1/export: every record meeting a filter, streamed as CSV or NDJSON exactly as
//! `signal-ledger export --format csv|ndjson --out -` writes them, or a compliance bundle
//! (`signal-ledger export-bundle`, docs/BUNDLES.md) as an uncompressed tar.
//!
//! The export runs on the blocking pool, writing into a [`ChannelWriter`] whose chunks the
//! response body streams: memory stays a few chunks however large the export, the client's
//! pace holds the export back, and a client that goes away makes the next write fail, which
//! ends the export. An error before the answer starts (bad parameters, a ledger that cannot be
//! opened, a bundle that cannot be written) is a JSON error; one after the headers went out can
//! only end the body early: the connection closes without the body's end (no final chunk), so
//! a client sees an incomplete transfer, never a short export that looks whole.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use signal_ledger_engine::now_ns;
use signal_ledger_engine::timefmt::format_rfc3339_ns;
use signal_ledger_query::{Catalog, ExportFormat, Filter};
use signal_ledger_replay::bundle::{
    export_bundle, MANIFEST, OUTCOMES_NDJSON, SHA256SUMS, SIGNALS_CSV, SIGNALS_NDJSON,
};

use crate::error::ApiError;
use crate::handlers::replay::replay_error;
use crate::handlers::{blocking, params};
use crate::params::{self as parse, ExportAs};
use crate::state::{AppState, Counters};
use crate::stream::ChannelWriter;

/// Query parameters as decoded pairs (repeatable filters come once per value).
type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Who wrote a bundle, as its manifest's `tool` says.
const TOOL: &str = concat!("signal-ledger-server ", env!("CARGO_PKG_VERSION"));

/// The files of a bundle, in the order the tar holds them.
const BUNDLE_FILES: [&str; 5] = [
    SIGNALS_CSV,
    SIGNALS_NDJSON,
    OUTCOMES_NDJSON,
    SHA256SUMS,
    MANIFEST,
];

/// Records meeting the filter as CSV or NDJSON, or a bundle of them as a tar
/// (`format=csv|ndjson|bundle`, default ndjson), as an attachment named
/// `signals-<UTC time>.csv|ndjson` or `signals-bundle-<UTC time>.tar`.
pub async fn get_export(
    State(state): State<Arc<AppState>>,
    query: Pairs,
) -> Result<Response, ApiError> {
    let (filter, format) = parse::export(params(query)?)?;
    let permit = state.stream_permit()?;
    Counters::bump(&state.counters.queries);
    let dir = state.dir.clone();
    let stamp = stamp(now_ns());
    match format {
        ExportAs::Records(format) => {
            let catalog = blocking(move || Ok(Catalog::open(&dir)?)).await?;
            let (mut writer, body) = ChannelWriter::body();
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                match catalog.export(&filter, format, &mut writer, &|_| {}) {
                    Ok(_) => {
                        // A client gone by now sees a cut body either way.
                        let _ = writer.finish();
                    }
                    Err(e) => writer.fail(format!("export: {e}")),
                }
            });
            let (content_type, extension) = match format {
                ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
                ExportFormat::Ndjson => ("application/x-ndjson", "ndjson"),
            };
            attachment(body, content_type, &format!("signals-{stamp}.{extension}"))
        }
        ExportAs::Bundle => {
            let name = format!("signals-bundle-{stamp}");
            let bundle = blocking(move || Bundle::write(&dir, &filter, name)).await?;
            let filename = format!("{}.tar", bundle.name);
            let (mut writer, body) = ChannelWriter::body();
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                match write_tar(&bundle, &mut writer) {
                    Ok(()) => {
                        let _ = writer.finish();
                    }
                    Err(e) => writer.fail(format!("bundle tar: {e}")),
                }
                // The bundle's temporary directory is removed here, once sent.
                drop(bundle);
            });
            attachment(body, "application/x-tar", &filename)
        }
    }
}

/// A 200 answer streaming `body`, to be saved as `filename`.
fn attachment(
    body: Body,
    content_type: &'static str,
    filename: &str,
) -> Result<Response, ApiError> {
    let disposition = HeaderValue::try_from(format!("attachment; filename=\"{filename}\""))
        .map_err(|e| ApiError::Internal(format!("internal error: file name {filename:?}: {e}")))?;
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    Ok(response)
}

/// A bundle written into a temporary directory of its own, removed when this is dropped.
#[derive(Debug)]
struct Bundle {
    /// The bundle directory: `<temporary directory>/<name>`.
    dir: PathBuf,
    /// Its name, the tar's top directory.
    name: String,
    _tmp: tempfile::TempDir,
}

impl Bundle {
    /// Writes the bundle of the ledger in `ledger`'s signals meeting `filter`.
    fn write(ledger: &Path, filter: &Filter, name: String) -> Result<Bundle, ApiError> {
        let catalog = Catalog::open(ledger)?;
        // Beside the ledger, on the disk sized for it (the system's temporary directory may
        // be a small tmpfs, that is memory).
        let staging = ledger.parent().unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".signal-ledger-bundle-")
            .tempdir_in(staging)
            .map_err(|e| {
                ApiError::Internal(format!(
                    "create a temporary directory for the bundle in {}: {e}",
                    staging.display()
                ))
            })?;
        let dir = tmp.path().join(&name);
        export_bundle(&catalog, filter, &dir, TOOL, &|_| {}).map_err(replay_error)?;
        Ok(Bundle {
            dir,
            name,
            _tmp: tmp,
        })
    }
}

/// Writes `bundle` to `out` as an uncompressed tar: its directory, then its files in
/// [`BUNDLE_FILES`] order, each read from disk a buffer at a time. On failure the body is
/// ended early (the tar is never closed with its end blocks). The caller finishes `out`.
fn write_tar(bundle: &Bundle, out: &mut ChannelWriter) -> io::Result<()> {
    let mut tar = tar::Builder::new(&mut *out);
    tar.mode(tar::HeaderMode::Deterministic);
    let appended = tar.append_dir(&bundle.name, &bundle.dir).and_then(|()| {
        BUNDLE_FILES.iter().try_for_each(|file| {
            tar.append_path_with_name(bundle.dir.join(file), format!("{}/{file}", bundle.name))
        })
    });
    if let Err(e) = appended {
        // Before the builder is dropped, which would write the end blocks.
        tar.get_mut().fail(format!("bundle tar: {e}"));
        return Err(e);
    }
    tar.into_inner()?.flush()
}

/// `ns` as a compact UTC time for a file name: `20261207T123800Z`.
fn stamp(ns: i64) -> String {
    let text = format_rfc3339_ns(ns);
    let seconds = text.get(..19).unwrap_or(&text);
    let mut out: String = seconds
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::stamp;

    #[test]
    fn a_stamp_is_the_utc_second_without_separators() {
        // 2026-10-30T14:00:00.5Z
        let ns = 1_793_368_800_500_000_000;
        assert_eq!(stamp(ns), "20261030T140000Z");
    }
}
