//! Reading gzip'd tar archives safely: every entry is checked before its bytes are
//! trusted (no absolute paths, no `..`, no links or devices), and the number of entries and
//! the decompressed size are bounded.

use std::io::Read;

/// Bounds on what an archive may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most entries accepted.
    pub max_entries: usize,
    /// Most decompressed bytes accepted, over all entries.
    pub max_total_bytes: u64,
    /// Most bytes of one file kept in memory.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10_000,
            max_total_bytes: 256 * 1024 * 1024,
            max_file_bytes: 16 * 1024 * 1024,
        }
    }
}

/// A regular file read from an archive.
#[derive(Debug, Clone)]
pub struct File {
    /// Its path inside the archive, as written (normalised to `/` separators).
    pub path: String,
    /// Its contents (up to `max_file_bytes`; see `truncated`).
    pub data: Vec<u8>,
    /// Whether `data` was cut at the limit.
    pub truncated: bool,
}

/// Why an archive was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveError {
    /// The entry concerned (empty for the archive as a whole).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> ArchiveError {
    ArchiveError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Read every regular file of a `.tar.gz` from `reader`, refusing unsafe entries. `keep`
/// decides which files' bytes are kept (others are read past, counted against the limits).
pub fn read_tar_gz(
    reader: impl Read,
    limits: Limits,
    mut keep: impl FnMut(&str) -> bool,
) -> Result<Vec<File>, ArchiveError> {
    read_tar_gz_sized(reader, limits, |path, _| keep(path))
}

/// [`read_tar_gz`], with `keep` also told each regular file's size (from its header)
/// before its bytes are read: it sees every regular file, so a caller can list or bound
/// all of them, not only the ones it keeps.
pub fn read_tar_gz_sized(
    reader: impl Read,
    limits: Limits,
    mut keep: impl FnMut(&str, u64) -> bool,
) -> Result<Vec<File>, ArchiveError> {
    let gz = flate2::read::GzDecoder::new(reader);
    let mut ar = tar::Archive::new(gz);
    let mut out = Vec::new();
    let mut total: u64 = 0;
    let entries = ar
        .entries()
        .map_err(|e| err("", format!("not a tar archive: {e}")))?;
    for (n, entry) in entries.enumerate() {
        if n >= limits.max_entries {
            return Err(err("", format!("more than {} entries", limits.max_entries)));
        }
        let mut entry = entry.map_err(|e| err("", format!("corrupt archive: {e}")))?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).replace('\\', "/");
        if path.starts_with('/') {
            return Err(err(&path, "absolute paths are not allowed"));
        }
        if path.split('/').any(|c| c == "..") {
            return Err(err(&path, "paths with .. are not allowed"));
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() {
            return Err(err(&path, "symbolic links are not allowed"));
        }
        if kind.is_hard_link() {
            return Err(err(&path, "hard links are not allowed"));
        }
        if kind.is_block_special() || kind.is_character_special() || kind.is_fifo() {
            return Err(err(&path, "device files and FIFOs are not allowed"));
        }
        if kind.is_dir()
            || kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
        {
            continue;
        }
        if !kind.is_file() {
            return Err(err(&path, format!("entry type {:?} is not allowed", kind)));
        }
        let size = entry.header().size().unwrap_or(0);
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(err(
                &path,
                format!(
                    "archive expands to more than {} bytes",
                    limits.max_total_bytes
                ),
            ));
        }
        if keep(&path, size) {
            let mut data = Vec::new();
            (&mut entry)
                .take(limits.max_file_bytes)
                .read_to_end(&mut data)
                .map_err(|e| err(&path, format!("reading: {e}")))?;
            let truncated = size > limits.max_file_bytes;
            out.push(File {
                path,
                data,
                truncated,
            });
        } else {
            std::io::copy(&mut entry, &mut std::io::sink())
                .map_err(|e| err(&path, format!("reading: {e}")))?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &[u8], kind: tar::EntryType, data: &[u8]) -> (tar::Header, Vec<u8>) {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        (h, data.to_vec())
    }

    fn tar_gz(entries: &[(&[u8], tar::EntryType, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, kind, data) in entries {
            let (h, d) = entry(name, *kind, data);
            b.append(&h, &d[..]).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn regular_files_are_read_and_others_skipped_by_keep() {
        let a = tar_gz(&[
            (b"chart/Chart.yaml", tar::EntryType::Regular, b"name: x"),
            (b"chart/big.bin", tar::EntryType::Regular, &[0u8; 100]),
        ]);
        let files = read_tar_gz(&a[..], Limits::default(), |p| p.ends_with(".yaml")).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, "chart/Chart.yaml");
        assert_eq!(files[0].data, b"name: x");
    }

    #[test]
    fn unsafe_entries_are_refused_with_their_path() {
        for (name, kind, why) in [
            (&b"/etc/passwd"[..], tar::EntryType::Regular, "absolute"),
            (&b"chart/../../evil"[..], tar::EntryType::Regular, ".."),
            (&b"chart/link"[..], tar::EntryType::Symlink, "links"),
            (&b"chart/hard"[..], tar::EntryType::Link, "links"),
            (&b"chart/dev"[..], tar::EntryType::Char, "device"),
        ] {
            let a = tar_gz(&[(name, kind, b"")]);
            let e = read_tar_gz(&a[..], Limits::default(), |_| true).unwrap_err();
            assert!(e.message.contains(why), "{name:?}: {e:?}");
            assert_eq!(e.path.as_bytes(), name);
        }
    }

    #[test]
    fn symbolic_and_hard_links_are_told_apart() {
        let a = tar_gz(&[(b"chart/link", tar::EntryType::Symlink, b"")]);
        let e = read_tar_gz(&a[..], Limits::default(), |_| true).unwrap_err();
        assert_eq!(e.message, "symbolic links are not allowed");
        let a = tar_gz(&[(b"chart/hard", tar::EntryType::Link, b"")]);
        let e = read_tar_gz(&a[..], Limits::default(), |_| true).unwrap_err();
        assert_eq!(e.message, "hard links are not allowed");
    }

    #[test]
    fn the_sized_reader_sees_every_regular_file_with_its_size() {
        let a = tar_gz(&[
            (b"chart/", tar::EntryType::Directory, b""),
            (b"chart/Chart.yaml", tar::EntryType::Regular, b"name: x"),
            (b"chart/big.bin", tar::EntryType::Regular, &[0u8; 100]),
        ]);
        let mut seen = Vec::new();
        let files = read_tar_gz_sized(&a[..], Limits::default(), |p, size| {
            seen.push((p.to_string(), size));
            p.ends_with(".yaml")
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                ("chart/Chart.yaml".to_string(), 7),
                ("chart/big.bin".to_string(), 100)
            ]
        );
        assert_eq!(files.len(), 1);
    }

    #[test]
    fn limits_on_entries_and_size_are_enforced() {
        let many: Vec<(&[u8], tar::EntryType, &[u8])> =
            vec![(b"a", tar::EntryType::Regular, b"x"); 5];
        let a = tar_gz(&many);
        let limits = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        assert!(
            read_tar_gz(&a[..], limits, |_| true)
                .unwrap_err()
                .message
                .contains("more than 3")
        );
        let big = tar_gz(&[(b"a", tar::EntryType::Regular, &[1u8; 1000])]);
        let limits = Limits {
            max_total_bytes: 999,
            ..Limits::default()
        };
        assert!(
            read_tar_gz(&big[..], limits, |_| true)
                .unwrap_err()
                .message
                .contains("expands")
        );
        assert!(read_tar_gz(&b"not gzip"[..], Limits::default(), |_| true).is_err());
    }
}
