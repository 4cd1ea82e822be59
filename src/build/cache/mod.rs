//! Binary caches in Nix's format (spec `binary-cache.md`): `nix-cache-info`
//! (with our `StoreDir`: a cache of another store directory is refused),
//! `<hash>.narinfo` and `nar/<filehash>.nar.zst` (zstd when pushing; xz,
//! bzip2 and none read too), on a [`backend`]: a directory, an HTTP
//! server or an S3 bucket ([`s3`]). Any static file server can serve one.
//!
//! * [`Client`] is the store's [`Substituter`] for `install`: narinfos
//!   looked up in parallel across the configured caches (in order), every
//!   answer remembered for the run and on disk across runs ([`remembered`]:
//!   positive 30 days, negative 1 hour), NARs downloaded bounded by their
//!   `FileSize` and checked against `FileHash`, then decompressed for the
//!   store, which checks path, signature, NAR hash and size
//!   ([`crate::store::substitute`]).
//! * [`push`] uploads closures: references first and, for each object, the
//!   NAR before its signed narinfo, so the cache only ever holds whole
//!   closures, and an interrupted push resumes where it stopped (what has
//!   a narinfo is skipped).
//! * [`gc`]: deleting what no pin (`push --pin`) or recent push keeps.
//! * [`export`]: a closure as one stream (`store export`/`store import`,
//!   and what `copy --to` sends to `store serve --stdio`), imported
//!   through the same checks as a download.

pub mod backend;
pub mod export;
pub mod gc;
pub mod remembered;
pub mod s3;

use crate::store::narinfo::NarInfo;
use crate::store::path::nix32_encode;
use crate::store::sign::SecretKey;
use crate::store::{self, Store, StorePath, Substituter, Trust};
use backend::Backend;
use remembered::{Answer, Remembered};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

/// A binary cache error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "unsupported binary cache URL `{0}`: use file:///dir, http://, https:// or s3://bucket"
    )]
    BadUrl(String),
    #[error("{0}")]
    Backend(String),
    #[error(
        "the binary cache `{cache}` holds objects of store `{theirs}`, not `{ours}`: store \
         paths hash the store directory, so its objects cannot be used here"
    )]
    OtherStore {
        cache: String,
        theirs: String,
        ours: String,
    },
    #[error(
        "`{path}` does not match its recorded NAR hash: run `buildout store verify \
         --check-contents` before pushing"
    )]
    Damaged { path: String },
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("cannot {what} `{path}`: {source}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.display().to_string();
    move |source| Error::Io { what, path, source }
}

/// The `StoreDir` of a `nix-cache-info`.
fn cache_store_dir(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|l| l.strip_prefix("StoreDir:"))
        .map(str::trim)
}

/// Checks the cache's `nix-cache-info` names `store_dir`; `Ok(false)`
/// when the cache has none (not a cache yet).
fn check_cache_info(b: &Backend, store_dir: &str, scratch: &Path) -> Result<bool> {
    let Some(bytes) = b.get_small("nix-cache-info", scratch)? else {
        return Ok(false);
    };
    let text = String::from_utf8_lossy(&bytes);
    match cache_store_dir(&text) {
        Some(d) if d == store_dir => Ok(true),
        theirs => Err(Error::OtherStore {
            cache: b.display(),
            theirs: theirs.unwrap_or("(none)").to_string(),
            ours: store_dir.to_string(),
        }),
    }
}

/// One configured substituter.
struct Cache {
    backend: Backend,
    /// Whether its `nix-cache-info` names our store (checked once, when a
    /// narinfo is asked of it).
    usable: OnceLock<bool>,
    /// Its answers of earlier runs.
    remembered: Option<Remembered>,
}

/// What a lookup found: the cache (index) and its narinfo.
type Found = Option<(usize, NarInfo)>;

