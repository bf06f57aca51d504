//! The writer's table of every signal_id in the ledger: how an append learns that a signal was
//! recorded already (it is then not appended again, and the caller gets the original's seq) or
//! that its id is taken by a different signal (the append is then refused).
//!
//! The table maps the FNV-1a hash of each id to where its entry's frame starts (a segment slot
//! and a byte offset). It is only a guide: a location is read back (CRC checked) and the stored
//! id compared before anything is decided, so a stale location (left by an append that was
//! rolled back), a hash collision or a lying sidecar can never make an append skip or refuse a
//! signal wrongly. What the table must never do is miss an id. It is therefore loaded from every
//! segment (a sealed one through its sidecar's id and offset sections when the sidecar matches
//! the segment, else by reading its frames) before the first append that carries an id, and
//! every entry appended after that is added to it. The one exception is damage in a sealed
//! segment without a sound sidecar: the ids of its entries past the damage cannot be read, and
//! rather than refuse every append the table goes without them ([`IdTable::unreadable`] says
//! where; `verify` reports the damage).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{LedgerError, Result};
use crate::index::{id_hash, id_hash_bytes, read_sidecar_id_offsets, SidecarHeader};
use crate::record::codec::{decode_signal, entry_kind, signal_id_bytes, EntryKind, SignalView};
use crate::record::frame::{frame_at, FrameAt, FRAME_BODY_LEN_MAX, FRAME_HEADER_LEN};
use crate::record::Signal;
use crate::segment::header::HEADER_LEN;
use crate::segment::writer::SealedSegment;
use crate::segment::SegmentBytes;

/// A hasher for keys that are already hashes (the FNV-1a of an id) or short ids: FNV-1a over
/// the bytes, then a multiply-xorshift finish so the low bits the table buckets by are mixed.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ 0xcbf2_9ce4_8422_2325;
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        let h = self.0 ^ (self.0 >> 32);
        h.wrapping_mul(0xd6e8_feb8_6659_fd93) ^ (h >> 29)
    }
}

/// `HashMap` with [`IdHasher`].
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Where an entry's frame starts: segment slot (high 32 bits) and byte offset (low 32; segments
/// are at most `u32::MAX` bytes, `PersistenceConfig::validate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loc(u64);

impl Loc {
    fn new(slot: u32, offset: u32) -> Loc {
        Loc(u64::from(slot) << 32 | u64::from(offset))
    }

    fn slot(self) -> usize {
        (self.0 >> 32) as usize
    }

    fn offset(self) -> u64 {
        self.0 & u64::from(u32::MAX)
    }
}

/// (hash, location) pairs sorted by hash, with a directory of where each hash prefix starts:
/// the ids of the segments sealed when the table was loaded. Built in one sort that merges the
/// sidecars' already sorted id tables, and 16 bytes per id, where a hash map would take a
/// random insert per id and about twice the memory.
#[derive(Debug, Default)]
struct SortedIds {
    pairs: Vec<(u64, Loc)>,
    /// `starts[p]..starts[p + 1]` are the pairs whose hash's top bits are `p`.
    starts: Vec<usize>,
    /// 64 minus the number of top bits the directory uses.
    shift: u32,
}

impl SortedIds {
    fn new(mut pairs: Vec<(u64, Loc)>) -> SortedIds {
        // Stable sort: it finds the sorted runs (one per sidecar) and merges them.
        pairs.sort_by_key(|&(hash, _)| hash);
        // About four pairs per directory slot.
        let bits = pairs.len().max(1).ilog2().saturating_sub(2).clamp(1, 28);
        let shift = 64 - bits;
        let mut starts = vec![0usize; (1usize << bits) + 1];
        for &(hash, _) in &pairs {
            if let Some(count) = starts.get_mut((hash >> shift) as usize + 1) {
                *count += 1;
            }
        }
        let mut total = 0;
        for start in &mut starts {
            total += *start;
            *start = total;
        }
        debug_assert_eq!(starts.last(), Some(&pairs.len()));
        SortedIds {
            pairs,
            starts,
            shift,
        }
    }

    /// The locations paired with `hash`.
    fn locations(&self, hash: u64) -> impl Iterator<Item = Loc> + '_ {
        let prefix = (hash >> self.shift) as usize;
        let range = match (self.starts.get(prefix), self.starts.get(prefix + 1)) {
            (Some(&from), Some(&to)) => from..to,
            _ => 0..0,
        };
        self.pairs
            .get(range)
            .unwrap_or_default()
            .iter()
            .filter(move |&&(h, _)| h == hash)
            .map(|&(_, loc)| loc)
    }
}

