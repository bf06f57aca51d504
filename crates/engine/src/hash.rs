//! The SHA-256 hash chain: the row-hash definition, its domain tag and the genesis hash.
//!
//! `row_hash = SHA-256(ROW_HASH_DOMAIN ‖ prev_hash ‖ body[..len - 64])`, where `body` is the
//! entry as stored (FORMAT.md, "Row hash"). The hash is always computed over the exact bytes that
//! are written or read, never over a re-serialisation.

use std::fmt;

use sha2::{Digest, Sha256};

/// Domain tag that starts every row-hash input, so a row hash can never be confused with the
/// SHA-256 of any other object (ASCII, NUL-terminated).
pub const ROW_HASH_DOMAIN: &[u8; 21] = b"signal-ledger/row/v1\0";

/// The `prev_hash` of the first entry of a new ledger: 32 zero bytes.
pub const GENESIS_PREV_HASH: Hash = Hash([0; 32]);

/// A 32-byte SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Option<Hash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Hash(out))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The row hash of an entry whose stored body, without its trailing prev_hash and row_hash, is
/// `content`, chained to `prev_hash`.
pub fn row_hash(prev_hash: &Hash, content: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(ROW_HASH_DOMAIN);
    hasher.update(prev_hash.0);
    hasher.update(content);
    Hash(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = row_hash(&GENESIS_PREV_HASH, b"abc");
        assert_eq!(Hash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(Hash::from_hex("zz"), None);
    }

    #[test]
    fn domain_tag_is_part_of_the_input() {
        let mut plain = Sha256::new();
        plain.update(GENESIS_PREV_HASH.0);
        plain.update(b"abc");
        let plain = Hash(plain.finalize().into());
        assert_ne!(row_hash(&GENESIS_PREV_HASH, b"abc"), plain);
    }
}
