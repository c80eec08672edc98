//! Where own images come from: the entries of a .zip ([`zip_files`]), a directory natively
//! ([`read_path`]), and the path rule that gives each file its class ([`classify`]). Both readers
//! bound what they hold: [`limits::OWN_FILES`] files, [`limits::OWN_FILE`] bytes per file and
//! [`limits::OWN_BYTES`] in all, counting the bytes actually inflated (a .zip's declared sizes
//! are not trusted), so a zip bomb is refused after at most that much work.

use std::io::{Cursor, Read};

use super::Skipped;
use crate::budget::{fmt_bytes, limits, Budget};
use crate::error::{Error, Result};

/// Files read from a .zip or a directory: (relative path with `/` separators, bytes), and the
/// entries that could not be read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OwnFiles {
    pub files: Vec<(String, Vec<u8>)>,
    pub skipped: Vec<Skipped>,
}

/// The bounds on an own-images dataset (defaults: [`limits::OWN_FILES`],
/// [`limits::OWN_FILE`], [`limits::OWN_BYTES`], [`limits::OWN_PIXELS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnLimits {
    /// Most files (or .zip entries).
    pub files: u64,
    /// Largest file, in bytes (a .zip entry once inflated).
    pub file_bytes: u64,
    /// Largest total of the files' bytes.
    pub total_bytes: u64,
    /// Largest total of the fitted 8-bit pixels.
    pub pixels: u64,
}

impl Default for OwnLimits {
    fn default() -> Self {
        Self {
            files: limits::OWN_FILES,
            file_bytes: limits::OWN_FILE,
            total_bytes: limits::OWN_BYTES,
            pixels: limits::OWN_PIXELS,
        }
    }
}

impl OwnLimits {
    pub(super) fn too_many(&self, n: u64, what: &str) -> Error {
        Error::Budget(format!(
            "{what} has {n} entries, more than the {} an own-images dataset may have",
            self.files
        ))
    }

    pub(super) fn too_big(&self) -> String {
        format!(
            "larger than the {} limit per file",
            fmt_bytes(self.file_bytes)
        )
    }
}

/// The files of a .zip (stored or deflated entries; directories are left out). An entry that
/// cannot be read (encrypted, another compression method, corrupt data, over the per-file
/// limit) is skipped with the reason; an archive that cannot be opened, or holds more entries or
/// more inflated bytes than the budgets allow, is an error.
pub fn zip_files(bytes: &[u8]) -> Result<OwnFiles> {
    zip_files_with(bytes, &OwnLimits::default())
}

/// [`zip_files`] under other bounds.
pub fn zip_files_with(bytes: &[u8], lim: &OwnLimits) -> Result<OwnFiles> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| Error::Dataset(format!("not a readable .zip file ({e})")))?;
    if zip.len() as u64 > lim.files {
        return Err(lim.too_many(zip.len() as u64, "the .zip"));
    }
    let mut out = OwnFiles::default();
    let mut budget = Budget::new("the .zip", "inflating", lim.total_bytes);
    for i in 0..zip.len() {
        // The raw view reads only the entry's header: its name even when its data is unreadable.
        let (name, is_dir, declared) = match zip.by_index_raw(i) {
            Ok(f) => (f.name().to_string(), f.is_dir(), f.size()),
            Err(e) => {
                out.skipped.push(Skipped::new(
                    format!("entry #{i}"),
                    format!("unreadable ({e})"),
                ));
                continue;
            }
        };
        if is_dir {
            continue;
        }
        if declared > lim.file_bytes {
            out.skipped.push(Skipped::new(name, lim.too_big()));
            continue;
        }
        let mut f = match zip.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                out.skipped
                    .push(Skipped::new(name, format!("cannot be read ({e})")));
                continue;
            }
        };
        let mut data = Vec::with_capacity(declared.min(lim.file_bytes) as usize);
        let read = (&mut f).take(lim.file_bytes + 1).read_to_end(&mut data);
        if let Err(e) = read {
            out.skipped
                .push(Skipped::new(name, format!("corrupt data ({e})")));
            continue;
        }
        if data.len() as u64 > lim.file_bytes {
            out.skipped.push(Skipped::new(name, lim.too_big()));
            continue;
        }
        budget.charge(format!("entry {name}"), data.len() as u64)?;
        out.files.push((name, data));
    }
    Ok(out)
}