/// Every signal_id of the ledger, by hash (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct IdTable {
    loaded: bool,
    /// The ids of the segments that were sealed when the table was loaded.
    sealed: SortedIds,
    /// The ids of the segment that was active then, and of every entry appended since: the
    /// first location seen for each hash.
    first: IdMap<u64, Loc>,
    /// Further locations for a hash (collisions, or stale locations of rolled-back appends).
    more: IdMap<u64, Vec<Loc>>,
    /// Segment files by slot. A path may appear twice (a segment removed by a rollback and
    /// created again): every location is checked against what is on disk anyway.
    files: Vec<PathBuf>,
    /// The mapped bytes of the segments sealed at load, by slot (None for other slots, which
    /// are read with `pread`): sealed files never change, and a mapping survives their removal.
    sealed_maps: Vec<Option<SegmentBytes>>,
    /// Files opened to read other slots, kept open between lookups (dropped by
    /// [`IdTable::forget_open_files`] whenever the writer removes a segment, since a file of
    /// the same name may then be created again).
    open_files: parking_lot::Mutex<Vec<Option<std::fs::File>>>,
    /// Damage met in sealed segments while loading: the ids of their entries past it are not
    /// in the table, so their uniqueness is not checked (`verify` reports the damage).
    unreadable: Vec<String>,
}

impl IdTable {
    /// A table to load before its first use ([`IdTable::load`]).
    pub(crate) fn unloaded() -> IdTable {
        IdTable::default()
    }

    /// The table of a ledger that holds nothing yet.
    pub(crate) fn empty() -> IdTable {
        IdTable {
            loaded: true,
            ..IdTable::default()
        }
    }

    /// Whether every id on disk is in the table.
    pub(crate) fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// The damage in sealed segments that kept ids out of the table when it was loaded.
    pub(crate) fn unreadable(&self) -> &[String] {
        &self.unreadable
    }

    /// Adds the ids of every entry of `sealed` and of the active segment at `active_path`
    /// (its frames up to `active_len`).
    pub(crate) fn load(
        &mut self,
        sealed: &[SealedSegment],
        active_path: &Path,
        active_len: u64,
    ) -> Result<()> {
        let total: u64 = sealed.iter().map(|s| s.trailer.record_count).sum();
        let mut pairs = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for segment in sealed {
            let slot = self.slot(&segment.path);
            let map = SegmentBytes::map_sealed(&segment.path)?;
            let expected = SidecarHeader {
                entry_count: usize::try_from(segment.trailer.record_count).unwrap_or(usize::MAX),
                first_seq: segment.header.first_seq,
                records_end: segment.records_end,
                last_row_hash: segment.trailer.last_row_hash,
            };
            let ids = match read_sidecar_id_offsets(&segment.path, &expected) {
                Some(ids) => ids,
                None => {
                    let area = map.get(..segment.records_end as usize).unwrap_or(&map);
                    // Damage in a sealed segment (which `verify` reports) must not stop every
                    // append: the ids before it are checked, those after it cannot be.
                    let (mut ids, damage) = frame_ids(&segment.path, area);
                    if let Some(damage) = damage {
                        self.unreadable.push(damage.to_string());
                    }
                    ids.sort_unstable();
                    ids
                }
            };
            if let Some(entry) = self.sealed_maps.get_mut(slot as usize) {
                *entry = Some(map);
            }
            pairs.extend(
                ids.into_iter()
                    .map(|(hash, offset)| (hash, Loc::new(slot, offset))),
            );
        }
        self.sealed = SortedIds::new(pairs);
        let slot = self.slot(active_path);
        // Mapped, not copied: only the writer (holding the lock, which calls this) changes the
        // active segment, and it drops the map before writing again.
        let bytes = SegmentBytes::map_sealed(active_path)?;
        let area = bytes.get(..active_len as usize).unwrap_or(&bytes);
        // The writer's open checked every frame of the active segment: damage here is new.
        let (ids, damage) = frame_ids(active_path, area);
        if let Some(damage) = damage {
            return Err(damage);
        }
        for (hash, offset) in ids {
            self.insert_hash(hash, slot, offset);
        }
        self.loaded = true;
        Ok(())
    }

    /// The slot of the segment file at `path`: the latest slot with that path, or a new one.
    pub(crate) fn slot(&mut self, path: &Path) -> u32 {
        if let Some(i) = self.files.iter().rposition(|p| p == path) {
            return i as u32;
        }
        self.files.push(path.to_path_buf());
        self.sealed_maps.push(None);
        (self.files.len() - 1) as u32
    }

