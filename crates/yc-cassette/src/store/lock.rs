//! The lock a recorder holds on its cassette: an advisory lock (`flock`, through `fs4`) on `NAME.json.lock`,
//! holding the recorder's pid, so that a second writer is refused with the holder's pid instead of both writing and
//! losing each other's calls. Readers never take it; they only ask who holds it ([`holder`]), without blocking.
//!
//! The lock file goes away with the lock. A writer that opened the file just before its holder removed it could lock
//! an orphan; so after locking, the file must still be the one at the path, else it tries again.

use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use fs4::TryLockError;

use crate::Error;

/// An exclusive hold on one cassette; released (and its file removed) on drop.
#[derive(Debug)]
pub struct CassetteLock {
    file: std::fs::File,
    path: PathBuf,
}

impl CassetteLock {
    /// Takes the lock of the cassette at `cassette`, or fails with [`Error::Locked`] naming the holder's pid.
    pub fn acquire(cassette: &Path) -> Result<CassetteLock, Error> {
        let path = super::lock_path(cassette);
        let io = |action: &'static str| {
            let path = path.clone();
            move |source| Error::Io {
                action,
                path,
                source,
            }
        };
        // A reader asking who holds it takes a shared lock for a moment; a few tries ride over that.
        let mut busy = 0;
        loop {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io("create"))?;
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) if busy < 20 => {
                    busy += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::Locked {
                        cassette: cassette.to_owned(),
                        lock: path.clone(),
                        pid: read_pid(&mut file),
                    });
                }
                Err(TryLockError::Error(source)) => return Err(io("lock")(source)),
            }
            if !same_file(&file, &path) {
                continue;
            }
            file.set_len(0).map_err(io("write"))?;
            file.rewind().map_err(io("write"))?;
            writeln!(file, "{}", std::process::id()).map_err(io("write"))?;
            return Ok(CassetteLock { file, path });
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CassetteLock {
    fn drop(&mut self) {
        // Removed while held, so no one can lock this file and believe it is the cassette's.
        let _ = std::fs::remove_file(&self.path);
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

/// The pid of the process holding the cassette's lock, if one does; never blocks.
pub fn holder(cassette: &Path) -> Option<u32> {
    let path = super::lock_path(cassette);
    let mut file = std::fs::File::open(&path).ok()?;
    match fs4::FileExt::try_lock_shared(&file) {
        Ok(()) => {
            let _ = fs4::FileExt::unlock(&file);
            None
        }
        Err(TryLockError::WouldBlock) => read_pid(&mut file),
        Err(TryLockError::Error(_)) => None,
    }
}

fn read_pid(file: &mut std::fs::File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(unix)]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &std::fs::File, path: &Path) -> bool {
    path.exists()
}
