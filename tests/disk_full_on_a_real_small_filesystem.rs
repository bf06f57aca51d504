//! A ledger on a real, small filesystem (a 1 MiB tmpfs the test mounts) that fills up: every
//! append that meets ENOSPC — through `Ledger::append`, through a `SignalSink`, and at a segment
//! roll whose next segment cannot be created — fails with a typed I/O error naming the segment
//! file; the ledger reopens, verifies and holds exactly the acknowledged records; once space is
//! freed, appends succeed again. Where mounting is impossible (no root, a container without
//! CAP_SYS_ADMIN) the tmpfs tests say so and return: the injected-fault coverage of the same
//! promise is tests/sink_disk_full_fails_the_batch_then_recovers.rs.
//!
//! Also here: a reader that mapped a segment sealed by an append that then failed on a full
//! disk must not die with SIGBUS when the writer rolls the append back (run in a child process,
//! so a SIGBUS is a test failure and not the death of the test binary).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use signal_ledger::engine::segment::file::{SegmentFile, SegmentFileFactory};
use signal_ledger::engine::sink::PersistError;
use signal_ledger::engine::{
    verify, Ledger, LedgerError, OpenOptions, PersistenceConfig, Signal, SignalSink, SinkConfig,
    Snapshot, VerifyOptions,
};
use support::*;

/// ENOSPC.
const NO_SPACE: i32 = 28;
/// tmpfs allocates whole pages.
const PAGE: u64 = 4096;

/// A tmpfs mounted for one test, unmounted when dropped (also when the test panics).
struct SmallFs {
    _tmp: tempfile::TempDir,
    mount: PathBuf,
}

impl SmallFs {
    /// Mounts a tmpfs of `size` (mount(8) syntax, "1m") in a new temp dir, or says why not.
    fn mount(size: &str) -> Result<SmallFs, String> {
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mount = tmp.path().join("fs");
        std::fs::create_dir(&mount).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(&mount)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs: {} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(SmallFs { _tmp: tmp, mount })
    }

    fn path(&self) -> &Path {
        &self.mount
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // Lazily, so an open file of a panicking test cannot keep it mounted.
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

/// The small filesystem, or None after printing why the test is skipped.
fn small_fs(test: &str) -> Option<SmallFs> {
    match SmallFs::mount("1m") {
        Ok(fs) => Some(fs),
        Err(why) => {
            println!(
                "{test}: skipped: cannot mount a tmpfs ({why}); the injected-fault coverage of \
                 this promise is tests/sink_disk_full_fails_the_batch_then_recovers.rs"
            );
            None
        }
    }
}

/// Fills the filesystem at `dir` with one-page files `fill-N` until it is full; returns them.
fn fill_pages(dir: &Path) -> Vec<PathBuf> {
    let page = vec![0xA5u8; PAGE as usize];
    let mut files = Vec::new();
    for n in 0.. {
        let path = dir.join(format!("fill-{n}"));
        let written = std::fs::File::create(&path).and_then(|mut f| f.write_all(&page));
        match written {
            Ok(()) => files.push(path),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(NO_SPACE), "{e}");
                std::fs::remove_file(&path).unwrap();
                return files;
            }
        }
    }
    unreachable!()
}

