//! `signal-ledger serve` under 1,000 concurrent HTTP producers on loopback, durable mode.
//!
//! Target (docs/BENCHMARKS.md, issue 8): 1,000 concurrent producers sustain ≥ 50,000 signals/s
//! in batches, every response sent only after its signals are durable (fdatasync).
//!
//! One iteration: a fresh ledger (default settings, as `signal-ledger init` makes it) served by
//! the real router on 127.0.0.1:0 exactly as `serve` runs it (one shared sink, the ledger's own
//! sink settings); [`PRODUCERS`] keep-alive connections opened before the clock starts; then
//! every producer sends [`ROUNDS`] POST /v1/signals requests of [`BATCH`] NDJSON signals one
//! after another, each only after the previous one was answered. The clock stops when the last
//! answer arrives. Elements/s is acknowledged, durable signals per second. After the clock, the
//! iteration checks every answer was 200 with `BATCH` seqs, shuts the server down and counts
//! the ledger's entries: exactly the acknowledged signals.
//!
//! The producers are hyper's HTTP/1.1 client (one `client::conn::http1` connection each) on their
//! own tokio runtime (two worker threads) in the same process as the server's runtime (two worker
//! threads) and the sink's writer thread: all share this machine's two cores, so the figure
//! includes the clients' cost. Against the hand-written HTTP/1.1 client it replaced (same
//! machine, one session, other builds running): criterion medians 0.69–1.25 s (median of four
//! runs 0.99 s, 202,000 signals/s) against 0.71–0.96 s (0.93 s, 216,000/s), about 6% slower,
//! inside the spread between runs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use signal_ledger::engine::{Ledger, PersistenceConfig, SignalSink, Snapshot};
use signal_ledger_server::{Server, ServerOptions};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

mod common;

/// Concurrent producers, each on its own connection.
const PRODUCERS: usize = 1_000;
/// Signals per request (`SIGNAL_LEDGER_HTTP_BATCH` overrides it for a real run).
const BATCH: usize = 100;
/// Requests each producer sends per iteration.
const ROUNDS: usize = 2;

/// The shape of one run: smaller when the binary runs as a smoke test.
#[derive(Clone, Copy)]
struct Load {
    producers: usize,
    batch: usize,
    rounds: usize,
}

impl Load {
    fn signals(self) -> u64 {
        (self.producers * self.batch * self.rounds) as u64
    }
}

fn load() -> Load {
    if common::measuring() {
        let batch = std::env::var("SIGNAL_LEDGER_HTTP_BATCH")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(BATCH);
        Load {
            producers: PRODUCERS,
            batch,
            rounds: ROUNDS,
        }
    } else {
        Load {
            producers: 20,
            batch: 10,
            rounds: 2,
        }
    }
}

/// One request body per producer: `batch` demo signals as NDJSON, whose signal_id is left out
/// (the ledger assigns one), so repeating a request appends new signals.
fn bodies(load: Load) -> Vec<Bytes> {
    let mut signals = common::demo_signals(load.producers * load.batch);
    for s in &mut signals {
        s.signal_id.clear();
    }
    signals
        .chunks(load.batch)
        .map(|chunk| Bytes::from(common::ndjson(chunk)))
        .collect()
}

/// A producer's keep-alive connection: its request sender and the task driving the connection.
struct Producer {
    sender: SendRequest<Full<Bytes>>,
    connection: JoinHandle<()>,
}

/// Opens one connection to `addr` (TCP_NODELAY) and its HTTP/1.1 handshake.
async fn connect(addr: SocketAddr) -> Producer {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP/1.1 handshake");
    let connection = tokio::spawn(async move {
        connection.await.expect("the connection");
    });
    Producer { sender, connection }
}

