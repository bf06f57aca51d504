//! Segment files: header, frames, trailer; writing the active one, reading and walking any.

pub mod bytes;
pub mod file;
pub mod header;
pub mod scan;
pub mod trailer;
pub mod writer;

pub use bytes::SegmentBytes;
pub use header::{SegmentHeader, FORMAT_VERSION, FORMAT_VERSION_MIN, HEADER_LEN};
pub use scan::{scan_segment, ChainPosition, RecordStats, SegmentScan, TailState};
pub use trailer::{SegmentTrailer, TRAILER_LEN};
