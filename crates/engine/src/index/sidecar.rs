//! The sidecar file of a sealed segment's index: `<first seq>.idx` beside `<first seq>.seg`.
//! Byte layout in FORMAT.md, "Index sidecars (derived data)". Written once, atomically; read back with every
//! length, offset, id and CRC checked, so a damaged sidecar is an error (and a rebuild), never a
//! panic or a wrong row.

use super::columns::{
    DictColumn, OutcomeRow, SegmentIndex, DICT_COLUMNS, NO_VALUE, ROW_OUTCOME, ROW_SIGNAL,
    TIME_BLOCK_LEN,
};
use crate::hash::Hash;
use crate::le::{bytes32_at, i64_at, u16_at, u32_at, u64_at};

/// First 8 bytes of a sidecar.
pub const INDEX_MAGIC: [u8; 8] = *b"\x89SLIDX\r\n";
/// The sidecar layout version this engine writes and reads.
pub const INDEX_VERSION: u16 = 3;

const HEADER_LEN: usize = 72;
const TABLE_ENTRY_LEN: usize = 24;

/// Section kinds (FORMAT.md, "Index sidecars (derived data)").
mod kind {
    pub const OFFSETS: u16 = 1;
    pub const TIMESTAMPS: u16 = 2;
    pub const CONVICTIONS: u16 = 3;
    pub const DIRECTIONS: u16 = 4;
    pub const SIGNAL_TYPES: u16 = 5;
    pub const ACTED_UPON: u16 = 6;
    pub const HAS_EXECUTION: u16 = 7;
    pub const TIME_BLOCKS: u16 = 8;
    pub const IDS: u16 = 9;
    pub const PARENTS: u16 = 10;
    pub const KINDS: u16 = 11;
    pub const OUTCOMES: u16 = 12;
    /// Dictionary column `c` (0-based, in `DICT_COLUMNS` order) uses `DICT_BASE + 3c` for its
    /// values, `+ 1` for its rows and `+ 2` for its postings.
    pub const DICT_BASE: u16 = 16;
}

fn put_u32s(out: &mut Vec<u8>, values: impl IntoIterator<Item = u32>) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends the running totals of `lens` as `u32`s: each value's end offset (or cumulative
/// count).
fn put_running_totals(out: &mut Vec<u8>, lens: impl IntoIterator<Item = usize>) {
    let mut total = 0u32;
    put_u32s(
        out,
        lens.into_iter().map(|len| {
            total += len as u32;
            total
        }),
    );
}

fn dict_sections(c: usize, column: &DictColumn, out: &mut Vec<(u16, Vec<u8>)>) {
    let base = kind::DICT_BASE + 3 * c as u16;
    let mut values = Vec::new();
    put_u32s(&mut values, [column.values.len() as u32]);
    put_running_totals(&mut values, column.values.iter().map(String::len));
    for v in &column.values {
        values.extend_from_slice(v.as_bytes());
    }
    let mut rows = Vec::with_capacity(column.rows.len() * 4);
    put_u32s(&mut rows, column.rows.iter().copied());
    let mut postings = Vec::new();
    put_running_totals(&mut postings, column.postings.iter().map(Vec::len));
    put_u32s(&mut postings, column.postings.iter().flatten().copied());
    out.push((base, values));
    out.push((base + 1, rows));
    out.push((base + 2, postings));
}

/// Bytes of one outcome row: signal_seq `u64`, row `u32`, acted `u8`, has_execution_id `u8`,
/// two zero bytes.
const OUTCOME_ROW_LEN: usize = 16;