/// One producer: `rounds` POST /v1/signals of `body`, each after the previous answer; returns
/// the seqs it was given. Closes its connection.
async fn produce(producer: Producer, body: Bytes, rounds: usize) -> Vec<u64> {
    let Producer {
        mut sender,
        connection,
    } = producer;
    let mut answers = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/v1/signals")
            .header(HOST, "127.0.0.1")
            .header(CONTENT_TYPE, "application/x-ndjson")
            .body(Full::new(body.clone()))
            .expect("a request");
        sender.ready().await.expect("the connection is ready");
        let response = sender.send_request(request).await.expect("an answer");
        let status = response.status();
        let answer = response
            .into_body()
            .collect()
            .await
            .expect("the answer's body")
            .to_bytes();
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer)
        );
        answers.push(answer);
    }
    drop(sender);
    connection.await.expect("the connection task");
    // Decoded after the last request: the clock stops when `produce` returns, so this is a
    // little of the timed work, the same in every iteration.
    answers
        .iter()
        .flat_map(|body| {
            let answer: serde_json::Value = serde_json::from_slice(body).expect("a JSON answer");
            answer
                .get("seqs")
                .and_then(serde_json::Value::as_array)
                .expect("seqs")
                .iter()
                .map(|s| s.as_u64().expect("a seq"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A server on a fresh ledger, serving on `server_rt` until the returned sender fires.
fn start_server(
    server_rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    drop(Ledger::create(dir, PersistenceConfig::default()).expect("create the ledger"));
    let sink = SignalSink::open(dir).expect("open the sink");
    let server = server_rt
        .block_on(Server::bind("127.0.0.1:0", sink, ServerOptions::default()))
        .expect("bind");
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = server_rt.spawn(async move {
        server
            .serve(async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
    });
    (addr, stop, served)
}

/// Time for one iteration's load, checked afterwards.
fn one_run(
    load: Load,
    bodies: &[Bytes],
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
) -> Duration {
    let (tmp, dir) = common::fresh_dir();
    let (addr, stop, served) = start_server(server_rt, &dir);
    let producers: Vec<Producer> = client_rt.block_on(async {
        let mut producers = Vec::with_capacity(load.producers);
        for _ in 0..load.producers {
            producers.push(connect(addr).await);
        }
        producers
    });
    let started = Instant::now();
    let seqs: Vec<Vec<u64>> = client_rt.block_on(async {
        let tasks: Vec<_> = producers
            .into_iter()
            .zip(bodies)
            .map(|(producer, body)| tokio::spawn(produce(producer, body.clone(), load.rounds)))
            .collect();
        let mut seqs = Vec::with_capacity(tasks.len());
        for task in tasks {
            seqs.push(task.await.expect("a producer panicked"));
        }
        seqs
    });
    let elapsed = started.elapsed();
    let _ = stop.send(());
    server_rt.block_on(served).expect("the server task");
    let mut acknowledged: Vec<u64> = seqs.into_iter().flatten().collect();
    acknowledged.sort_unstable();
    acknowledged.dedup();
    assert_eq!(
        acknowledged.len() as u64,
        load.signals(),
        "one seq per signal"
    );
    let recorded = Snapshot::open(&dir)
        .expect("open a snapshot")
        .record_count();
    assert_eq!(
        recorded,
        load.signals(),
        "every acknowledged signal is in the ledger"
    );
    drop(tmp);
    elapsed
}

fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn bench_http_load(c: &mut Criterion) {
    let load = load();
    let bodies = bodies(load);
    let server_rt = runtime("server");
    let client_rt = runtime("producers");
    let mut group = c.benchmark_group("http_load");
    common::configure_slow(&mut group, Duration::from_secs(30));
    group.throughput(Throughput::Elements(load.signals()));
    group.bench_function(
        format!("{}_producers_batch_{}", load.producers, load.batch),
        |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| one_run(load, &bodies, &server_rt, &client_rt))
                    .sum()
            });
        },
    );
    group.finish();
}

fn main() {
    // What criterion_group!/criterion_main! expand to, without their undocumented `pub fn`.
    let mut criterion = Criterion::default().configure_from_args();
    bench_http_load(&mut criterion);
    criterion.final_summary();
}