/// The substituters of a run: the store's [`Substituter`].
pub struct Client {
    caches: Vec<Cache>,
    store_dir: String,
    trust: Trust,
    /// Every answer of this run, positive and negative.
    memo: Mutex<HashMap<StorePath, Found>>,
    /// The positive answers that came from the disk, not the cache.
    from_disk: Mutex<HashSet<StorePath>>,
    warn: Box<dyn Fn(&str) + Send + Sync>,
    info: Box<dyn Fn(&str) + Send + Sync>,
    /// For the small files looked up (narinfos).
    scratch: tempfile::TempDir,
}

/// How many narinfo look-ups run at once.
const PARALLEL: usize = 8;

impl Client {
    /// A client for `urls` (in priority order); a URL that cannot be used
    /// is warned about and left out. `warn` hears failures, `info` each
    /// object substituted.
    pub fn new(
        urls: &[String],
        store_dir: &str,
        trust: Trust,
        warn: Box<dyn Fn(&str) + Send + Sync>,
        info: Box<dyn Fn(&str) + Send + Sync>,
    ) -> Result<Self> {
        let mut caches = Vec::new();
        for u in urls {
            match Backend::open(u) {
                Ok(backend) => caches.push(Cache {
                    // A directory is read as fast as the disk cache, and
                    // would only go stale in it.
                    remembered: match backend {
                        Backend::File(_) => None,
                        _ => Remembered::for_user(&backend.display()),
                    },
                    backend,
                    usable: OnceLock::new(),
                }),
                Err(e) => warn(&format!("ignoring substituter: {e}")),
            }
        }
        Ok(Self {
            caches,
            store_dir: store_dir.to_string(),
            trust,
            memo: Mutex::new(HashMap::new()),
            from_disk: Mutex::new(HashSet::new()),
            warn,
            info,
            scratch: tempfile::tempdir()
                .map_err(io("create", Path::new("a temporary directory")))?,
        })
    }

    fn usable(&self, c: &Cache) -> bool {
        *c.usable.get_or_init(|| {
            match check_cache_info(&c.backend, &self.store_dir, self.scratch.path()) {
                Ok(true) => true,
                Ok(false) => {
                    (self.warn)(&format!(
                        "ignoring substituter `{}`: it has no `nix-cache-info`",
                        c.backend.display()
                    ));
                    false
                }
                Err(e) => {
                    (self.warn)(&format!("ignoring substituter: {e}"));
                    false
                }
            }
        })
    }

    /// Looks `p` up in each cache in turn: what an earlier run was told,
    /// else the cache itself (`ask`: not the disk).
    fn lookup(&self, p: &StorePath, ask: bool) -> Found {
        let hash = p.hash_part();
        let key = format!("{hash}.narinfo");
        for (i, c) in self.caches.iter().enumerate() {
            let disk = c.remembered.as_ref().filter(|_| !ask);
            match disk.and_then(|r| r.get(&hash)) {
                Some(Answer::Absent) => continue,
                Some(Answer::Present(text)) => match NarInfo::parse(&text, &self.store_dir) {
                    Ok(info) if &info.path == p => {
                        self.from_disk
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(p.clone());
                        return Some((i, info));
                    }
                    // Damaged or not ours: asked again.
                    _ => c.remembered.iter().for_each(|r| r.forget(&hash)),
                },
                None => {}
            }
            if !self.usable(c) {
                continue;
            }
            let text = match c.backend.get_small(&key, self.scratch.path()) {
                Ok(Some(t)) => String::from_utf8_lossy(&t).into_owned(),
                Ok(None) => {
                    c.remembered
                        .iter()
                        .for_each(|r| r.put(&hash, &Answer::Absent));
                    continue;
                }
                Err(e) => {
                    (self.warn)(&e.to_string());
                    continue;
                }
            };
            match NarInfo::parse(&text, &self.store_dir) {
                Ok(info) => {
                    c.remembered
                        .iter()
                        .for_each(|r| r.put(&hash, &Answer::Present(text.clone())));
                    return Some((i, info));
                }
                Err(e) => (self.warn)(&format!("`{key}` in `{}`: {e}", c.backend.display())),
            }
        }
        None
    }

