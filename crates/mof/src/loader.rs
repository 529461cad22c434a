//! Reading MOF sources: the one place the compiler does I/O.

use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// Reads the files named by `#pragma include` (and the top-level file of
/// [`crate::Compiler::compile_file`]).
pub trait SourceLoader {
    /// Loads `name` as included from `including_file` (`None` for the
    /// top-level file). Returns the path the file is known by (used in
    /// messages and to detect include cycles) and its text.
    fn load(&self, including_file: Option<&Path>, name: &str) -> io::Result<(PathBuf, String)>;
}

/// Loads from the file system: a relative name is looked up beside the
/// including file first, then in each include directory in order.
#[derive(Clone, Debug, Default)]
pub struct FsLoader {
    pub include_dirs: Vec<PathBuf>,
    /// Files larger than this are refused without being read whole.
    pub max_file_size: u64,
}

impl FsLoader {
    pub fn new(include_dirs: Vec<PathBuf>, max_file_size: u64) -> Self {
        FsLoader {
            include_dirs,
            max_file_size,
        }
    }

    fn candidates(&self, including_file: Option<&Path>, name: &str) -> Vec<PathBuf> {
        let name = Path::new(name);
        if name.is_absolute() {
            return vec![name.to_path_buf()];
        }
        let mut out = Vec::with_capacity(self.include_dirs.len() + 1);
        match including_file.and_then(Path::parent) {
            Some(dir) => out.push(dir.join(name)),
            None => out.push(name.to_path_buf()),
        }
        out.extend(self.include_dirs.iter().map(|d| d.join(name)));
        out
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        let file = std::fs::File::open(path)?;
        let limit = self.max_file_size.saturating_add(1);
        let mut text = String::new();
        file.take(limit).read_to_string(&mut text)?;
        if text.len() as u64 > self.max_file_size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("file is larger than {} bytes", self.max_file_size),
            ));
        }
        Ok(text)
    }
}

impl SourceLoader for FsLoader {
    fn load(&self, including_file: Option<&Path>, name: &str) -> io::Result<(PathBuf, String)> {
        let candidates = self.candidates(including_file, name);
        let mut first_err = None;
        for path in candidates {
            match self.read(&path) {
                Ok(text) => return Ok((lexical_normalize(&path), text)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    first_err.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(first_err.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not found")))
    }
}

/// Drops `.` components and folds `dir/..`, without touching the file system,
/// so that one file reached by two spellings is recognised in cycle checks.
pub fn lexical_normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let popped =
                    matches!(out.components().next_back(), Some(Component::Normal(_))) && out.pop();
                if !popped {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Serves sources from memory: for tests, fuzzing and embedded schemas.
#[derive(Clone, Debug, Default)]
pub struct MemoryLoader {
    pub files: Vec<(String, String)>,
}

impl MemoryLoader {
    pub fn new() -> Self {
        MemoryLoader::default()
    }
    pub fn with(mut self, name: &str, text: &str) -> Self {
        self.files.push((name.to_owned(), text.to_owned()));
        self
    }
}

impl SourceLoader for MemoryLoader {
    fn load(&self, _including_file: Option<&Path>, name: &str) -> io::Result<(PathBuf, String)> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(n, t)| (PathBuf::from(n), t.clone()))
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(
            lexical_normalize(Path::new("a/./b/../c")),
            PathBuf::from("a/c")
        );
        assert_eq!(lexical_normalize(Path::new("../x")), PathBuf::from("../x"));
    }
}