/// Reads the outcome table and checks it against the row kinds: exactly the outcome rows,
/// ascending, flags 0 or 1, zero padding.
fn read_outcomes(bytes: &[u8], kinds: &[u8]) -> Result<Vec<OutcomeRow>, String> {
    let n = kinds.iter().filter(|&&k| k == ROW_OUTCOME).count();
    let outcomes = fixed(bytes, n, OUTCOME_ROW_LEN, "outcomes", |b| {
        let flag = |at: usize| match b.get(at) {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        };
        if b.get(14..16) != Some(&[0, 0][..]) {
            return None;
        }
        Some(OutcomeRow {
            signal_seq: u64_at(b, 0)?,
            row: u32_at(b, 8)?,
            acted: flag(12)?,
            has_execution_id: flag(13)?,
        })
    })?;
    let rows_agree = outcomes
        .iter()
        .zip(
            kinds
                .iter()
                .enumerate()
                .filter(|(_, &k)| k == ROW_OUTCOME)
                .map(|(row, _)| row),
        )
        .all(|(o, row)| o.row as usize == row);
    if !rows_agree {
        return Err("outcomes disagree with the row kinds".into());
    }
    Ok(outcomes)
}

/// A table of (hash, row) pairs: `u64` then `u32` each.
fn hash_row_pairs(pairs: &[(u64, u32)]) -> Vec<u8> {
    let mut s = Vec::with_capacity(pairs.len() * 12);
    for (h, row) in pairs {
        s.extend_from_slice(&h.to_le_bytes());
        s.extend_from_slice(&row.to_le_bytes());
    }
    s
}

/// Reads a (hash, row) table of `n` pairs or, when `n` is None, of any number; checks it is
/// sorted with rows below `rows`.
fn read_hash_rows(
    bytes: &[u8],
    n: Option<usize>,
    rows: usize,
    what: &str,
) -> Result<Vec<(u64, u32)>, String> {
    if !bytes.len().is_multiple_of(12) {
        return Err(format!("{what}: {} bytes, not whole pairs", bytes.len()));
    }
    let n = n.unwrap_or(bytes.len() / 12);
    let pairs = fixed(bytes, n, 12, what, |b| Some((u64_at(b, 0)?, u32_at(b, 8)?)))?;
    if !pairs.windows(2).all(|w| matches!(w, [a, b] if a <= b))
        || pairs.iter().any(|&(_, r)| r as usize >= rows)
    {
        return Err(format!("{what} not sorted or out of range"));
    }
    Ok(pairs)
}

/// The sidecar bytes of `index`.
pub fn encode(index: &SegmentIndex) -> Vec<u8> {
    let mut sections: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut s = Vec::new();
    put_u32s(&mut s, index.offsets.iter().copied());
    sections.push((kind::OFFSETS, s));
    let mut s = Vec::new();
    for t in &index.timestamps {
        s.extend_from_slice(&t.to_le_bytes());
    }
    sections.push((kind::TIMESTAMPS, s));
    let mut s = Vec::new();
    for c in &index.convictions {
        s.extend_from_slice(&c.to_bits().to_le_bytes());
    }
    sections.push((kind::CONVICTIONS, s));
    sections.push((kind::DIRECTIONS, index.directions.clone()));
    sections.push((kind::SIGNAL_TYPES, index.signal_types.clone()));
    sections.push((kind::ACTED_UPON, index.acted_upon.clone()));
    sections.push((kind::HAS_EXECUTION, index.has_execution.clone()));
    let mut s = Vec::new();
    for (min, max) in &index.time_blocks {
        s.extend_from_slice(&min.to_le_bytes());
        s.extend_from_slice(&max.to_le_bytes());
    }
    sections.push((kind::TIME_BLOCKS, s));
    sections.push((kind::IDS, hash_row_pairs(&index.ids)));
    sections.push((kind::PARENTS, hash_row_pairs(&index.parents)));
    sections.push((kind::KINDS, index.kinds.clone()));
    let mut s = Vec::with_capacity(index.outcomes.len() * OUTCOME_ROW_LEN);
    for o in &index.outcomes {
        s.extend_from_slice(&o.signal_seq.to_le_bytes());
        s.extend_from_slice(&o.row.to_le_bytes());
        s.push(u8::from(o.acted));
        s.push(u8::from(o.has_execution_id));
        s.extend_from_slice(&[0, 0]);
    }
    sections.push((kind::OUTCOMES, s));
    for (c, column) in index.dicts.iter().enumerate() {
        dict_sections(c, column, &mut sections);
    }

    let mut out = Vec::new();
    out.extend_from_slice(&INDEX_MAGIC);
    out.extend_from_slice(&INDEX_VERSION.to_le_bytes());
    out.extend_from_slice(&(sections.len() as u16).to_le_bytes());
    out.extend_from_slice(&(index.len() as u32).to_le_bytes());
    out.extend_from_slice(&index.first_seq.to_le_bytes());
    out.extend_from_slice(&index.records_end.to_le_bytes());
    out.extend_from_slice(&index.last_row_hash.0);
    out.extend_from_slice(&0u32.to_le_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    debug_assert_eq!(out.len(), HEADER_LEN);
    let mut at = HEADER_LEN + sections.len() * TABLE_ENTRY_LEN;
    for (k, bytes) in &sections {
        at = at.next_multiple_of(8);
        out.extend_from_slice(&k.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
        out.extend_from_slice(&(at as u64).to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        at += bytes.len();
    }
    for (_, bytes) in &sections {
        out.resize(out.len().next_multiple_of(8), 0);
        out.extend_from_slice(bytes);
    }
    out
}

/// A section's bytes, found by kind in the table (`table` is the section table's bytes).
fn section<'a>(file: &'a [u8], table: &[u8], wanted: u16) -> Result<&'a [u8], String> {
    for entry in table.chunks_exact(TABLE_ENTRY_LEN) {
        if u16_at(entry, 0) != Some(wanted) {
            continue;
        }
        let crc = u32_at(entry, 4).unwrap_or_default();
        let at = u64_at(entry, 8).unwrap_or(u64::MAX);
        let len = u64_at(entry, 16).unwrap_or(u64::MAX);
        let bytes = usize::try_from(at)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(at, len)| file.get(at..at.checked_add(len)?))
            .ok_or_else(|| format!("section {wanted} lies outside the file"))?;
        if crc32fast::hash(bytes) != crc {
            return Err(format!("section {wanted}: CRC mismatch"));
        }
        return Ok(bytes);
    }
    Err(format!("section {wanted} is missing"))
}

