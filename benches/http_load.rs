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
//! The producers are a hand-written HTTP/1.1 client on their own tokio runtime (two worker
//! threads) in the same process as the server's runtime (two worker threads) and the sink's
//! writer thread: all share this machine's two cores, so the figure includes the clients' cost.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use signal_ledger::engine::{Ledger, PersistenceConfig, SignalSink, Snapshot};
use signal_ledger_server::{Server, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// One request per producer: POST /v1/signals with `batch` demo signals whose signal_id is
/// left out (the ledger assigns one), so repeating a request appends new signals.
fn requests(load: Load) -> Vec<Arc<Vec<u8>>> {
    let mut signals = common::demo_signals(load.producers * load.batch);
    for s in &mut signals {
        s.signal_id.clear();
    }
    signals
        .chunks(load.batch)
        .map(|chunk| {
            let body = common::ndjson(chunk);
            let mut request = format!(
                "POST /v1/signals HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                 Content-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            request.extend_from_slice(&body);
            Arc::new(request)
        })
        .collect()
}

/// Reads one HTTP/1.1 response from `stream` into `buf`: its status and body.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> (u16, Vec<u8>) {
    buf.clear();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await.expect("read the response");
        assert!(n > 0, "the server closed the connection mid-response");
        buf.extend_from_slice(chunk.get(..n).expect("n ≤ chunk"));
    };
    let head = std::str::from_utf8(buf.get(..head_end).expect("head")).expect("ASCII head");
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("a Content-Length");
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.expect("read the body");
        assert!(n > 0, "the server closed the connection mid-body");
        buf.extend_from_slice(chunk.get(..n).expect("n ≤ chunk"));
    }
    let body = buf.get(head_end..head_end + length).expect("body").to_vec();
    (status, body)
}

/// One producer: `rounds` requests on `stream`, each after the previous answer; returns the
/// seqs it was given.
async fn produce(mut stream: TcpStream, request: Arc<Vec<u8>>, rounds: usize) -> Vec<u64> {
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut bodies = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        stream.write_all(&request).await.expect("send the request");
        let (status, body) = read_response(&mut stream, &mut buf).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        bodies.push(body);
    }
    // Decoded after the last request: the clock stops when `produce` returns, so this is a
    // little of the timed work, the same in every iteration.
    bodies
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
    requests: &[Arc<Vec<u8>>],
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
) -> Duration {
    let (tmp, dir) = common::fresh_dir();
    let (addr, stop, served) = start_server(server_rt, &dir);
    let streams: Vec<TcpStream> = client_rt.block_on(async {
        let mut streams = Vec::with_capacity(load.producers);
        for _ in 0..load.producers {
            let stream = TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("TCP_NODELAY");
            streams.push(stream);
        }
        streams
    });
    let started = Instant::now();
    let seqs: Vec<Vec<u64>> = client_rt.block_on(async {
        let tasks: Vec<_> = streams
            .into_iter()
            .zip(requests)
            .map(|(stream, request)| {
                tokio::spawn(produce(stream, Arc::clone(request), load.rounds))
            })
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
    let requests = requests(load);
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
                    .map(|_| one_run(load, &requests, &server_rt, &client_rt))
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