    /// The NAR of `info` from cache `cache`, checked against the narinfo's
    /// `FileSize` and `FileHash` and decompressed.
    fn fetch_nar(
        &self,
        cache: usize,
        info: &NarInfo,
        scratch: &Path,
    ) -> std::result::Result<Box<dyn Read>, String> {
        let b = &self.caches[cache].backend;
        let from = |m: String| format!("{m} (from `{}`)", b.display());
        let limit = info
            .file_size
            .unwrap_or(info.nar_size + info.nar_size / 8 + (1 << 16));
        let file = scratch.join("file");
        if !b
            .download(&info.url, &file, limit)
            .map_err(|e| from(e.to_string()))?
        {
            return Err(from(format!("its NAR `{}` is missing", info.url)));
        }
        let (sha, size) = file_hash(&file).map_err(|e| from(e.to_string()))?;
        if info.file_size.is_some_and(|n| n != size) {
            return Err(from(format!(
                "its NAR `{}` has {size} bytes, not the narinfo's `FileSize` {} (truncated?)",
                info.url,
                info.file_size.unwrap_or(0)
            )));
        }
        if info.file_sha256.is_some_and(|h| h != sha) {
            return Err(from(format!(
                "its NAR `{}` does not match the narinfo's `FileHash`",
                info.url
            )));
        }
        let f = std::fs::File::open(&file).map_err(|e| from(e.to_string()))?;
        Ok(match info.compression.as_str() {
            "zstd" => Box::new(zstd::Decoder::new(f).map_err(|e| from(e.to_string()))?),
            "none" => Box::new(f),
            "bzip2" => Box::new(bzip2::read::BzDecoder::new(f)),
            "xz" => {
                // lzma-rs writes into a sink: into a file, bounded by the
                // NAR size the store checks.
                let nar = scratch.join("nar");
                let mut out = Bounded {
                    inner: std::fs::File::create(&nar).map_err(|e| from(e.to_string()))?,
                    left: info.nar_size + 1,
                };
                lzma_rs::xz_decompress(&mut std::io::BufReader::new(f), &mut out)
                    .map_err(|e| from(format!("cannot decompress `{}`: {e}", info.url)))?;
                Box::new(std::fs::File::open(&nar).map_err(|e| from(e.to_string()))?)
            }
            other => return Err(from(format!("unknown `Compression` `{other}`"))),
        })
    }
}

impl Substituter for Client {
    fn query(&self, paths: &[StorePath]) -> Vec<Option<NarInfo>> {
        let todo: Vec<&StorePath> = {
            let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
            let mut seen = HashSet::new();
            paths
                .iter()
                .filter(|p| !memo.contains_key(*p) && seen.insert(*p))
                .collect()
        };
        for chunk in todo.chunks(PARALLEL) {
            let found: Vec<Found> = std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|p| s.spawn(move || self.lookup(p, false)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or(None))
                    .collect()
            });
            let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
            for (p, f) in chunk.iter().zip(found) {
                memo.insert((*p).clone(), f);
            }
        }
        let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        paths
            .iter()
            .map(|p| memo.get(p).cloned().flatten().map(|(_, i)| i))
            .collect()
    }

    fn open_nar(
        &self,
        info: &NarInfo,
        scratch: &Path,
    ) -> std::result::Result<Box<dyn Read>, String> {
        let cache = {
            let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
            match memo.get(&info.path) {
                Some(Some((i, _))) => *i,
                _ => return Err("no cache offered it".into()),
            }
        };
        let first = self.fetch_nar(cache, info, scratch);
        let remembered = self
            .from_disk
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&info.path);
        let Err(e) = first else { return first };
        if !remembered {
            return Err(e);
        }
        // A remembered narinfo whose NAR is gone (the cache was collected
        // or pushed again): forgotten, and the caches asked afresh. A new
        // narinfo is used only for the same NAR (its hash and size are
        // what the store checks, from the narinfo it holds).
        let hash = info.path.hash_part();
        self.caches[cache]
            .remembered
            .iter()
            .for_each(|r| r.forget(&hash));
        let fresh = self.lookup(&info.path, true);
        self.memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(info.path.clone(), fresh.clone());
        match fresh {
            Some((i, new))
                if (new.nar_sha256, new.nar_size) == (info.nar_sha256, info.nar_size) =>
            {
                let again = self.fetch_nar(i, &new, scratch);
                if again.is_err() {
                    self.caches[i]
                        .remembered
                        .iter()
                        .for_each(|r| r.forget(&hash));
                }
                again
            }
            _ => Err(e),
        }
    }

    fn trust(&self) -> &Trust {
        &self.trust
    }

    fn warn(&self, message: &str) {
        (self.warn)(message);
    }

    fn substituted(&self, path: &StorePath) {
        let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(Some((i, _))) = memo.get(path) {
            (self.info)(&format!(
                "Substituted {} from {}.",
                path.name(),
                self.caches[*i].backend.display()
            ));
        }
    }
}

