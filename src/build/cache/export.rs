//! Closures as one stream, for hosts without a cache or ssh: `buildout
//! store export > closure` and `buildout store import < closure`.
//!
//! The stream is NAR-style framing (each string a little-endian `u64`
//! length, its bytes, zero padding to 8): the string `buildout-export-1`,
//! the store directory, then for each object, references first, its
//! narinfo text (with the signatures the store holds, and new ones by
//! `secret-key-files`) and its NAR, and the
//! string `end`. Import reads every object into a temporary directory and
//! then adds them through the store's substitution path
//! ([`crate::store::substitute`]): the same checks as a download (path,
//! trusted signature unless `require-sigs = false`, NAR hash and size,
//! references first), so an edited or truncated file registers nothing.

use super::{Error, Result, closure, io};
use crate::store::narinfo::NarInfo;
use crate::store::sign::SecretKey;
use crate::store::{Store, StorePath, Substituter, Trust};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const MAGIC: &[u8] = b"buildout-export-1";
/// Longest narinfo or store directory string accepted.
const MAX_TEXT: u64 = 1 << 20;

fn write_str(out: &mut dyn Write, s: &[u8]) -> std::io::Result<()> {
    out.write_all(&(s.len() as u64).to_le_bytes())?;
    out.write_all(s)?;
    out.write_all(&[0u8; 8][..(8 - s.len() % 8) % 8])
}

fn bad(m: impl Into<String>) -> Error {
    Error::Backend(format!("invalid export stream: {}", m.into()))
}

fn read_u64(inp: &mut dyn Read) -> Result<u64> {
    let mut b = [0u8; 8];
    inp.read_exact(&mut b)
        .map_err(|_| bad("truncated (the stream ends early)"))?;
    Ok(u64::from_le_bytes(b))
}

fn skip_pad(inp: &mut dyn Read, len: u64) -> Result<()> {
    let mut b = [0u8; 8];
    let pad = ((8 - len % 8) % 8) as usize;
    inp.read_exact(&mut b[..pad])
        .map_err(|_| bad("truncated (the stream ends early)"))?;
    Ok(())
}

fn read_text(inp: &mut dyn Read) -> Result<String> {
    let len = read_u64(inp)?;
    if len > MAX_TEXT {
        return Err(bad(format!("a {len}-byte header")));
    }
    let mut v = vec![0u8; len as usize];
    inp.read_exact(&mut v)
        .map_err(|_| bad("truncated (the stream ends early)"))?;
    skip_pad(inp, len)?;
    String::from_utf8(v).map_err(|_| bad("a header is not UTF-8"))
}

/// Writes the closure of `roots` to `out`, each object signed with `keys`
/// too (the signatures are recorded in the store); returns how many
/// objects.
pub fn export(
    store: &Store,
    roots: &[StorePath],
    keys: &[SecretKey],
    out: &mut dyn Write,
) -> Result<usize> {
    let objects = closure(store, roots)?;
    export_objects(store, &objects, keys, out)?;
    Ok(objects.len())
}

/// Writes `objects` (references first, as [`closure`] orders them) to
/// `out` as an export stream, each signed with `keys` too: `copy --to`
/// sends only what the host lacks.
pub fn export_objects(
    store: &Store,
    objects: &[crate::store::ObjectInfo],
    keys: &[SecretKey],
    out: &mut dyn Write,
) -> Result<()> {
    let fail = |e: std::io::Error| Error::Backend(format!("cannot write the export: {e}"));
    write_str(out, MAGIC).map_err(fail)?;
    write_str(out, store.dir_str().as_bytes()).map_err(fail)?;
    for obj in objects {
        let mut info = NarInfo::of(obj);
        info.url = "-".into();
        let fingerprint = info.fingerprint(store.dir_str());
        let new: Vec<String> = keys.iter().map(|k| k.sign(&fingerprint)).collect();
        store.add_signatures(&obj.path, &new)?;
        info.sigs = store.signatures(&obj.path)?;
        write_str(out, info.to_text(store.dir_str()).as_bytes()).map_err(fail)?;
        out.write_all(&obj.nar_size.to_le_bytes()).map_err(fail)?;
        let real = store.real_path(&obj.path);
        let mut counted = Counted {
            inner: &mut *out,
            len: 0,
        };
        crate::store::nar::dump(&real, &mut counted).map_err(io("read", &real))?;
        if counted.len != obj.nar_size {
            return Err(Error::Damaged {
                path: real.display().to_string(),
            });
        }
        out.write_all(&[0u8; 8][..((8 - obj.nar_size % 8) % 8) as usize])
            .map_err(fail)?;
    }
    write_str(out, b"end").map_err(fail)?;
    out.flush().map_err(fail)?;
    Ok(())
}