/// Natively: the files under a directory (symbolic links are not followed but listed as
/// skipped), or the entries of a .zip file.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_path(path: &std::path::Path) -> Result<OwnFiles> {
    read_path_with(path, &OwnLimits::default())
}

/// [`read_path`] under other bounds.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_path_with(path: &std::path::Path, lim: &OwnLimits) -> Result<OwnFiles> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    if meta.is_file() {
        if meta.len() > lim.total_bytes {
            return Err(Error::Budget(format!(
                "{}: {}, over the {} limit of an own-images .zip",
                path.display(),
                fmt_bytes(meta.len()),
                fmt_bytes(lim.total_bytes)
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path.display().to_string(), e))?;
        return zip_files_with(&bytes, lim).map_err(|e| match e {
            Error::Dataset(m) => Error::Dataset(format!(
                "{}: {m}; give a directory with one sub-folder per class, or a .zip of one",
                path.display()
            )),
            other => other,
        });
    }
    let mut out = OwnFiles::default();
    let mut budget = Budget::new(path.display().to_string(), "reading", lim.total_bytes);
    let mut stack = vec![(path.to_path_buf(), String::new(), 0usize)];
    let mut seen = 0u64;
    while let Some((dir, rel, depth)) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
        let mut entries: Vec<_> = rd
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(dir.display().to_string(), e))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            seen += 1;
            if seen > lim.files {
                return Err(lim.too_many(seen, &path.display().to_string()));
            }
            let name = format!("{rel}{}", e.file_name().to_string_lossy());
            let ft = e
                .file_type()
                .map_err(|err| Error::io(e.path().display().to_string(), err))?;
            if ft.is_symlink() {
                out.skipped
                    .push(Skipped::new(name, "a symbolic link (not followed)"));
            } else if ft.is_dir() {
                // Deeper than any class layout needs: refuse rather than walk a pathological tree.
                if depth >= 32 {
                    out.skipped
                        .push(Skipped::new(name, "a folder nested more than 32 deep"));
                } else {
                    stack.push((e.path(), format!("{name}/"), depth + 1));
                }
            } else {
                let len = e
                    .metadata()
                    .map_err(|err| Error::io(e.path().display().to_string(), err))?
                    .len();
                if len > lim.file_bytes {
                    out.skipped.push(Skipped::new(name, lim.too_big()));
                    continue;
                }
                budget.charge(format!("file {name}"), len)?;
                let bytes = std::fs::read(e.path()).map_err(|err| Error::io(name.clone(), err))?;
                out.files.push((name, bytes));
            }
        }
    }
    Ok(out)
}