/// A writer that refuses to grow past a byte budget.
struct Bounded<W> {
    inner: W,
    left: u64,
}

impl<W: Write> Write for Bounded<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(std::io::Error::other("larger than its NarSize"));
        }
        self.left -= buf.len() as u64;
        self.inner.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 and size of a file.
fn file_hash(path: &Path) -> Result<([u8; 32], u64)> {
    let mut f = std::fs::File::open(path).map_err(io("read", path))?;
    let mut h: HashingWriter = HashingWriter::default();
    let n = std::io::copy(&mut f, &mut h).map_err(io("read", path))?;
    Ok((h.hasher.finalize().into(), n))
}

/// Hashes and counts what is written through it.
#[derive(Default)]
struct HashingWriter<W = std::io::Sink> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The NAR compression of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Zstd,
    None,
}

/// What [`push`] did.
#[derive(Debug, Default)]
pub struct PushReport {
    /// Objects in the closure.
    pub closure: usize,
    /// Objects the cache had already.
    pub present: usize,
    /// Objects uploaded, and the bytes of their NAR files.
    pub uploaded: usize,
    pub bytes: u64,
}

/// The closure of `roots`, references before referrers.
pub fn closure(store: &Store, roots: &[StorePath]) -> Result<Vec<store::ObjectInfo>> {
    fn visit(
        store: &Store,
        p: &StorePath,
        seen: &mut HashSet<StorePath>,
        out: &mut Vec<store::ObjectInfo>,
    ) -> Result<()> {
        if !seen.insert(p.clone()) {
            return Ok(());
        }
        let info = store.info(p)?;
        for r in &info.references {
            visit(store, r, seen, out)?;
        }
        out.push(info);
        Ok(())
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for r in roots {
        if !store.root_and_check(r)? {
            return Err(store::Error::NotValid(store.real_path(r).display().to_string()).into());
        }
        visit(store, r, &mut seen, &mut out)?;
    }
    Ok(out)
}

/// Uploads the closure of `roots` to the cache at `url`, signing each
/// narinfo with `keys` (the signatures are also recorded in the store).
/// `progress` hears each object uploaded.
pub fn push(
    store: &Store,
    url: &str,
    roots: &[StorePath],
    keys: &[SecretKey],
    compression: Compression,
    pin: Option<&str>,
    progress: &mut dyn FnMut(&StorePath),
) -> Result<PushReport> {
    if let Some(name) = pin
        && (name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
            || name.starts_with('.'))
    {
        return Err(Error::Backend(format!(
            "invalid pin name `{name}`: use letters, digits, `-`, `.` and `_`"
        )));
    }
    let b = Backend::open(url)?;
    let scratch = tempfile::tempdir().map_err(io("create", Path::new("a temporary directory")))?;
    if !check_cache_info(&b, store.dir_str(), scratch.path())? {
        b.put(
            "nix-cache-info",
            format!(
                "StoreDir: {}\nWantMassQuery: 1\nPriority: 40\n",
                store.dir_str()
            )
            .as_bytes(),
        )?;
    }
    let objects = closure(store, roots)?;
    let mut report = PushReport {
        closure: objects.len(),
        ..PushReport::default()
    };
    // Which the cache has (a narinfo means its closure is there too).
    let mut present = Vec::with_capacity(objects.len());
    for chunk in objects.chunks(PARALLEL) {
        let found: Vec<Result<bool>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|o| {
                    let b = &b;
                    s.spawn(move || b.exists(&format!("{}.narinfo", o.path.hash_part())))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Backend("a look-up failed".into())))
                })
                .collect()
        });
        for f in found {
            present.push(f?);
        }
    }
    for (obj, there) in objects.iter().zip(present) {
        if there {
            report.present += 1;
            continue;
        }
        let mut info = NarInfo::of(obj);
        let nar_file = scratch.path().join("nar");
        let c = compress_nar(store, &obj.path, compression, &nar_file)?;
        if c.nar != (obj.nar_sha256, obj.nar_size) {
            return Err(Error::Damaged {
                path: store.real_path(&obj.path).display().to_string(),
            });
        }
        let ext = match compression {
            Compression::Zstd => ".zst",
            Compression::None => "",
        };
        info.url = format!("nar/{}.nar{ext}", nix32_encode(&c.file_sha));
        info.compression = match compression {
            Compression::Zstd => "zstd",
            Compression::None => "none",
        }
        .into();
        info.file_sha256 = Some(c.file_sha);
        info.file_size = Some(c.file_size);
        if !b.exists(&info.url)? {
            b.put_file(&info.url, &nar_file, c.file_size)?;
        }
        store::failpoint::hit("push-nar-uploaded");
        // The NAR is there: an interruption from here on leaves only a
        // NAR that no narinfo names, which the next push reuses.
        let fingerprint = info.fingerprint(store.dir_str());
        let mut sigs = store.signatures(&obj.path)?;
        let new: Vec<String> = keys.iter().map(|k| k.sign(&fingerprint)).collect();
        store.add_signatures(&obj.path, &new)?;
        sigs.extend(new);
        sigs.sort();
        sigs.dedup();
        info.sigs = sigs;
        b.put(
            &format!("{}.narinfo", obj.path.hash_part()),
            info.to_text(store.dir_str()).as_bytes(),
        )?;
        report.uploaded += 1;
        report.bytes += c.file_size;
        progress(&obj.path);
    }
    // Written once the closure is whole: `cache gc` keeps what pins name.
    if let Some(name) = pin {
        let text: String = roots
            .iter()
            .map(|r| format!("{}\n", r.to_absolute(store.dir_str())))
            .collect();
        b.put(&format!("pins/{name}"), text.as_bytes())?;
    }
    Ok(report)
}

