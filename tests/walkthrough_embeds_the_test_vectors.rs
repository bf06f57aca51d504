//! Promise: the walkthrough beside the vectors (docs/test-vectors/README.md) embeds the first
//! signal vector and the first outcome vector (frame hex, CRC32, row hash), the domain tag (which
//! FORMAT.md spells too), and the headers of the committed ledgers, so the documents and the
//! vectors cannot drift apart.
//!
//! Regenerate the vectors only for a deliberate format change: `cargo run --example write_test_vectors`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod vector_support;

use vector_support::*;

#[test]
fn walkthrough_embeds_the_first_vector() {
    let doc = load_vectors();
    let first = &doc["vectors"][0];
    let text = std::fs::read_to_string(vectors_dir().join(WALKTHROUGH_FILE)).unwrap();
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for key in ["row_hash", "crc32"] {
        let value = first[key].as_str().unwrap();
        assert!(
            text.contains(value),
            "the walkthrough lacks the first vector's {key} {value}"
        );
    }
    let frame = first["frame_hex"].as_str().unwrap();
    assert!(
        compact.contains(frame),
        "the walkthrough lacks the first vector's frame hex"
    );
    let tag = hex::encode(DOMAIN_TAG);
    assert!(
        compact.contains(&tag),
        "the walkthrough lacks the domain tag bytes {tag}"
    );
    // FORMAT.md, "Row hash", spells the same domain tag bytes.
    let format_md = std::fs::read_to_string(root().join("docs/FORMAT.md")).unwrap();
    let format_compact: String = format_md.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        format_compact.contains(&tag),
        "FORMAT.md lacks the domain tag bytes {tag}"
    );
    // The header of the committed ledger, too.
    let header = doc["ledgers"][UNSEALED_DIR]["header"]["hex"]
        .as_str()
        .unwrap();
    assert!(
        compact.contains(header),
        "the walkthrough lacks the committed segment header hex"
    );
}

#[test]
fn walkthrough_embeds_the_first_outcome_vector_and_the_v2_ledger() {
    let doc = load_outcome_vectors();
    let section = std::fs::read_to_string(vectors_dir().join(WALKTHROUGH_FILE)).unwrap();
    let compact: String = section.chars().filter(|c| !c.is_whitespace()).collect();
    let first = &doc["vectors"][0];
    for key in ["row_hash", "crc32"] {
        let value = first[key].as_str().unwrap();
        assert!(
            section.contains(value),
            "the walkthrough lacks the first outcome vector's {key} {value}"
        );
    }
    assert!(
        compact.contains(first["frame_hex"].as_str().unwrap()),
        "the walkthrough lacks the first outcome vector's frame hex"
    );
    // Every outcome vector is listed by name with its seq, and the version-2 ledger by its
    // directory, header and head.
    for v in doc["vectors"].as_array().unwrap() {
        let row = format!("|`{}`|{}|", v["name"].as_str().unwrap(), v["stamp"]["seq"]);
        assert!(
            compact.contains(&row),
            "the walkthrough lacks the row {row}"
        );
    }
    let ledger = &doc["ledgers"][OUTCOMES_DIR];
    assert!(section.contains(&format!("docs/test-vectors/{OUTCOMES_DIR}/")));
    assert!(compact.contains(ledger["header"]["hex"].as_str().unwrap()));
    assert!(section.contains(ledger["head_row_hash"].as_str().unwrap()));
    assert!(section.contains(ledger["head_digest"].as_str().unwrap()));
}
