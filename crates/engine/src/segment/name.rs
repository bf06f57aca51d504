//! Segment file names: the first seq, 20 decimal digits, then `.seg`.

use std::path::{Path, PathBuf};

/// Extension of segment files.
pub const SEGMENT_EXTENSION: &str = "seg";

/// The file name of the segment whose first entry is `first_seq`.
pub fn segment_file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.{SEGMENT_EXTENSION}")
}

/// The path of that segment in `dir`.
pub fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(segment_file_name(first_seq))
}

/// The first seq named by a segment file name, if `name` is one.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for seq in [0, 1, 999, u64::MAX] {
            assert_eq!(parse_segment_file_name(&segment_file_name(seq)), Some(seq));
        }
        assert_eq!(segment_file_name(1000), "00000000000000001000.seg");
        assert_eq!(parse_segment_file_name("1000.seg"), None);
        assert_eq!(parse_segment_file_name("0000000000000000100a.seg"), None);
    }
}
