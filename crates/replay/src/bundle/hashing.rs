//! [`HashingWriter`]: a writer that feeds SHA-256 and counts every byte passing through it, so
//! a bundle file's digest is known as soon as the file is written, never by reading it back.

use std::io::{self, Write};

use sha2::{Digest as _, Sha256};

/// The length and SHA-256 of the bytes a [`HashingWriter`] passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest {
    /// Bytes written.
    pub bytes: u64,
    /// Their SHA-256.
    pub sha256: [u8; 32],
}

impl FileDigest {
    /// The SHA-256 as 64 lower-case hex characters (as `sha256sum` prints it).
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// Passes writes on to `W`, hashing and counting exactly the bytes `W` accepted. The first
/// error `W` returns is kept (see [`HashingWriter::take_failure`]) so that a caller which only
/// sees an error passed up through other layers can still tell which file failed.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
    failure: Option<io::Error>,
}

impl<W: Write> HashingWriter<W> {
    /// A writer hashing what it passes on to `inner`.
    pub fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
            failure: None,
        }
    }

    /// Bytes passed on so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The first error the inner writer returned, if any (taken: a second call gives None).
    pub fn take_failure(&mut self) -> Option<io::Error> {
        self.failure.take()
    }

    /// The inner writer (not flushed) and the digest of everything passed on to it.
    pub fn finish(self) -> (W, FileDigest) {
        let digest = FileDigest {
            bytes: self.bytes,
            sha256: self.hasher.finalize().into(),
        };
        (self.inner, digest)
    }

    fn noted<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result {
            if self.failure.is_none() {
                self.failure = Some(io::Error::new(e.kind(), e.to_string()));
            }
        }
        result
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf);
        let n = self.noted(n)?;
        self.hasher.update(buf.get(..n).unwrap_or(buf));
        self.bytes += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        // An error part-way leaves the count short of what reached `W`; the file is then
        // abandoned anyway.
        let written = self.inner.write_all(buf);
        self.noted(written)?;
        self.hasher.update(buf);
        self.bytes += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let flushed = self.inner.flush();
        self.noted(flushed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Accepts at most `room` bytes, then fails; takes at most 3 bytes per write.
    struct Cramped {
        taken: Vec<u8>,
        room: usize,
    }

    impl Write for Cramped {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.taken.len() >= self.room {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            let n = buf.len().min(3).min(self.room - self.taken.len());
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn digest_is_sha256sum_of_the_bytes_written_in_any_pieces() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"ab").unwrap();
        assert_eq!(w.write(b"c").unwrap(), 1);
        w.flush().unwrap();
        let (inner, digest) = w.finish();
        assert_eq!(inner, b"abc");
        assert_eq!(digest.bytes, 3);
        // `printf abc | sha256sum`
        assert_eq!(
            digest.sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let (_, empty) = HashingWriter::new(Vec::new()).finish();
        assert_eq!(
            (empty.bytes, empty.sha256_hex().as_str()),
            (
                0,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            )
        );
    }

    #[test]
    fn short_writes_hash_only_what_was_accepted() {
        let mut w = HashingWriter::new(Cramped {
            taken: Vec::new(),
            room: 100,
        });
        assert_eq!(w.write(b"hello world").unwrap(), 3);
        w.write_all(b"lo world").unwrap();
        let (inner, digest) = w.finish();
        assert_eq!(inner.taken, b"hello world");
        let (_, direct) = {
            let mut d = HashingWriter::new(Vec::new());
            d.write_all(b"hello world").unwrap();
            d.finish()
        };
        assert_eq!(digest, direct);
    }

    #[test]
    fn the_first_failure_is_kept_for_the_caller() {
        let mut w = HashingWriter::new(Cramped {
            taken: Vec::new(),
            room: 4,
        });
        let err = w.write_all(b"too long").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        let _ = w.write_all(b"again");
        let kept = w.take_failure().unwrap();
        assert_eq!(kept.kind(), io::ErrorKind::StorageFull);
        assert_eq!(kept.to_string(), "disk full");
        assert!(w.take_failure().is_none());
    }
}
