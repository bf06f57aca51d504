//! Helpers shared by the end-to-end tests: run the real `signal-ledger` binary, parse its JSON.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Asserts exit 0 and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// The one JSON object on stdout (after asserting exit 0).
    pub fn json(&self) -> Value {
        serde_json::from_str(self.ok().trim()).unwrap()
    }

    /// Asserts the exit code and that stderr is exactly `line` and a newline.
    pub fn fails_with(&self, code: i32, line: &str) {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert_eq!(self.stderr, format!("{line}\n"));
    }
}

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_signal-ledger"));
    c.args(args).env_remove("SIGNAL_LEDGER_DIR");
    c
}

/// Runs the binary with `args` and no input.
pub fn run(args: &[&str]) -> Out {
    run_with_input(args, b"")
}

/// Runs the binary with `args`, feeding `input` on stdin.
pub fn run_with_input(args: &[&str], input: &[u8]) -> Out {
    let mut child = command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// `--ledger DIR` followed by `args`.
pub fn on(dir: &Path, args: &[&str]) -> Out {
    let mut all = vec!["--ledger", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&all)
}

/// `--ledger DIR` followed by `args`, with `input` on stdin.
pub fn on_with_input(dir: &Path, args: &[&str], input: &[u8]) -> Out {
    let mut all = vec!["--ledger", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    run_with_input(&all, input)
}

/// A new ledger in `dir` with small segments, so a few thousand records span several.
pub fn init_small(dir: &Path) {
    on(dir, &["--segment-size-bytes", "65536", "init"]).ok();
}

/// `generate --count N --seed S` as text.
pub fn generate(count: usize, seed: u64) -> String {
    run(&[
        "generate",
        "--count",
        &count.to_string(),
        "--seed",
        &seed.to_string(),
    ])
    .ok()
    .to_owned()
}

/// The `stats` object.
pub fn stats(dir: &Path) -> Value {
    on(dir, &["stats"]).json()
}

/// The number of records `stats` reports.
pub fn records(dir: &Path) -> u64 {
    stats(dir)["records"].as_u64().unwrap()
}

/// Each stdout line parsed as JSON.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
