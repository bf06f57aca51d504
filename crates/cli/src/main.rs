//! The `signal-ledger` binary: everything lives in the library, so tests can drive it too.

fn main() -> std::process::ExitCode {
    signal_ledger_cli::main_with_args(std::env::args_os())
}