    /// Records that the entry whose id hashes to `hash` (`id_hash`) starts at `offset` of the
    /// segment in `slot` (a no-op until the table is loaded: loading reads it from disk then).
    pub(crate) fn insert(&mut self, hash: u64, slot: u32, offset: u64) {
        if self.loaded {
            debug_assert!(offset <= u64::from(u32::MAX));
            self.insert_hash(hash, slot, offset as u32);
        }
    }

    fn insert_hash(&mut self, hash: u64, slot: u32, offset: u32) {
        let loc = Loc::new(slot, offset);
        match self.first.entry(hash) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(loc);
            }
            std::collections::hash_map::Entry::Occupied(e) if *e.get() == loc => {}
            std::collections::hash_map::Entry::Occupied(_) => {
                self.more.entry(hash).or_default().push(loc);
            }
        }
    }

    /// `check` of the stored entry whose signal_id is `id`, if the ledger has one. Every
    /// candidate location is read back and checked; one that no longer holds a whole frame is
    /// skipped.
    #[cfg(test)]
    pub(crate) fn find<T>(
        &self,
        id: &str,
        check: impl FnOnce(&SignalView<'_>) -> T,
    ) -> Result<Option<T>> {
        self.find_hashed(id_hash(id), id, check)
    }

    /// [`IdTable::find`] when the caller has the id's hash (`id_hash(id)`) already.
    pub(crate) fn find_hashed<T>(
        &self,
        hash: u64,
        id: &str,
        check: impl FnOnce(&SignalView<'_>) -> T,
    ) -> Result<Option<T>> {
        debug_assert!(self.loaded, "find on a table that was not loaded");
        debug_assert_eq!(hash, id_hash(id));
        let others = self.more.get(&hash).map_or(&[][..], Vec::as_slice);
        let recent = self.first.get(&hash).into_iter().chain(others).copied();
        let mut frame = Vec::new();
        for loc in self.sealed.locations(hash).chain(recent) {
            let mapped = self.sealed_maps.get(loc.slot()).and_then(Option::as_ref);
            let body = match mapped {
                Some(map) => frame_body(map, loc.offset() as usize),
                None => {
                    let Some(path) = self.files.get(loc.slot()) else {
                        continue;
                    };
                    if !self.read_frame(loc.slot(), path, loc.offset(), &mut frame)? {
                        continue;
                    }
                    frame_body(&frame, 0)
                }
            };
            let Some(view) = body.and_then(|body| decode_signal(body).ok()) else {
                continue;
            };
            if view.signal_id == id {
                return Ok(Some(check(&view)));
            }
        }
        Ok(None)
    }
}

/// (id hash, frame offset) of every frame of a segment's record area (`bytes` up to its last
/// frame), in offset order, up to the first frame that cannot be read, and the damage found
/// there, if any.
fn frame_ids(path: &Path, bytes: &[u8]) -> (Vec<(u64, u32)>, Option<LedgerError>) {
    let mut ids = Vec::new();
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        let bad = |what: &str| {
            LedgerError::corrupt(
                path,
                at as u64,
                None,
                crate::error::CorruptKind::Malformed(what.into()),
            )
        };
        let FrameAt::Valid { body, next } = frame_at(bytes, at) else {
            return (
                ids,
                Some(bad("no whole, valid frame where an entry should start")),
            );
        };
        // Only the id is read: a frame whose CRC matches holds what the writer wrote, and a
        // location is checked with a full decode before it decides anything.
        match signal_id_bytes(body) {
            Some(id) => ids.push((id_hash_bytes(id), at as u32)),
            // An outcome carries a signal_id too, but names a signal; it holds none.
            None if entry_kind(body) == Ok(EntryKind::Outcome) => {}
            None => return (ids, Some(bad("not a signal entry"))),
        }
        at = next;
    }
    (ids, None)
}

