//! Prints every `DEMO_STEP`-th (default 9,000) of the default 100,000 demo signals (seed 42) as
//! NDJSON, to see what the data looks like:
//! `DEMO_STEP=1000 cargo run -p signal-ledger-demo --example print_samples`.

use signal_ledger_demo::{write_ndjson_line, DemoConfig, DemoGenerator};

fn main() {
    let step = std::env::var("DEMO_STEP")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(9_000);
    let mut out = String::new();
    for s in DemoGenerator::new(&DemoConfig::default()).step_by(step) {
        write_ndjson_line(&s, &mut out);
    }
    print!("{out}");
}