/// `bytes` as exactly `n` little-endian values of `width` bytes each.
fn fixed<T>(
    bytes: &[u8],
    n: usize,
    width: usize,
    what: &str,
    read: impl Fn(&[u8]) -> Option<T>,
) -> Result<Vec<T>, String> {
    if Some(bytes.len()) != n.checked_mul(width) {
        return Err(format!("{what}: {} bytes for {n} entries", bytes.len()));
    }
    bytes
        .chunks_exact(width)
        .map(|c| read(c).ok_or_else(|| format!("{what}: unreadable value")))
        .collect()
}

fn read_dict(file: &[u8], table: &[u8], c: usize, n: usize) -> Result<DictColumn, String> {
    let base = kind::DICT_BASE + 3 * c as u16;
    let name = DICT_COLUMNS.get(c).map_or("?", |k| k.name());
    let values_bytes = section(file, table, base)?;
    let m = u32_at(values_bytes, 0).ok_or(format!("{name}: no value count"))? as usize;
    let ends_len = m.checked_mul(4).ok_or(format!("{name}: value count"))?;
    let ends = fixed(
        values_bytes
            .get(4..4 + ends_len)
            .ok_or(format!("{name}: value table"))?,
        m,
        4,
        name,
        |b| u32_at(b, 0),
    )?;
    let text = values_bytes.get(4 + ends_len..).unwrap_or_default();
    let mut values = Vec::with_capacity(m);
    let mut start = 0usize;
    for end in ends {
        let end = end as usize;
        let v = text
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or(format!("{name}: value bytes"))?;
        if values
            .last()
            .is_some_and(|prev: &String| prev.as_str() >= v)
        {
            return Err(format!("{name}: values not sorted and distinct"));
        }
        values.push(v.to_owned());
        start = end;
    }
    if start != text.len() {
        return Err(format!("{name}: trailing value bytes"));
    }
    let rows = fixed(section(file, table, base + 1)?, n, 4, name, |b| {
        u32_at(b, 0)
    })?;
    let postings_bytes = section(file, table, base + 2)?;
    let counts_len = m * 4;
    let counts = fixed(
        postings_bytes
            .get(..counts_len)
            .ok_or(format!("{name}: postings table"))?,
        m,
        4,
        name,
        |b| u32_at(b, 0),
    )?;
    let flat_bytes = postings_bytes.get(counts_len..).unwrap_or_default();
    let total = counts.last().copied().unwrap_or(0) as usize;
    let flat = fixed(flat_bytes, total, 4, name, |b| u32_at(b, 0))?;
    let mut postings = Vec::with_capacity(m);
    let mut start = 0usize;
    let mut present = 0usize;
    for (id, end) in counts.iter().enumerate() {
        let list = flat
            .get(start..*end as usize)
            .ok_or(format!("{name}: posting bounds"))?;
        let ascending = list.windows(2).all(|w| matches!(w, [a, b] if a < b));
        let agrees = list
            .iter()
            .all(|&row| rows.get(row as usize) == Some(&(id as u32)));
        if !ascending || !agrees {
            return Err(format!("{name}: postings disagree with the rows"));
        }
        present += list.len();
        postings.push(list.to_vec());
        start = *end as usize;
    }
    let coded = rows.iter().filter(|&&id| id != NO_VALUE).count();
    if present != coded || rows.iter().any(|&id| id != NO_VALUE && id as usize >= m) {
        return Err(format!("{name}: ids out of range or missing from postings"));
    }
    Ok(DictColumn {
        values,
        rows,
        postings,
    })
}