/// Asserts `error` is the full disk, met on a segment file of the ledger in `dir`.
fn assert_disk_full_on_a_segment(error: &LedgerError, dir: &Path) {
    match error {
        LedgerError::Io { path, source, .. } => {
            assert_eq!(source.raw_os_error(), Some(NO_SPACE), "{error}");
            assert_eq!(path.parent(), Some(dir), "{error}");
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(
                name.contains(".seg"),
                "the error names the segment: {error}"
            );
        }
        other => panic!("disk full must be an I/O error naming the file, got {other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains(dir.to_str().unwrap()), "{text}");
    assert!(text.contains("No space left on device"), "{text}");
}

/// The ledger in `dir` opens for writing, verifies, and holds exactly `ids`, in order.
fn holds_exactly(dir: &Path, ids: &[String]) {
    drop(Ledger::open(dir).unwrap());
    let snap = Snapshot::open(dir).unwrap();
    assert!(snap.damage().is_none(), "{:?}", snap.damage());
    assert!(snap.torn_tail().is_none(), "{:?}", snap.torn_tail());
    assert_eq!(stored_ids(dir), ids);
}

fn ids_of(signals: &[Signal]) -> Vec<String> {
    signals.iter().map(|s| s.signal_id.clone()).collect()
}

/// Segments of 16 KiB: a 1 MiB filesystem holds dozens.
fn config() -> PersistenceConfig {
    small_segments(16 * 1024)
}

#[test]
fn appends_fail_cleanly_when_the_filesystem_fills_and_succeed_once_space_is_freed() {
    let Some(fs) = small_fs("appends_fail_cleanly") else {
        return;
    };
    let filler = fs.path().join("filler");
    std::fs::write(&filler, vec![1u8; 256 * 1024]).unwrap();
    let dir = fs.path().join("ledger");
    let mut ledger = Ledger::create(&dir, config()).unwrap();

    let mut acknowledged = Vec::new();
    let mut failures = 0;
    let mut batch_no = 0;
    // Batches of 25 until the disk is full; then a few more, of shrinking size, each refused.
    loop {
        let batch = tagged(25, batch_no, &format!("b{batch_no}"));
        batch_no += 1;
        let before = dir_image(&dir);
        match ledger.append(&batch) {
            Ok(receipt) => {
                assert_eq!(receipt.first_seq, acknowledged.len() as u64);
                acknowledged.extend(ids_of(&batch));
            }
            Err(e) => {
                assert_disk_full_on_a_segment(&e, &dir);
                assert!(ledger.poisoned().is_none(), "rollback failed: {e}");
                assert_eq!(dir_image(&dir), before, "the failed append left bytes");
                failures += 1;
                if failures == 3 {
                    break;
                }
            }
        }
        assert!(batch_no < 1000, "the 1 MiB filesystem never filled");
    }
    assert!(
        acknowledged.len() >= 500,
        "only {} records fitted",
        acknowledged.len()
    );
    assert!(ledger.sealed_segments().len() >= 10);
    drop(ledger);
    holds_exactly(&dir, &acknowledged);

    // Space again: appends succeed, rolling segments, and what is stored verifies.
    std::fs::remove_file(&filler).unwrap();
    let mut ledger = Ledger::open(&dir).unwrap();
    for n in 0..8 {
        let batch = tagged(25, 500 + n, &format!("after{n}"));
        let receipt = ledger.append(&batch).unwrap();
        assert_eq!(receipt.first_seq, acknowledged.len() as u64);
        acknowledged.extend(ids_of(&batch));
    }
    drop(ledger);
    holds_exactly(&dir, &acknowledged);
    println!(
        "appends_fail_cleanly: {} records acknowledged, {failures} appends refused on a full disk",
        acknowledged.len()
    );
}

#[test]
fn a_sink_on_a_full_filesystem_fails_the_batch_and_carries_on_once_space_is_freed() {
    let Some(fs) = small_fs("a_sink_on_a_full_filesystem") else {
        return;
    };
    let filler = fs.path().join("filler");
    std::fs::write(&filler, vec![1u8; 256 * 1024]).unwrap();
    let dir = fs.path().join("ledger");
    let sink_config = SinkConfig {
        batch_size: 100_000,
        flush_interval: Duration::from_secs(60),
        metrics_file: false,
        ..SinkConfig::default()
    };
    let sink = SignalSink::start(Ledger::create(&dir, config()).unwrap(), sink_config).unwrap();

    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for n in 0..1000u64 {
        let batch = tagged(30, n, &format!("s{n}"));
        let handle = sink.record_batch(batch.clone()).unwrap();
        let flushed = sink.flush();
        match handle.wait() {
            Ok(durables) => {
                flushed.unwrap();
                assert_eq!(durables[0].seq, acknowledged.len() as u64);
                acknowledged.extend(ids_of(&batch));
            }
            Err(PersistError::Append(e)) => {
                assert!(flushed.is_err());
                assert_disk_full_on_a_segment(&e, &dir);
                refused += 1;
                break;
            }
            Err(other) => panic!("a full disk must fail the append cleanly, got {other}"),
        }
    }
    assert_eq!(refused, 1, "the 1 MiB filesystem never filled");
    assert!(acknowledged.len() >= 500, "{}", acknowledged.len());

    // Space again: the same sink, not restarted, persists the next batch.
    std::fs::remove_file(&filler).unwrap();
    let batch = tagged(30, 9999, "after");
    let handle = sink.record_batch(batch.clone()).unwrap();
    sink.flush().unwrap();
    let durables = handle.wait().unwrap();
    assert_eq!(durables[0].seq, acknowledged.len() as u64);
    acknowledged.extend(ids_of(&batch));
    let metrics = sink.shutdown();
    assert_eq!(metrics.failed, 30);
    drop(sink);
    holds_exactly(&dir, &acknowledged);
}

#[test]
fn a_segment_roll_whose_next_segment_cannot_be_created_is_undone() {
    let Some(fs) = small_fs("a_segment_roll") else {
        return;
    };
    let dir = fs.path().join("ledger");
    // A twin on an ordinary disk, fed the same signals, says which append rolls a segment
    // (frames have the same lengths in both).
    let twin_tmp = tempfile::tempdir().unwrap();
    let twin_dir = twin_tmp.path().join("twin");
    let mut twin = Ledger::create(&twin_dir, config()).unwrap();
    let mut ledger = Ledger::create(&dir, config()).unwrap();
    let signals = tagged(400, 77, "r");
    let mut acknowledged = Vec::new();
    let mut next = 0;
    loop {
        let one = &signals[next..next + 1];
        let sealed = twin.sealed_segments().len();
        twin.append(one).unwrap();
        if twin.sealed_segments().len() > sealed {
            break;
        }
        ledger.append(one).unwrap();
        acknowledged.extend(ids_of(one));
        next += 1;
    }
    // The next append seals the active segment (its trailer may need one more page) and then
    // creates the next segment (a page for its header). Leave room for the trailer only.
    let active = segments(&dir).pop().unwrap();
    let active_len = std::fs::metadata(&active).unwrap().len();
    let sealed_len = std::fs::metadata(&segments(&twin_dir)[0]).unwrap().len();
    let trailer_pages = sealed_len.div_ceil(PAGE) - active_len.div_ceil(PAGE);
    let mut filler = fill_pages(fs.path());
    for _ in 0..trailer_pages {
        std::fs::remove_file(filler.pop().unwrap()).unwrap();
    }
    let before = dir_image(&dir);
    let one = &signals[next..next + 1];
    let error = ledger.append(one).unwrap_err();
    assert_disk_full_on_a_segment(&error, &dir);
    match &error {
        LedgerError::Io { path, .. } => assert!(
            path.to_str().unwrap().ends_with(".seg.tmp"),
            "the failure is the next segment's creation: {error}"
        ),
        _ => unreachable!(),
    }
    assert!(ledger.poisoned().is_none(), "{:?}", ledger.poisoned());
    assert!(ledger.sealed_segments().is_empty(), "the seal was undone");
    assert_eq!(dir_image(&dir), before, "the failed roll left bytes");
    drop(ledger);
    holds_exactly(&dir, &acknowledged);

    // Space again: the same append rolls the segment.
    for f in filler {
        std::fs::remove_file(f).unwrap();
    }
    let mut ledger = Ledger::open(&dir).unwrap();
    ledger.append(one).unwrap();
    acknowledged.extend(ids_of(one));
    assert_eq!(ledger.sealed_segments().len(), 1);
    drop(ledger);
    holds_exactly(&dir, &acknowledged);
}

// ---------------------------------------------------------------------------------------------
// A reader that mapped a segment sealed by an append which then fails.

/// Set in the child process that runs a scenario.
const CHILD: &str = "SIGNAL_LEDGER_SIGBUS_CHILD";

/// Files whose next write of a new segment header (80 bytes at offset 0), once armed and after
/// `pass` more have gone through, stops until the test lets it go, then fails with ENOSPC: the
/// roll's next segment cannot be created.
struct BlockedRoll {
    armed: AtomicBool,
    pass: std::sync::atomic::AtomicUsize,
    reached: Mutex<Sender<()>>,
    go: Mutex<Receiver<()>>,
}

struct BlockedRollFile {
    file: File,
    roll: Arc<BlockedRoll>,
}

impl SegmentFile for BlockedRollFile {
    fn write_all_at(&mut self, bytes: &[u8], offset: u64) -> io::Result<()> {
        let header = offset == 0 && bytes.len() == 80;
        if header && self.roll.armed.load(Ordering::SeqCst) {
            let passed = self
                .roll
                .pass
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if passed.is_ok() {
                return self.file.write_all_at(bytes, offset);
            }
            self.roll.armed.store(false, Ordering::SeqCst);
            self.roll.reached.lock().unwrap().send(()).unwrap();
            self.roll.go.lock().unwrap().recv().unwrap();
            return Err(io::Error::from_raw_os_error(NO_SPACE));
        }
        self.file.write_all_at(bytes, offset)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
    fn sync_all(&mut self) -> io::Result<()> {
        self.file.sync_all()
    }
}

struct BlockedRollFiles(Arc<BlockedRoll>);

impl SegmentFileFactory for BlockedRollFiles {
    fn wrap(&self, file: File) -> Box<dyn SegmentFile> {
        Box::new(BlockedRollFile {
            file,
            roll: self.0.clone(),
        })
    }
}

/// The child's part: an append into an empty segment 0 fills and seals it, fills segment 1,
/// and is blocked creating segment 2; a snapshot opened then maps the sealed segment 0; the
/// append then fails and is rolled back; the snapshot is read whole.
fn reader_of_a_rolled_back_seal() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    drop(Ledger::create(&path, small_segments(64 * 1024)).unwrap());
    let (reached_tx, reached_rx) = channel();
    let (go_tx, go_rx) = channel();
    let roll = Arc::new(BlockedRoll {
        armed: AtomicBool::new(false),
        // Let pass the spare copy of segment 0 and segment 1's header; block segment 2's.
        pass: std::sync::atomic::AtomicUsize::new(2),
        reached: Mutex::new(reached_tx),
        go: Mutex::new(go_rx),
    });
    let options = OpenOptions {
        file_factory: Some(Arc::new(BlockedRollFiles(roll.clone()))),
        ..OpenOptions::default()
    };
    let mut ledger = Ledger::open_with(&path, options).unwrap();
    roll.armed.store(true, Ordering::SeqCst);
    let writer = std::thread::spawn(move || {
        // Over two 64 KiB segments' worth: segment 1 is created, filled and rolled too.
        let result = ledger.append(&demo_signals(600, 2));
        (ledger, result)
    });
    reached_rx.recv().unwrap();
    let snap = Snapshot::open(&path).unwrap();
    let mapped = snap.segments()[0].bytes.len();
    println!(
        "reader: snapshot of {} records, segment 0 sealed: {}, {mapped} bytes mapped",
        snap.record_count(),
        snap.segments()[0].trailer.is_some()
    );
    go_tx.send(()).unwrap();
    let (_ledger, result) = writer.join().unwrap();
    let error = result.unwrap_err();
    println!("writer: the append failed: {error}");
    let now = std::fs::metadata(&snap.segments()[0].path).unwrap().len();
    println!("writer: segment 0 is {now} bytes again");
    // Every byte the snapshot holds, as a reader that hashes or copies a segment reads them.
    let crc = crc32fast::hash(snap.segments()[0].record_area());
    println!("reader: record area read whole (crc {crc:08x})");
    // And what it holds is whole: no damage reported in an intact ledger, every entry read.
    let report = verify(&snap, VerifyOptions::default());
    assert!(
        report.is_intact(),
        "reader: verify of the snapshot found damage in an intact ledger: {:?}",
        report.first_failure
    );
    let mut read = 0;
    for entry in snap.entries() {
        snap.decode_record(&entry.unwrap()).unwrap();
        read += 1;
    }
    assert_eq!(read as u64, snap.record_count());
    println!("reader: {read} records read and verified");
}

/// Undoing a failed append never shrinks a segment the append sealed, which readers map (a
/// reader touching mapped pages past a shrunk file's end dies with SIGBUS; one walking frames
/// would see them vanish and report damage in an intact ledger). A segment holding earlier
/// entries is sealed before such an append starts; one the append sealed was empty before it
/// and is replaced by a new file, so the reader's mapping keeps the old one whole. (Before
/// this was so, the reader here died with SIGBUS.)
#[test]
fn a_reader_of_a_segment_sealed_by_a_failed_append_is_not_killed_when_it_is_rolled_back() {
    let name =
        "a_reader_of_a_segment_sealed_by_a_failed_append_is_not_killed_when_it_is_rolled_back";
    if std::env::var_os(CHILD).is_some() {
        reader_of_a_rolled_back_seal();
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mapped_records = stdout
        .split("reader: snapshot of ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<u64>().ok());
    let Some(mapped_records) = mapped_records.filter(|&n| n > 0) else {
        panic!("the scenario did not reach its point: {stdout}\n{stderr}");
    };
    assert!(
        stdout.contains("segment 0 sealed: true"),
        "the scenario did not reach its point: {stdout}\n{stderr}"
    );
    assert_eq!(
        out.status.signal(),
        None,
        "the reader was killed by signal {:?} (7 is SIGBUS) after the writer rolled back a \
         segment it had mapped:\n{stdout}\n{stderr}",
        out.status.signal()
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "reader: {mapped_records} records read and verified"
        )),
        "{stdout}\n{stderr}"
    );
}
