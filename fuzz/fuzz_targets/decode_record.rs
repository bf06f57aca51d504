//! cargo-fuzz target `decode_record`: see `fuzz/src/targets.rs` for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| signal_ledger_fuzz::targets::decode_record(data));