/// A compressed NAR file: its SHA-256 and size, and the NAR's own hash
/// and size (to compare with the database before uploading).
struct Compressed {
    file_sha: [u8; 32],
    file_size: u64,
    nar: ([u8; 32], u64),
}

/// Writes the compressed NAR of `p` to `dest`, streaming (objects may be
/// larger than memory).
fn compress_nar(
    store: &Store,
    p: &StorePath,
    compression: Compression,
    dest: &Path,
) -> Result<Compressed> {
    let real = store.real_path(p);
    let file = HashingWriter::new(std::io::BufWriter::new(
        std::fs::File::create(dest).map_err(io("write", dest))?,
    ));
    let (nar, mut file) = match compression {
        Compression::Zstd => {
            let mut nar =
                HashingWriter::new(zstd::Encoder::new(file, 3).map_err(io("compress", &real))?);
            store::nar::dump(&real, &mut nar).map_err(io("read", &real))?;
            let file = nar.inner.finish().map_err(io("compress", &real))?;
            ((nar.hasher.finalize().into(), nar.len), file)
        }
        Compression::None => {
            let mut nar = HashingWriter::new(file);
            store::nar::dump(&real, &mut nar).map_err(io("read", &real))?;
            ((nar.hasher.finalize().into(), nar.len), nar.inner)
        }
    };
    file.flush().map_err(io("write", dest))?;
    Ok(Compressed {
        file_sha: file.hasher.finalize().into(),
        file_size: file.len,
        nar,
    })
}