impl IdTable {
    /// Reads the frame (header and body) at `offset` of the segment in `slot` (at `path`) into
    /// `frame`; false when the file or the frame is not (or no longer) there.
    fn read_frame(
        &self,
        slot: usize,
        path: &Path,
        offset: u64,
        frame: &mut Vec<u8>,
    ) -> Result<bool> {
        let mut open_files = self.open_files.lock();
        if open_files.len() <= slot {
            open_files.resize_with(slot + 1, || None);
        }
        let Some(cached) = open_files.get_mut(slot) else {
            return Ok(false);
        };
        if cached.is_none() {
            match std::fs::File::open(path) {
                Ok(file) => *cached = Some(file),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(LedgerError::io("open", path, e)),
            }
        }
        let Some(file) = cached.as_ref() else {
            return Ok(false);
        };
        let mut header = [0u8; FRAME_HEADER_LEN];
        let gone = |e: &io::Error| e.kind() == io::ErrorKind::UnexpectedEof;
        match file.read_exact_at(&mut header, offset) {
            Ok(()) => {}
            Err(e) if gone(&e) => return Ok(false),
            Err(e) => return Err(LedgerError::io("read", path, e)),
        }
        let body_len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if body_len > FRAME_BODY_LEN_MAX {
            return Ok(false);
        }
        frame.clear();
        frame.resize(FRAME_HEADER_LEN + body_len, 0);
        match file.read_exact_at(frame, offset) {
            Ok(()) => Ok(true),
            Err(e) if gone(&e) => Ok(false),
            Err(e) => Err(LedgerError::io("read", path, e)),
        }
    }

    /// Closes the files kept open for lookups: the writer calls it when it removes segments.
    pub(crate) fn forget_open_files(&self) {
        self.open_files.lock().clear();
    }
}

/// The body of the whole frame with a matching CRC at `at` of `bytes`.
fn frame_body(bytes: &[u8], at: usize) -> Option<&[u8]> {
    match frame_at(bytes, at) {
        FrameAt::Valid { body, .. } => Some(body),
        _ => None,
    }
}

/// Whether two signals have exactly the same producer columns (floats compared by their bits,
/// as they would be stored): the second is then a resend of the first.
pub(crate) fn same_columns(a: &Signal, b: &Signal) -> bool {
    a == b
        && a.conviction.to_bits() == b.conviction.to_bits()
        && a.price.map(f64::to_bits) == b.price.map(f64::to_bits)
}

