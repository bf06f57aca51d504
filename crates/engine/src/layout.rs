//! Reading a ledger directory's segments in order and checking how they join, without scanning
//! sealed data: each sealed segment is checked by its header and trailer only, and the last,
//! unsealed segment is walked frame by frame (FORMAT.md, "How segments join" and "Recovery";
//! PROCEDURES.md, "Opening").

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::checklog::{anchored_start, read_check_log};
use crate::error::{CorruptKind, Corruption, LedgerError, Result};
use crate::files::{list_segments, segment_path};
use crate::hash::{Hash, GENESIS_PREV_HASH};
use crate::segment::header::{SegmentHeader, HEADER_LEN};
use crate::segment::scan::{scan_segment, ChainPosition, SegmentScan};
use crate::segment::trailer::{SegmentTrailer, TRAILER_LEN};
use crate::segment::writer::SealedSegment;
use crate::segment::SegmentBytes;

/// The last segment when it is not sealed, with its bytes and the walk of its frames.
#[derive(Debug)]
pub struct OpenTail {
    /// The segment file.
    pub path: PathBuf,
    /// Its header.
    pub header: SegmentHeader,
    /// A copy of its bytes as they were when read.
    pub bytes: SegmentBytes,
    /// The walk of its frames.
    pub scan: SegmentScan,
}

/// The segments of a ledger directory as found on disk.
#[derive(Debug)]
pub struct SegmentLayout {
    /// Sealed segments, in seq order, up to the first damage.
    pub sealed: Vec<SealedSegment>,
    /// The last segment, if it is not sealed and no damage came before it.
    pub tail: Option<OpenTail>,
    /// The first damage found in headers, trailers or joins; segments after it are not listed.
    pub damage: Option<Corruption>,
    /// Chain position after the last sealed segment (where the tail, or a new segment, starts).
    pub sealed_end: ChainPosition,
}

fn read_at(file: &File, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset)
        .map_err(|e| LedgerError::io("read", path, e))?;
    Ok(buf)
}

/// How the last, unsealed segment is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailAccess {
    /// Copy it with pread: for readers, since the writer may truncate it (segment::bytes).
    Copy,
    /// Map it: only for the writer, which holds the lock, so nobody else can truncate it, and
    /// which drops the mapping before it truncates.
    MapAsWriter,
}

