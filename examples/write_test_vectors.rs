//! Writes docs/test-vectors/ from the engine's encoder (the generator in
//! `tests/vector_support/generator.rs`) and prints the snippets of the walkthrough, docs/test-vectors/README.md (annotated bodies,
//! frame hex, CRC32 and row hashes, the version-2 header and head digest). Run it only for a
//! deliberate format change: `cargo run --example write_test_vectors` (or
//! `cargo run --example write_test_vectors -- DIR` to write elsewhere and compare).
//! `tests/committed_test_vectors_are_what_the_generator_writes.rs` requires the committed files
//! to be exactly what it writes.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a developer's tool over fixed inputs: a surprise should stop it loudly"
)]

#[path = "../tests/vector_support/mod.rs"]
mod vector_support;

use std::path::PathBuf;

use vector_support::generator::{
    annotate, annotate_outcome, committed_files, generate, generate_outcomes, header,
    outcomes_ledger_digest,
};
use vector_support::{vectors_dir, V2};

fn main() {
    let out = std::env::args_os()
        .nth(1)
        .map_or_else(vectors_dir, PathBuf::from);
    for (path, bytes) in committed_files() {
        let path = out.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    let generated = generate();
    let first = &generated[0];
    println!("---- test-vectors/README.md: first vector, annotated body ----");
    print!("{}", annotate(&first.body));
    println!("---- frame hex ----");
    for chunk in hex::encode(&first.frame).as_bytes().chunks(64) {
        println!("{}", std::str::from_utf8(chunk).unwrap());
    }
    println!("crc32 {:08x}", crc32fast::hash(&first.body));
    println!("row_hash {}", first.row_hash);
    for g in &generated[1..] {
        println!("---- seq {} annotated ----", g.stamp.seq);
        print!("{}", annotate(&g.body));
    }
    let outcomes = generate_outcomes(&generated);
    for g in &outcomes {
        println!("---- outcome seq {} annotated ----", g.stamp.seq);
        print!("{}", annotate_outcome(&g.body));
        println!("---- frame hex ----");
        for chunk in hex::encode(&g.frame).as_bytes().chunks(64) {
            println!("{}", std::str::from_utf8(chunk).unwrap());
        }
        println!("crc32 {:08x}", crc32fast::hash(&g.body));
        println!("row_hash {}", g.row_hash);
    }
    println!("---- version-2 ledger header hex ----");
    for chunk in hex::encode(header(V2).encode()).as_bytes().chunks(64) {
        println!("{}", std::str::from_utf8(chunk).unwrap());
    }
    println!(
        "head digest {}",
        outcomes_ledger_digest(&outcomes).to_json()
    );
}