/// Counts what is written through it.
struct Counted<'a> {
    inner: &'a mut dyn Write,
    len: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The objects of a stream, unpacked into a temporary directory: a
/// [`Substituter`] for the store.
struct Imported {
    infos: HashMap<StorePath, (NarInfo, PathBuf)>,
    trust: Trust,
    warnings: Mutex<Vec<String>>,
}

impl Substituter for Imported {
    fn query(&self, paths: &[StorePath]) -> Vec<Option<NarInfo>> {
        paths
            .iter()
            .map(|p| self.infos.get(p).map(|(i, _)| i.clone()))
            .collect()
    }

    fn open_nar(
        &self,
        info: &NarInfo,
        _scratch: &Path,
    ) -> std::result::Result<Box<dyn Read>, String> {
        let (_, file) = self
            .infos
            .get(&info.path)
            .ok_or_else(|| "not in the stream".to_string())?;
        Ok(Box::new(
            std::fs::File::open(file).map_err(|e| e.to_string())?,
        ))
    }

    fn trust(&self) -> &Trust {
        &self.trust
    }

    fn warn(&self, message: &str) {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message.to_string());
    }
}

/// What [`import`] did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub objects: usize,
    /// Objects the store had already.
    pub present: usize,
}

/// Reads an export stream and adds its objects (checked as substitutes
/// are, with `trust`). Any object that cannot be added is an error naming
/// it; what was added before stays (each object is whole and valid).
pub fn import(store: &Store, inp: &mut dyn Read, trust: Trust) -> Result<ImportReport> {
    if read_text(inp)?.as_bytes() != MAGIC {
        return Err(bad("it does not start with `buildout-export-1`"));
    }
    let dir = read_text(inp)?;
    if dir != store.dir_str() {
        return Err(Error::OtherStore {
            cache: "the export stream".into(),
            theirs: dir,
            ours: store.dir_str().to_string(),
        });
    }
    let tmp = tempfile::tempdir().map_err(io("create", Path::new("a temporary directory")))?;
    let mut infos = HashMap::new();
    let mut order = Vec::new();
    loop {
        let text = read_text(inp)?;
        if text == "end" {
            break;
        }
        let info = NarInfo::parse(&text, store.dir_str()).map_err(|e| bad(e.to_string()))?;
        let len = read_u64(inp)?;
        if len != info.nar_size {
            return Err(bad(format!(
                "`{}`: {len} NAR bytes, its narinfo says {}",
                info.path, info.nar_size
            )));
        }
        let file = tmp.path().join(format!("{}.nar", order.len()));
        let mut f = std::fs::File::create(&file).map_err(io("write", &file))?;
        let copied = std::io::copy(&mut inp.take(len), &mut f).map_err(io("write", &file))?;
        if copied != len {
            return Err(bad("truncated (the stream ends early)"));
        }
        skip_pad(inp, len)?;
        order.push(info.path.clone());
        infos.insert(info.path.clone(), (info, file));
    }
    let mut report = ImportReport {
        objects: order.len(),
        ..ImportReport::default()
    };
    for p in &order {
        if store.root_and_check(p)? {
            report.present += 1;
        }
    }
    let imported = std::sync::Arc::new(Imported {
        infos,
        trust,
        warnings: Mutex::new(Vec::new()),
    });
    store.set_substituter(imported.clone());
    let done = store.substitute(&order)?;
    if let Some(i) = done.iter().position(|d| !d) {
        let warnings = imported
            .warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("; ");
        return Err(Error::Backend(format!(
            "cannot import `{}`: {}",
            store.real_path(&order[i]).display(),
            if warnings.is_empty() {
                "it was not added".to_string()
            } else {
                warnings.replace("; building it instead", "")
            }
        )));
    }
    Ok(report)
}