/// A sidecar's header fields a reader checks against the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SidecarHeader {
    /// Entries covered.
    pub entry_count: usize,
    /// The segment's first seq.
    pub first_seq: u64,
    /// The segment's bytes covered.
    pub records_end: u64,
    /// Row hash of the last covered entry.
    pub last_row_hash: Hash,
}

/// The header and section table of sidecar bytes, after checking magic, version and header CRC.
fn header_and_table(file: &[u8]) -> Result<(SidecarHeader, &[u8]), String> {
    let header = file.get(..HEADER_LEN).ok_or("shorter than its header")?;
    if header.get(..8) != Some(&INDEX_MAGIC[..]) {
        return Err("not an index sidecar (bad magic)".into());
    }
    let version = u16_at(header, 8).unwrap_or_default();
    if version != INDEX_VERSION {
        return Err(format!(
            "index version {version}, this engine reads {INDEX_VERSION}"
        ));
    }
    if u32_at(header, 68) != Some(crc32fast::hash(header.get(..68).unwrap_or_default())) {
        return Err("header CRC mismatch".into());
    }
    let sections = u16_at(header, 10).unwrap_or_default() as usize;
    let table = file
        .get(HEADER_LEN..HEADER_LEN + sections * TABLE_ENTRY_LEN)
        .ok_or("section table outside the file")?;
    let fields = SidecarHeader {
        entry_count: u32_at(header, 12).unwrap_or_default() as usize,
        first_seq: u64_at(header, 16).unwrap_or_default(),
        records_end: u64_at(header, 24).unwrap_or_default(),
        last_row_hash: Hash(bytes32_at(header, 32).unwrap_or_default()),
    };
    Ok((fields, table))
}

