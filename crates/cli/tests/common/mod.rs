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

/// The longest any one wait on the binary may take: generous, so only a hang reaches it.
pub const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(30);

/// How often a waiting test looks again.
pub const POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// The binary with `args`, not yet started (no `SIGNAL_LEDGER_DIR` from the environment).
pub fn binary(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_signal-ledger"));
    c.args(args).env_remove("SIGNAL_LEDGER_DIR");
    c
}

/// A started binary. Its stdout and stderr are collected in the background; it is killed if the
/// test ends, or panics, while it still runs.
pub struct Running {
    child: std::process::Child,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
}

fn collect(mut from: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        bytes
    })
}

impl Running {
    /// Starts `command` with stdin, stdout and stderr piped.
    pub fn start(mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().map(collect);
        let stderr = child.stderr.take().map(collect);
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its standard input, to write to and close (by dropping it).
    pub fn stdin(&mut self) -> std::process::ChildStdin {
        self.child.stdin.take().unwrap()
    }

    /// Sends `signal` ("TERM", "INT") with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}: {status}", self.pid());
    }

    /// Everything it printed, once it has exited.
    fn output(&mut self, code: i32) -> Out {
        let text = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
            String::from_utf8(h.map(|h| h.join().unwrap()).unwrap_or_default()).unwrap()
        };
        Out {
            code,
            stdout: text(self.stdout.take()),
            stderr: text(self.stderr.take()),
        }
    }

    /// Its output if it has exited (closing its stdin first is the caller's business).
    pub fn exited(&mut self) -> Option<Out> {
        let status = self.child.try_wait().unwrap()?;
        Some(self.output(status.code().unwrap_or(-1)))
    }

    /// Waits for it to exit (at most [`HANG_GUARD`]) and returns what it printed.
    pub fn wait(mut self) -> Out {
        drop(self.child.stdin.take());
        let deadline = std::time::Instant::now() + HANG_GUARD;
        loop {
            if let Some(out) = self.exited() {
                return out;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "signal-ledger (pid {}) still running after {HANG_GUARD:?}",
                self.pid()
            );
            std::thread::sleep(POLL);
        }
    }

    /// Polls `done` every [`POLL`] until it holds; panics (with the output) if the process exits
    /// first, or after [`HANG_GUARD`].
    pub fn wait_until(&mut self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + HANG_GUARD;
        while !done() {
            if let Some(out) = self.exited() {
                panic!("exited before {what}: {out:?}");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not {what} after {HANG_GUARD:?}"
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `command` to the end (at most [`HANG_GUARD`]) with `input` on stdin, then closed.
pub fn run_guarded(command: Command, input: &[u8]) -> Out {
    let mut running = Running::start(command);
    let mut stdin = running.stdin();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = running.wait();
    writer.join().unwrap();
    out
}

/// `binary(["--ledger", DIR, args...])`.
pub fn binary_on(dir: &Path, args: &[&str]) -> Command {
    let mut c = binary(&["--ledger", dir.to_str().unwrap()]);
    c.args(args);
    c
}

/// XORs the byte at `at` of `path` with `mask`.
pub fn flip(path: &Path, at: usize, mask: u8) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= mask;
    std::fs::write(path, &bytes).unwrap();
}

/// Flips one byte in the middle of the body of record `seq` of the ledger in `dir`; returns
/// its segment file and the frame's offset in it.
pub fn flip_record(dir: &Path, seq: u64) -> (std::path::PathBuf, u64) {
    let (path, offset, at) = {
        let snap = signal_ledger_engine::Snapshot::open(dir).unwrap();
        let entry = snap.entries_from(seq).next().unwrap().unwrap();
        assert_eq!(entry.seq, seq);
        let path = snap.segments()[entry.segment].path.clone();
        let at = entry.offset
            + signal_ledger_engine::record::frame::FRAME_HEADER_LEN
            + entry.body.len() / 2;
        (path, entry.offset as u64, at)
    };
    flip(&path, at, 0x20);
    (path, offset)
}

/// A running `signal-ledger serve`, killed (if still running) when dropped.
pub struct Serving {
    /// The server process.
    pub child: std::process::Child,
    /// The line it printed once bound (`{"listening":…,"dashboard":…}`).
    pub listening: Value,
    /// `http://HOST:PORT`.
    pub base: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `signal-ledger --ledger DIR serve --addr 127.0.0.1:0` with `envs` and waits (at most
/// a minute) for the line saying where it listens.
pub fn serve(dir: &Path, envs: &[(&str, &str)]) -> Serving {
    serve_with(dir, &[], envs)
}

/// [`serve`] with more arguments (overrides of the ledger's settings, say).
pub fn serve_with(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Serving {
    use std::io::BufRead;
    let mut command = binary_on(dir, &["serve", "--addr", "127.0.0.1:0"]);
    command.args(args);
    command
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let mut serving = Serving {
        child,
        listening: Value::Null,
        base: String::new(),
    };
    let line = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    serving.listening =
        serde_json::from_str(line.trim_end()).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    serving.base = format!(
        "http://{}",
        serving.listening["listening"].as_str().unwrap()
    );
    serving
}