/// A file with its class, ready to decode.
pub(super) struct Entry {
    pub class: String,
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Gives each file its class: the first folder of its path once the folders that wrap every
/// file (a dropped or zipped folder's own name) are taken off. Hidden and system files (a name
/// starting with `.`, `__MACOSX/`, `Thumbs.db`, `desktop.ini`), files outside any class folder,
/// paths with `..` and repeated paths are skipped. The entries come back sorted by path, so the
/// dataset does not depend on the order the files were given in.
pub(super) fn classify(files: Vec<(String, Vec<u8>)>) -> (Vec<Entry>, Vec<Skipped>) {
    let mut skipped = Vec::new();
    let mut kept: Vec<(Vec<String>, String, Vec<u8>)> = Vec::new();
    for (path, bytes) in files {
        let norm = path.replace('\\', "/");
        let parts: Vec<String> = norm
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(str::to_string)
            .collect();
        let reason = if parts.is_empty() {
            Some("an empty name")
        } else if parts.iter().any(|p| p == "..") {
            Some("a path that leaves its folder (`..`)")
        } else if parts.iter().any(|p| p.starts_with('.') || p == "__MACOSX")
            || ["Thumbs.db", "desktop.ini"].contains(&parts[parts.len() - 1].as_str())
        {
            Some("a hidden or system file")
        } else {
            None
        };
        match reason {
            Some(r) => skipped.push(Skipped::new(path, r)),
            None => kept.push((parts, path, bytes)),
        }
    }
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let mut deduped: Vec<(Vec<String>, String, Vec<u8>)> = Vec::with_capacity(kept.len());
    for k in kept {
        if deduped.last().is_some_and(|d| d.0 == k.0) {
            skipped.push(Skipped::new(k.1, "the same path as an earlier file"));
        } else {
            deduped.push(k);
        }
    }
    // Look through folders that wrap everything, as long as a class folder remains below them
    // (a stray file beside the class folders, `set/notes.txt`, is then outside any class).
    let mut strip = 0;
    while !deduped.is_empty()
        && deduped.iter().any(|(p, _, _)| p.len() >= strip + 3)
        && deduped.iter().all(|(p, _, _)| p.len() > strip + 1)
        && deduped
            .iter()
            .all(|(p, _, _)| p[strip] == deduped[0].0[strip])
    {
        strip += 1;
    }
    let mut entries = Vec::with_capacity(deduped.len());
    for (parts, path, bytes) in deduped {
        if parts.len() < strip + 2 {
            skipped.push(Skipped::new(
                path,
                "not inside a class folder (put each class's images in a sub-folder named after it)",
            ));
        } else {
            entries.push(Entry {
                class: parts[strip].clone(),
                path,
                bytes,
            });
        }
    }
    (entries, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (class, path) pairs.
    type Pairs = Vec<(String, String)>;

    fn classes(paths: &[&str]) -> (Pairs, Pairs) {
        let files = paths.iter().map(|p| (p.to_string(), vec![1])).collect();
        let (e, s) = classify(files);
        (
            e.into_iter().map(|e| (e.class, e.path)).collect(),
            s.into_iter().map(|s| (s.path, s.reason)).collect(),
        )
    }

    #[test]
    fn classes_come_from_the_first_folder_below_the_wrappers() {
        // No wrapper; Windows separators; a nested file stays in its top class folder.
        let (e, s) = classes(&["b\\1.png", "a/1.png", "a/deep/2.png", "./a/3.png"]);
        let got: Vec<&str> = e.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(got, ["a", "a", "a", "b"]);
        assert!(s.is_empty());
        // Two wrappers deep.
        let (e, _) = classes(&["x/y/cat/1.png", "x/y/dog/1.png"]);
        assert_eq!(e[0].0, "cat");
        // A single class folder is not mistaken for a wrapper.
        let (e, _) = classes(&["cat/1.png", "cat/2.png"]);
        assert!(e.iter().all(|(c, _)| c == "cat"));
        // `..`, repeats, hidden files, and files beside the class folders are skipped.
        let (e, s) = classes(&[
            "set/cat/1.png",
            "set/cat/1.png",
            "set/../etc/passwd",
            "set/dog/.hidden.png",
            "set/Thumbs.db",
            "set/dog/2.png",
            "set/readme.md",
        ]);
        assert_eq!(e.len(), 2);
        let reasons: Vec<&str> = s.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(s.len(), 5, "{s:?}");
        assert!(reasons.iter().any(|r| r.contains("`..`")));
        assert!(reasons.iter().any(|r| r.contains("same path")));
        assert_eq!(reasons.iter().filter(|r| r.contains("hidden")).count(), 2);
        assert!(s
            .iter()
            .any(|(p, r)| p == "set/readme.md" && r.contains("not inside a class folder")));
    }
}
