//! A real server on 127.0.0.1:0 over a temporary ledger, and a blocking HTTP client for it.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

pub mod webdriver;

use std::path::{Path, PathBuf};

use serde_json::Value;
use signal_ledger_demo::{write_ndjson_line, DemoConfig, DemoGenerator};
use signal_ledger_engine::{Ledger, PersistenceConfig, SignalSink, SinkConfig};
use signal_ledger_server::{Server, ServerOptions};

/// A running server; dropping it shuts it down (the sink commits what it holds).
pub struct TestServer {
    pub base: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
    rt: tokio::runtime::Runtime,
    agent: ureq::Agent,
}

/// A ledger with small segments, so reads cross segment boundaries.
pub fn new_ledger(tmp: &Path) -> PathBuf {
    let dir = tmp.join("ledger");
    let config = PersistenceConfig {
        segment_size_bytes: 64 * 1024,
        ..PersistenceConfig::default()
    };
    drop(Ledger::create(&dir, config).unwrap());
    dir
}

impl TestServer {
    pub fn start(options: ServerOptions) -> TestServer {
        TestServer::start_with(options, None)
    }

    /// A server whose sink has `sink_config` (default: the ledger's settings).
    pub fn start_with(options: ServerOptions, sink_config: Option<SinkConfig>) -> TestServer {
        let tmp = tempfile::tempdir().unwrap();
        let dir = new_ledger(tmp.path());
        TestServer::spawn(dir, Some(tmp), options, sink_config)
    }

    /// A server on the existing ledger `dir` (the caller keeps the directory), e.g. to serve
    /// a ledger again after a previous server on it stopped.
    pub fn start_on(dir: &Path, options: ServerOptions) -> TestServer {
        TestServer::spawn(dir.to_path_buf(), None, options, None)
    }

    fn spawn(
        dir: PathBuf,
        tmp: Option<tempfile::TempDir>,
        options: ServerOptions,
        sink_config: Option<SinkConfig>,
    ) -> TestServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sink = match sink_config {
            Some(config) => SignalSink::start(Ledger::open(&dir).unwrap(), config).unwrap(),
            None => SignalSink::open(&dir).unwrap(),
        };
        let server = rt
            .block_on(Server::bind("127.0.0.1:0", sink, options))
            .unwrap();
        let base = format!("http://{}", server.local_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = rt.spawn(async move {
            server
                .serve(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        TestServer {
            base,
            dir,
            _tmp: tmp,
            shutdown: Some(tx),
            served: Some(served),
            rt,
            agent,
        }
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let mut r = self
            .agent
            .get(format!("{}{path}", self.base))
            .call()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap())
    }

    pub fn get_json(&self, path: &str) -> (u16, Value) {
        let (status, text) = self.get(path);
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
        )
    }

    pub fn post(
        &self,
        path: &str,
        content_type: Option<&str>,
        token: Option<&str>,
        body: &[u8],
    ) -> (u16, Value) {
        let mut headers = Vec::new();
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct.to_owned()));
        }
        if let Some(t) = token {
            headers.push(("Authorization", format!("Bearer {t}")));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        self.post_with(path, &headers, body)
    }

    /// POST `body` to `path` with exactly `headers`: the status and the JSON answer.
    pub fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
        let mut req = self.agent.post(format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let mut r = req.send(body).unwrap();
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
        )
    }

    pub fn post_ndjson(&self, body: &str) -> (u16, Value) {
        self.post(
            "/v1/signals",
            Some("application/x-ndjson"),
            None,
            body.as_bytes(),
        )
    }

    pub fn post_one(&self, body: &str) -> (u16, Value) {
        self.post(
            "/v1/signals",
            Some("application/json"),
            None,
            body.as_bytes(),
        )
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = self.rt.block_on(served);
        }
    }
}

/// `count` demo signals as NDJSON.
pub fn demo_ndjson(count: usize, seed: u64) -> String {
    let mut out = String::new();
    for s in DemoGenerator::new(&DemoConfig {
        count,
        seed,
        ..DemoConfig::default()
    }) {
        write_ndjson_line(&s, &mut out);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// One small signal as JSON, with `id` and optional parents.
pub fn signal(id: &str, ticker: &str, parents: &[&str]) -> String {
    serde_json::json!({
        "signal_id": id,
        "source_module": "ema_crossover",
        "ticker": ticker,
        "direction": "long",
        "conviction": 0.75,
        "signal_type": "entry",
        "timestamp": "2026-10-30T14:00:00Z",
        "parent_signal_ids": parents,
    })
    .to_string()
}

/// A response read whole as bytes, with its headers.
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl TestServer {
    /// GET `path`, the body read whole as bytes (no size limit).
    pub fn get_raw(&self, path: &str) -> RawResponse {
        self.get_raw_with(path, &[])
    }

    /// [`TestServer::get_raw`] with `headers`.
    pub fn get_raw_with(&self, path: &str, headers: &[(&str, &str)]) -> RawResponse {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let mut r = req.call().unwrap();
        let status = r.status().as_u16();
        let headers = r
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        let body = r
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .unwrap();
        RawResponse {
            status,
            headers,
            body,
        }
    }
}

impl TestServer {
    /// POST /v1/outcomes of `body` with `content_type` and an optional bearer `token`.
    pub fn post_outcomes(
        &self,
        content_type: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, Value) {
        self.post("/v1/outcomes", Some(content_type), token, body.as_bytes())
    }

    /// POST /v1/outcomes of one outcome object (application/json, no token).
    pub fn post_one_outcome(&self, body: &str) -> (u16, Value) {
        self.post_outcomes("application/json", None, body)
    }

    /// POST /v1/outcomes of NDJSON outcome lines (application/x-ndjson, no token).
    pub fn post_ndjson_outcomes(&self, body: &str) -> (u16, Value) {
        self.post_outcomes("application/x-ndjson", None, body)
    }
}

/// One outcome line as JSON (the `signal-ledger outcome --file` format): acted upon with an
/// execution id, or dismissed with a reason.
pub fn outcome(signal_id: &str, acted: bool) -> String {
    if acted {
        serde_json::json!({
            "signal_id": signal_id,
            "acted_upon": true,
            "execution_id": format!("ex-{signal_id}"),
            "at": "2026-10-30T14:05:00Z",
        })
    } else {
        serde_json::json!({
            "signal_id": signal_id,
            "acted_upon": false,
            "reason": "spread too wide",
        })
    }
    .to_string()
}
