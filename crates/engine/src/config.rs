//! `PersistenceConfig`: the ledger's settings, stored in `ledger.toml`, with documented defaults.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{LedgerError, Result};
use crate::segment::header::{FORMAT_VERSION, FORMAT_VERSION_MIN};

/// When an append is acknowledged relative to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// fdatasync after every append: an acknowledged entry survives a power loss (default).
    #[default]
    Fdatasync,
    /// fsync (data and metadata) after every append; slower, same guarantee on Linux.
    Fsync,
    /// No sync: survives a process crash (the page cache keeps the writes), not a power loss.
    None,
}

impl Durability {
    /// Every mode.
    pub const ALL: [Durability; 3] = [Durability::Fdatasync, Durability::Fsync, Durability::None];
    /// Every mode's name, in the order of [`Durability::ALL`].
    pub const NAMES: [&'static str; 3] = [
        Durability::ALL[0].as_str(),
        Durability::ALL[1].as_str(),
        Durability::ALL[2].as_str(),
    ];

    /// The mode's name in `ledger.toml`, the CLI and JSON: `fdatasync`, `fsync` or `none`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Durability::Fdatasync => "fdatasync",
            Durability::Fsync => "fsync",
            Durability::None => "none",
        }
    }

    /// Parses `fdatasync`, `fsync` or `none`.
    pub fn parse(text: &str) -> Option<Durability> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

impl std::fmt::Display for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Durability {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Durability, String> {
        Durability::parse(text)
            .ok_or_else(|| format!("{text:?} is not one of {}", Durability::NAMES.join(", ")))
    }
}

/// The row-hash algorithm. Only SHA-256 exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// SHA-256 (FORMAT.md, "Row hash").
    #[default]
    Sha256,
}

/// Default segment size: 128 MiB.
pub const SEGMENT_SIZE_BYTES_DEFAULT: u64 = 128 * 1024 * 1024;
/// Smallest segment size accepted (a segment must hold at least one large record).
pub const SEGMENT_SIZE_BYTES_MIN: u64 = 4096;

/// Settings of one ledger (the `[persistence]` table of `ledger.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistenceConfig {
    /// Days to keep sealed segments; 0 keeps everything forever (default 0).
    pub retention_days: u32,
    /// Row-hash algorithm (default and only value: sha256).
    pub hash_algorithm: HashAlgorithm,
    /// Signals per group of the sink: a full group is committed without waiting (default
    /// 1000). A writer that fell behind commits up to 16 waiting groups in one append.
    pub batch_size: usize,
    /// Longest the sink's idle writer waits for a group to fill, ms (default 0: commit as soon
    /// as the writer is free; signals arriving during one commit form the next group).
    pub flush_interval_ms: u64,
    /// Size at which the active segment is sealed and a new one started (default 128 MiB). A
    /// sealed file may exceed it by its 96-byte trailer, and a single entry larger than the
    /// limit gets a segment of its own.
    pub segment_size_bytes: u64,
    /// Sync after each append (default fdatasync).
    pub durability: Durability,
    /// A legal hold: while true, retention removes nothing, whatever `retention_days` says
    /// (default false).
    pub legal_hold: bool,
    /// Seconds between the integrity checks a long-running writer (`ingest --follow`) runs and
    /// records in the check log; 0 runs none (default 0).
    pub check_interval_secs: u64,
    /// Every this many scheduled checks, one is a full pass; the others check only what was
    /// appended since the last passed check (default 24; at least 1).
    pub full_check_every: u32,
}

impl Default for PersistenceConfig {
    fn default() -> Self {
        PersistenceConfig {
            retention_days: 0,
            hash_algorithm: HashAlgorithm::Sha256,
            batch_size: 1000,
            flush_interval_ms: 0,
            segment_size_bytes: SEGMENT_SIZE_BYTES_DEFAULT,
            durability: Durability::Fdatasync,
            legal_hold: false,
            check_interval_secs: 0,
            full_check_every: 24,
        }
    }
}