/// Only the id table of sidecar bytes, as (signal_id hash, frame offset) pairs sorted by hash:
/// what the writer needs to find an id, without decoding the rest. Checks the header, the two
/// sections' CRCs and sizes, and that the header is `expected`.
pub(crate) fn decode_id_offsets(
    file: &[u8],
    expected: &SidecarHeader,
) -> Result<Vec<(u64, u32)>, String> {
    let (header, table) = header_and_table(file)?;
    if header != *expected {
        return Err("the sidecar is for other bytes than the segment's".into());
    }
    let n = header.entry_count;
    let offsets = fixed(section(file, table, kind::OFFSETS)?, n, 4, "offsets", |b| {
        u32_at(b, 0)
    })?;
    let ids = read_hash_rows(section(file, table, kind::IDS)?, None, n, "ids")?;
    ids.into_iter()
        .map(|(h, row)| Some((h, *offsets.get(row as usize)?)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| "ids: row out of range".into())
}

/// Only the outcome rows of sidecar bytes, each with its frame offset: what a reader needs to
/// show each signal's latest outcome without decoding every index. Checks the header against
/// `expected`, and the sections read (kinds, outcomes, and offsets when there are outcomes):
/// CRCs, sizes and agreement.
pub(crate) fn decode_outcome_rows(
    file: &[u8],
    expected: &SidecarHeader,
) -> Result<Vec<(OutcomeRow, u32)>, String> {
    let (header, table) = header_and_table(file)?;
    if header != *expected {
        return Err("the sidecar is for other bytes than the segment's".into());
    }
    let n = header.entry_count;
    let kinds = fixed(section(file, table, kind::KINDS)?, n, 1, "kinds", |b| {
        b.first().copied()
    })?;
    let outcomes = read_outcomes(section(file, table, kind::OUTCOMES)?, &kinds)?;
    if outcomes.is_empty() {
        return Ok(Vec::new());
    }
    let offsets = fixed(section(file, table, kind::OFFSETS)?, n, 4, "offsets", |b| {
        u32_at(b, 0)
    })?;
    outcomes
        .into_iter()
        .map(|o| Some((o, *offsets.get(o.row as usize)?)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| "outcomes: row out of range".into())
}

/// Reads sidecar bytes back, checking everything; the error says what is wrong.
pub fn decode(file: &[u8]) -> Result<SegmentIndex, String> {
    let (header, table) = header_and_table(file)?;
    let n = header.entry_count;
    let u8s = |k: u16, what: &str| -> Result<Vec<u8>, String> {
        fixed(section(file, table, k)?, n, 1, what, |b| b.first().copied())
    };
    let offsets = fixed(section(file, table, kind::OFFSETS)?, n, 4, "offsets", |b| {
        u32_at(b, 0)
    })?;
    let timestamps = fixed(
        section(file, table, kind::TIMESTAMPS)?,
        n,
        8,
        "timestamps",
        |b| i64_at(b, 0),
    )?;
    let convictions = fixed(
        section(file, table, kind::CONVICTIONS)?,
        n,
        8,
        "convictions",
        |b| u64_at(b, 0).map(f64::from_bits),
    )?;
    let directions = u8s(kind::DIRECTIONS, "directions")?;
    let signal_types = u8s(kind::SIGNAL_TYPES, "signal types")?;
    let acted_upon = u8s(kind::ACTED_UPON, "acted_upon")?;
    let has_execution = u8s(kind::HAS_EXECUTION, "has_execution")?;
    let blocks = n.div_ceil(TIME_BLOCK_LEN);
    let time_blocks = fixed(
        section(file, table, kind::TIME_BLOCKS)?,
        blocks,
        16,
        "time blocks",
        |b| Some((i64_at(b, 0)?, i64_at(b, 8)?)),
    )?;
    let kinds = u8s(kind::KINDS, "kinds")?;
    if kinds.iter().any(|&k| k != ROW_SIGNAL && k != ROW_OUTCOME) {
        return Err("kinds: unknown entry kind".into());
    }
    let outcomes = read_outcomes(section(file, table, kind::OUTCOMES)?, &kinds)?;
    let signals = n - outcomes.len();
    let is_signal = |&(_, row): &(u64, u32)| kinds.get(row as usize) == Some(&ROW_SIGNAL);
    let ids = read_hash_rows(section(file, table, kind::IDS)?, Some(signals), n, "ids")?;
    let parents = read_hash_rows(section(file, table, kind::PARENTS)?, None, n, "parents")?;
    if !ids.iter().all(is_signal) || !parents.iter().all(is_signal) {
        return Err("ids or parents name a row that is not a signal".into());
    }
    if offsets.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
        return Err("offsets not ascending".into());
    }
    let dicts = [
        read_dict(file, table, 0, n)?,
        read_dict(file, table, 1, n)?,
        read_dict(file, table, 2, n)?,
        read_dict(file, table, 3, n)?,
        read_dict(file, table, 4, n)?,
    ];
    Ok(SegmentIndex {
        first_seq: header.first_seq,
        records_end: header.records_end,
        last_row_hash: header.last_row_hash,
        offsets,
        timestamps,
        convictions,
        directions,
        signal_types,
        acted_upon,
        has_execution,
        dicts,
        time_blocks,
        ids,
        parents,
        kinds,
        outcomes,
    })
}
