//! `init` refuses a directory that holds other files and is not a ledger (exit 2), and touches
//! none of its files.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

#[test]
fn foreign_directory_is_refused_and_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("photos");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("holiday.jpg"), b"not a ledger").unwrap();

    on(&dir, &["init"]).fails_with(
        2,
        &format!(
            "error: {} is not empty and is not a ledger; refusing to initialise it",
            dir.display()
        ),
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["holiday.jpg"]);
    assert_eq!(
        std::fs::read(dir.join("holiday.jpg")).unwrap(),
        b"not a ledger"
    );

    // And it is not a ledger to any other command either.
    on(&dir, &["stats"]).fails_with(
        2,
        &format!(
            "error: {} is not a signal-ledger directory (no ledger.toml)",
            dir.display()
        ),
    );
}

#[test]
fn an_empty_existing_directory_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    on(tmp.path(), &["init"]).ok();
    assert_eq!(records(tmp.path()), 0);
}
