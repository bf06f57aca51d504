//! Promise: docs/FORMAT.md embeds the first signal vector and the first outcome vector (frame
//! hex, CRC32, row hash), the domain tag, and the headers of the committed ledgers, so the
//! document and the vectors cannot drift apart.
//!
//! Regenerate the vectors only for a deliberate format change: `cargo run --example write_test_vectors`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod vector_support;

use vector_support::*;

#[test]
fn format_md_embeds_the_first_vector() {
    let doc = load_vectors();
    let first = &doc["vectors"][0];
    let text = std::fs::read_to_string(root().join("docs/FORMAT.md")).unwrap();
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for key in ["row_hash", "crc32"] {
        let value = first[key].as_str().unwrap();
        assert!(
            text.contains(value),
            "FORMAT.md lacks the first vector's {key} {value}"
        );
    }
    let frame = first["frame_hex"].as_str().unwrap();
    assert!(
        compact.contains(frame),
        "FORMAT.md lacks the first vector's frame hex"
    );
    let tag = hex::encode(DOMAIN_TAG);
    assert!(
        compact.contains(&tag),
        "FORMAT.md lacks the domain tag bytes {tag}"
    );
    // The header of the committed ledger, too.
    let header = doc["ledgers"][UNSEALED_DIR]["header"]["hex"]
        .as_str()
        .unwrap();
    assert!(
        compact.contains(header),
        "FORMAT.md lacks the committed segment header hex"
    );
}

#[test]
fn format_md_embeds_the_first_outcome_vector_and_the_v2_ledger() {
    let doc = load_outcome_vectors();
    let text = std::fs::read_to_string(root().join("docs/FORMAT.md")).unwrap();
    let section = text
        .split_once("\n## Test vectors\n")
        .unwrap()
        .1
        .split_once("\n## ")
        .unwrap()
        .0;
    let compact: String = section.chars().filter(|c| !c.is_whitespace()).collect();
    let first = &doc["vectors"][0];
    for key in ["row_hash", "crc32"] {
        let value = first[key].as_str().unwrap();
        assert!(
            section.contains(value),
            "FORMAT.md's Test vectors lack the first outcome vector's {key} {value}"
        );
    }
    assert!(
        compact.contains(first["frame_hex"].as_str().unwrap()),
        "FORMAT.md's Test vectors lack the first outcome vector's frame hex"
    );
    // Every outcome vector is listed by name with its seq, and the version-2 ledger by its
    // directory, header and head.
    for v in doc["vectors"].as_array().unwrap() {
        let row = format!("|`{}`|{}|", v["name"].as_str().unwrap(), v["stamp"]["seq"]);
        assert!(compact.contains(&row), "FORMAT.md lacks the row {row}");
    }
    let ledger = &doc["ledgers"][OUTCOMES_DIR];
    assert!(section.contains(&format!("docs/test-vectors/{OUTCOMES_DIR}/")));
    assert!(compact.contains(ledger["header"]["hex"].as_str().unwrap()));
    assert!(section.contains(ledger["head_row_hash"].as_str().unwrap()));
    assert!(section.contains(ledger["head_digest"].as_str().unwrap()));
}