/// Reads the layout of `dir`. I/O errors are errors; damage is reported in the layout.
pub fn read_layout(dir: &Path, tail_access: TailAccess) -> Result<SegmentLayout> {
    let segments = list_segments(dir)?;
    let mut layout = SegmentLayout {
        sealed: Vec::new(),
        tail: None,
        damage: None,
        sealed_end: ChainPosition {
            next_seq: 0,
            last_hash: GENESIS_PREV_HASH,
        },
    };
    if segments.is_empty() {
        layout.damage = Some(Corruption {
            file: segment_path(dir, 0),
            offset: 0,
            seq: Some(0),
            kind: CorruptKind::MissingSegment { first_seq: 0 },
        });
        return Ok(layout);
    }
    // Retention removes the oldest segments whole, each after recording an anchor in the
    // check log: the first held segment then starts where the run of anchors ends.
    if let Some(&(first, _)) = segments.first() {
        if first > 0 {
            let log = read_check_log(dir)?;
            match anchored_start(&log, first) {
                Ok(Some((next_seq, last_hash))) => {
                    layout.sealed_end = ChainPosition {
                        next_seq,
                        last_hash,
                    }
                }
                Ok(None) => {}
                Err(gap) => {
                    let next = gap.seq.unwrap_or(0);
                    layout.damage = Some(Corruption {
                        file: segment_path(dir, next),
                        offset: 0,
                        seq: Some(next),
                        kind: CorruptKind::MissingSegment { first_seq: next },
                    });
                    return Ok(layout);
                }
            }
        }
    }
    let count = segments.len();
    let mut last_version = 0u16;
    for (index, (name_seq, path)) in segments.into_iter().enumerate() {
        let expected = layout.sealed_end;
        let damage = |offset: u64, kind: CorruptKind| Corruption {
            file: path.clone(),
            offset,
            seq: Some(expected.next_seq),
            kind,
        };
        if name_seq > expected.next_seq {
            layout.damage = Some(Corruption {
                file: segment_path(dir, expected.next_seq),
                offset: 0,
                seq: Some(expected.next_seq),
                kind: CorruptKind::MissingSegment {
                    first_seq: expected.next_seq,
                },
            });
            break;
        }
        // A segment is a regular file of the directory: never followed through a symlink (the
        // writer would append outside the ledger) nor read as a directory.
        let kind = std::fs::symlink_metadata(&path)
            .map_err(|e| LedgerError::io("stat", &path, e))?
            .file_type();
        if !kind.is_file() {
            let what = if kind.is_symlink() {
                "a symlink"
            } else if kind.is_dir() {
                "a directory"
            } else {
                "a special file"
            };
            layout.damage = Some(damage(
                0,
                CorruptKind::HeaderMismatch(format!("the segment is {what}, not a regular file")),
            ));
            break;
        }
        let file = File::open(&path).map_err(|e| LedgerError::io("open", &path, e))?;
        let file_len = file
            .metadata()
            .map_err(|e| LedgerError::io("stat", &path, e))?
            .len();
        if file_len < HEADER_LEN as u64 {
            layout.damage = Some(damage(
                0,
                CorruptKind::HeaderMismatch(format!(
                    "file of {file_len} bytes is shorter than the header"
                )),
            ));
            break;
        }
        let header = match SegmentHeader::decode(&read_at(&file, &path, 0, HEADER_LEN)?) {
            Ok(h) => h,
            Err(kind) => {
                layout.damage = Some(damage(0, kind));
                break;
            }
        };
        if header.first_seq != name_seq || name_seq != expected.next_seq {
            layout.damage = Some(damage(
                0,
                CorruptKind::HeaderMismatch(format!(
                    "segment named for seq {name_seq} declares first seq {}, expected {}",
                    header.first_seq, expected.next_seq
                )),
            ));
            break;
        }
        if header.format_version < last_version {
            layout.damage = Some(damage(
                0,
                CorruptKind::HeaderMismatch(format!(
                    "format version {} follows a segment of version {last_version}: versions never go back",
                    header.format_version
                )),
            ));
            break;
        }
        last_version = header.format_version;
        if header.prev_hash != expected.last_hash {
            layout.damage = Some(damage(
                0,
                CorruptKind::ChainBreak {
                    expected: expected.last_hash,
                    found: header.prev_hash,
                },
            ));
            break;
        }
        let is_last = index + 1 == count;
        let trailer = if file_len >= (HEADER_LEN + TRAILER_LEN) as u64 {
            let bytes = read_at(&file, &path, file_len - TRAILER_LEN as u64, TRAILER_LEN)?;
            SegmentTrailer::has_magic(&bytes).then(|| SegmentTrailer::decode(&bytes))
        } else {
            None
        };
        match trailer {
            Some(Ok(t)) if t.first_seq == header.first_seq => {
                layout.sealed_end = ChainPosition {
                    next_seq: t.last_seq + 1,
                    last_hash: t.last_row_hash,
                };
                layout.sealed.push(SealedSegment {
                    path,
                    header,
                    trailer: t,
                    records_end: file_len - TRAILER_LEN as u64,
                });
            }
            Some(Ok(_)) if !is_last => {
                layout.damage = Some(damage(
                    file_len - TRAILER_LEN as u64,
                    CorruptKind::TrailerMismatch("trailer's first seq is not the header's".into()),
                ));
                break;
            }
            Some(Err(kind)) if !is_last => {
                layout.damage = Some(damage(file_len - TRAILER_LEN as u64, kind));
                break;
            }
            None if !is_last => {
                layout.damage = Some(damage(
                    file_len.saturating_sub(TRAILER_LEN as u64),
                    CorruptKind::TrailerMismatch(
                        "a segment followed by another has no trailer (it was never sealed)".into(),
                    ),
                ));
                break;
            }
            _ => {
                drop(file);
                let bytes = match tail_access {
                    TailAccess::Copy => SegmentBytes::copy_active(&path)?,
                    TailAccess::MapAsWriter => SegmentBytes::map_sealed(&path)?,
                };
                let start = ChainPosition {
                    next_seq: header.first_seq,
                    last_hash: header.prev_hash,
                };
                let scan = scan_segment(&path, &bytes, start, header.format_version);
                layout.tail = Some(OpenTail {
                    path,
                    header,
                    bytes,
                    scan,
                });
            }
        }
    }
    Ok(layout)
}

/// The head of a ledger: its last entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Seq of the last entry.
    pub seq: u64,
    /// Its row hash.
    pub row_hash: Hash,
}
