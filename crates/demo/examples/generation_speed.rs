//! Generation and NDJSON speed on 1M demo signals (seed 42), best and median of 3 runs:
//! `cargo run -p signal-ledger-demo --release --example generation_speed`.

use std::time::Instant;

use signal_ledger_demo::{write_ndjson_line, DemoConfig, DemoGenerator};

const COUNT: usize = 1_000_000;

/// (best, median) of three timings, in ms.
fn best_and_median(mut ms: [f64; 3]) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let [best, median, _] = ms;
    (best, median)
}

fn main() {
    let cfg = DemoConfig {
        seed: 42,
        count: COUNT,
        ..DemoConfig::default()
    };
    let (mut gen_ms, mut both_ms) = ([0.0; 3], [0.0; 3]);
    let (mut bytes, mut lines, mut payload) = (0usize, 0usize, 0usize);
    for (gen, both) in gen_ms.iter_mut().zip(both_ms.iter_mut()) {
        let t0 = Instant::now();
        payload = 0;
        for s in DemoGenerator::new(&cfg) {
            payload += s.payload_json.len();
        }
        *gen = t0.elapsed().as_secs_f64() * 1e3;

        // Serialize as a CLI would: into a reused buffer handed to a writer every ~1 MiB.
        let t1 = Instant::now();
        let mut out = String::with_capacity(1 << 21);
        (bytes, lines) = (0, 0);
        for s in DemoGenerator::new(&cfg) {
            write_ndjson_line(&s, &mut out);
            if out.len() >= 1 << 20 {
                bytes += out.len();
                lines += out.matches('\n').count();
                out.clear();
            }
        }
        bytes += out.len();
        lines += out.matches('\n').count();
        *both = t1.elapsed().as_secs_f64() * 1e3;
    }
    let (gen_best, gen_median) = best_and_median(gen_ms);
    let (both_best, both_median) = best_and_median(both_ms);
    println!(
        "1M signals (best / median of 3): generate {gen_best:.0} / {gen_median:.0} ms; \
         generate + NDJSON {both_best:.0} / {both_median:.0} ms; \
         {bytes} bytes NDJSON, average line {:.1} bytes, average payload {:.1} bytes",
        bytes as f64 / 1e6,
        payload as f64 / 1e6,
    );
    if lines != COUNT {
        eprintln!("expected {COUNT} lines, wrote {lines}");
        std::process::exit(1);
    }
}