/// Whether a stored entry holds exactly the producer's columns of `signal` (floats compared by
/// their bits, as stored): re-recording it is then idempotent.
pub(crate) fn same_signal(stored: &SignalView<'_>, signal: &Signal) -> bool {
    let bits = |x: Option<f64>| x.map(f64::to_bits);
    stored.signal_id == signal.signal_id
        && stored.source_module == signal.source_module
        && stored.source_version == signal.source_version.as_deref()
        && stored.ticker == signal.ticker
        && stored.direction == signal.direction
        && stored.conviction.to_bits() == signal.conviction.to_bits()
        && stored.signal_type == signal.signal_type
        && stored.timeframe == signal.timeframe.as_deref()
        && bits(stored.price) == bits(signal.price)
        && stored.timestamp_ns == signal.timestamp_ns
        && stored.expires_at_ns == signal.expires_at_ns
        && stored.strategy_id == signal.strategy_id.as_deref()
        && stored.correlation_id == signal.correlation_id.as_deref()
        && stored.parent_signal_ids.len() == signal.parent_signal_ids.len()
        && stored
            .parent_signal_ids
            .iter()
            .zip(&signal.parent_signal_ids)
            .all(|(a, b)| a == b)
        && stored.acted_upon == signal.acted_upon
        && stored.execution_id == signal.execution_id.as_deref()
        && stored.payload_json == signal.payload_json
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::input::parse_ndjson_line;
    use crate::{Ledger, PersistenceConfig, Snapshot};

    fn signal(id: &str) -> Signal {
        let line = format!(
            r#"{{"signal_id":"{id}","source_module":"m","ticker":"AAPL","direction":"long","conviction":0.5,"signal_type":"entry","timestamp":"2026-01-05T14:30:00Z"}}"#
        );
        parse_ndjson_line(1, line.as_bytes())
            .unwrap()
            .unwrap()
            .into_signal()
    }

    /// A ledger holding "x" then "y", and the frame offsets of the two in its one segment.
    fn ledger() -> (tempfile::TempDir, PathBuf, u32, u32) {
        let tmp = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::create(tmp.path(), PersistenceConfig::default()).unwrap();
        ledger.append(&[signal("x"), signal("y")]).unwrap();
        drop(ledger);
        let snapshot = Snapshot::open(tmp.path()).unwrap();
        let index = snapshot.segment_index(0).unwrap();
        let path = snapshot.segments()[0].path.clone();
        (tmp, path, index.offsets[0], index.offsets[1])
    }

    #[test]
    fn every_location_is_checked_against_the_frame_it_names() {
        let (_tmp, path, x_at, y_at) = ledger();
        let mut table = IdTable::empty();
        let slot = table.slot(&path);
        // A stale location first (y's frame, as if x had been rolled back and y written
        // there), then x's real one: x is found, and only where it is.
        table.insert_hash(id_hash("x"), slot, y_at);
        table.insert_hash(id_hash("x"), slot, x_at);
        let found = table
            .find("x", |v| (v.seq, v.signal_id.to_owned()))
            .unwrap();
        assert_eq!(found, Some((0, "x".to_owned())));
        // y's hash pointing into the middle of a frame, past the end, or at a removed file.
        table.insert_hash(id_hash("y"), slot, x_at + 3);
        table.insert_hash(id_hash("y"), slot, 1 << 30);
        let gone = table.slot(Path::new("/nonexistent/segment.seg"));
        table.insert_hash(id_hash("y"), gone, x_at);
        assert!(
            table.find("y", |_| ()).unwrap().is_none(),
            "y's real frame was never added"
        );
        table.insert_hash(id_hash("y"), slot, y_at);
        assert_eq!(table.find("y", |v| v.seq).unwrap().unwrap(), 1);
        assert!(table.find("z", |_| ()).unwrap().is_none());
    }

    #[test]
    fn a_hash_shared_by_two_ids_finds_each() {
        let (_tmp, path, x_at, y_at) = ledger();
        let mut table = IdTable::empty();
        let slot = table.slot(&path);
        // Pretend "x" and "y" collide: both under x's hash.
        table.insert_hash(id_hash("x"), slot, y_at);
        table.insert_hash(id_hash("x"), slot, x_at);
        assert_eq!(table.find("x", |v| v.seq).unwrap().unwrap(), 0);
        assert_eq!(table.more.get(&id_hash("x")).map(Vec::len), Some(1));
        // The same location twice is kept once.
        table.insert_hash(id_hash("x"), slot, y_at);
        assert_eq!(table.more.get(&id_hash("x")).map(Vec::len), Some(1));
    }

    #[test]
    fn the_sorted_table_finds_every_location_of_a_hash_and_nothing_else() {
        assert_eq!(SortedIds::new(Vec::new()).locations(7).count(), 0);
        let mut x = 0x1234_5678_u64;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let z = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z ^ (z >> 27)
        };
        // Three sorted runs (like three sidecars), some hashes repeated, extremes included.
        let mut pairs = Vec::new();
        for run in 0..3u32 {
            let mut ids: Vec<(u64, Loc)> = (0..3000u32)
                .map(|i| (next() >> (i % 3 * 20), Loc::new(run, i)))
                .collect();
            ids.push((u64::MAX, Loc::new(run, 9999)));
            ids.push((0, Loc::new(run, 9998)));
            ids.sort_unstable_by_key(|p| p.0);
            pairs.extend(ids);
        }
        pairs.push((pairs[5].0, Loc::new(7, 7)));
        let table = SortedIds::new(pairs.clone());
        for &(hash, _) in pairs.iter().step_by(7).chain(&pairs[pairs.len() - 3..]) {
            let mut want: Vec<u64> = pairs
                .iter()
                .filter(|p| p.0 == hash)
                .map(|p| p.1 .0)
                .collect();
            let mut got: Vec<u64> = table.locations(hash).map(|l| l.0).collect();
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "hash {hash:x}");
        }
        for _ in 0..1000 {
            let absent = next();
            if pairs.iter().all(|p| p.0 != absent) {
                assert_eq!(table.locations(absent).count(), 0);
            }
        }
    }

    #[test]
    fn the_same_signal_means_every_producer_column_bit_for_bit() {
        let a = signal("x");
        let stored = crate::SignalRecord {
            seq: 0,
            signal: a.clone(),
            recorded_at_ns: 0,
            latency_ms: 0.0,
            prev_hash: crate::Hash([0; 32]),
            row_hash: crate::Hash([0; 32]),
        };
        let same = |b: &Signal| {
            let pair = same_columns(&a, b);
            assert_eq!(pair, same_signal(&stored.as_view(), b), "both checks agree");
            pair
        };
        assert!(same(&a.clone()));
        let mut b = a.clone();
        b.conviction = f64::from_bits(a.conviction.to_bits() + 1);
        assert!(!same(&b));
        let mut c = a.clone();
        c.payload_json = " null".to_owned();
        assert!(!same(&c));
        let mut d = a.clone();
        d.parent_signal_ids = vec!["p".to_owned()];
        assert!(!same(&d));
        let mut e = a.clone();
        e.price = Some(-0.0);
        let mut f = a.clone();
        f.price = Some(0.0);
        assert!(!same_columns(&e, &f), "-0.0 and 0.0 are stored differently");
        let mut g = a.clone();
        g.timeframe = Some("1m".to_owned());
        assert!(!same(&g));
    }
}
