//! File sink: writes `<message id>.json` (canonical documents) and
//! `<message id>.priced.json` (priced documents) into a directory.
//!
//! Each file is written to a temporary name then renamed, so a reader never
//! sees a partial file; writing the same message again replaces the files
//! with the same content (idempotent by message id). Answers to partners
//! (when the sink is a partner's outbound channel) are written as
//! `<message id>.<kind>.<n>.edi`. With `fsync`, the file
//! and the directory are synced before the delivery counts.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Answer, Payload, SinkError};

/// A directory sink.
#[derive(Debug, Clone)]
pub struct FileSink {
    dir: PathBuf,
    fsync: bool,
}

impl FileSink {
    pub fn new(dir: PathBuf, fsync: bool) -> FileSink {
        FileSink { dir, fsync }
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the payload's files.
    pub fn deliver(&self, p: &Payload) -> Result<(), SinkError> {
        let err = |what: &str, path: &Path, e: std::io::Error| {
            SinkError::Transient(format!("{what} {}: {e}", path.display()))
        };
        self.write(
            &format!("{}.json", p.message_id),
            p.canonical_json.as_bytes(),
        )
        .map_err(|(path, e)| err("cannot write", &path, e))?;
        if let Some(priced) = &p.priced_json {
            self.write(&format!("{}.priced.json", p.message_id), priced.as_bytes())
                .map_err(|(path, e)| err("cannot write", &path, e))?;
        }
        if self.fsync {
            fs::File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| err("cannot sync", &self.dir, e))?;
        }
        Ok(())
    }

    /// Writes an answer to a partner as `<id>.<kind>.<n>.edi`.
    pub fn deliver_answer(&self, a: &Answer) -> Result<(), SinkError> {
        let err = |what: &str, path: &Path, e: std::io::Error| {
            SinkError::Transient(format!("{what} {}: {e}", path.display()))
        };
        self.write(&a.file_name(), &a.bytes)
            .map_err(|(path, e)| err("cannot write", &path, e))?;
        if self.fsync {
            fs::File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| err("cannot sync", &self.dir, e))?;
        }
        Ok(())
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), (PathBuf, std::io::Error)> {
        let target = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let run = || -> std::io::Result<()> {
            // The directory is created on first use (and again if it was
            // removed), not checked before every file.
            let mut f = match fs::File::create(&tmp) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    fs::create_dir_all(&self.dir)?;
                    fs::File::create(&tmp)?
                }
                r => r?,
            };
            f.write_all(bytes)?;
            if self.fsync {
                f.sync_all()?;
            }
            drop(f);
            fs::rename(&tmp, &target)
        };
        run().map_err(|e| (target.clone(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_and_idempotently() {
        let dir = std::env::temp_dir().join(format!("comptoir-filesink-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let s = FileSink::new(dir.clone(), true);
        let p = Payload {
            message_id: 7,
            partner: None,
            canonical_json: "[1]".into(),
            priced_json: Some("[2]".into()),
        };
        s.deliver(&p).unwrap();
        s.deliver(&p).unwrap();
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["7.json", "7.priced.json"]);
        assert_eq!(fs::read_to_string(dir.join("7.json")).unwrap(), "[1]");
        let _ = fs::remove_dir_all(&dir);
    }
}