/// The whole `ledger.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerToml {
    /// Format version the ledger was created with.
    pub format_version: u16,
    /// Settings.
    #[serde(default)]
    pub persistence: PersistenceConfig,
}

impl PersistenceConfig {
    /// Checks value ranges.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.batch_size == 0 {
            return Err("batch_size must be at least 1".into());
        }
        if self.full_check_every == 0 {
            return Err("full_check_every must be at least 1".into());
        }
        if self.segment_size_bytes < SEGMENT_SIZE_BYTES_MIN {
            return Err(format!(
                "segment_size_bytes {} is below the minimum {SEGMENT_SIZE_BYTES_MIN}",
                self.segment_size_bytes
            ));
        }
        if self.segment_size_bytes > u64::from(u32::MAX) {
            return Err(format!(
                "segment_size_bytes {} exceeds the maximum {}",
                self.segment_size_bytes,
                u32::MAX
            ));
        }
        Ok(())
    }
}

impl LedgerToml {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<LedgerToml> {
        let text = std::fs::read_to_string(path).map_err(|e| LedgerError::io("read", path, e))?;
        let parsed: LedgerToml = toml::from_str(&text).map_err(|e| LedgerError::Config {
            path: path.to_path_buf(),
            message: e.message().to_owned(),
        })?;
        let supported = FORMAT_VERSION_MIN..=FORMAT_VERSION;
        if !supported.contains(&parsed.format_version) {
            return Err(LedgerError::Config {
                path: path.to_path_buf(),
                message: if parsed.format_version > FORMAT_VERSION {
                    format!(
                        "format_version {} is newer than this build supports ({}..={}): use a newer signal-ledger",
                        parsed.format_version, FORMAT_VERSION_MIN, FORMAT_VERSION
                    )
                } else {
                    format!(
                        "format_version {} is not supported (this build reads {}..={})",
                        parsed.format_version, FORMAT_VERSION_MIN, FORMAT_VERSION
                    )
                },
            });
        }
        parsed
            .persistence
            .validate()
            .map_err(|message| LedgerError::Config {
                path: path.to_path_buf(),
                message,
            })?;
        Ok(parsed)
    }

    /// The file text, with a comment per key.
    pub fn to_toml_text(&self) -> String {
        let p = &self.persistence;
        let durability = p.durability.as_str();
        format!(
            "# signal-ledger configuration (see README.md, \"Configuration\")\n\
             format_version = {}\n\n\
             [persistence]\n\
             # days to keep sealed segments; 0 = forever\n\
             retention_days = {}\n\
             # row-hash algorithm; only sha256 exists\n\
             hash_algorithm = \"sha256\"\n\
             # signals per group the sink commits without waiting\n\
             batch_size = {}\n\
             # longest the idle sink waits for a group to fill, ms; 0 = commit at once\n\
             flush_interval_ms = {}\n\
             # seal the active segment and start a new one at this size\n\
             segment_size_bytes = {}\n\
             # fdatasync | fsync | none\n\
             durability = \"{durability}\"\n\
             # true: retention removes nothing (a legal hold)\n\
             legal_hold = {}\n\
             # seconds between scheduled integrity checks of a running writer; 0 = none\n\
             check_interval_secs = {}\n\
             # every Nth scheduled check is a full pass, the others incremental\n\
             full_check_every = {}\n",
            self.format_version,
            p.retention_days,
            p.batch_size,
            p.flush_interval_ms,
            p.segment_size_bytes,
            p.legal_hold,
            p.check_interval_secs,
            p.full_check_every,
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn written_text_parses_back() {
        let t = LedgerToml {
            format_version: 1,
            persistence: PersistenceConfig {
                durability: Durability::None,
                segment_size_bytes: 1 << 20,
                ..PersistenceConfig::default()
            },
        };
        let back: LedgerToml = toml::from_str(&t.to_toml_text()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: std::result::Result<LedgerToml, _> =
            toml::from_str("format_version = 1\n[persistence]\nbatch_sise = 3\n");
        assert!(r.is_err());
    }
}
