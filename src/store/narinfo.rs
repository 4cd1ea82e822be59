//! The `.narinfo` text of a binary cache (spec `binary-cache.md` §1.1):
//! what a cache says about one object, in Nix's `Key: value` lines, plus
//! one unsigned line of ours, `Kind:` (what the object is).
//!
//! [`NarInfo::parse`] checks the syntax and that `StorePath` is an object
//! of this store directory; whether the cache may be believed (the
//! expected path, a trusted signature) is [`super::substitute`]'s check.

use super::path::{StorePath, nix32_decode, nix32_encode};
use super::sign;
use super::{Kind, ObjectInfo};

/// A narinfo error: the cache's file names the field.
#[derive(Debug, thiserror::Error)]
#[error("invalid narinfo: {0}")]
pub struct NarInfoError(String);

/// One object as a cache describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarInfo {
    pub path: StorePath,
    /// The NAR file, relative to the cache (`nar/<filehash>.nar.zst`).
    pub url: String,
    /// `zstd`, `xz`, `bzip2` or `none`.
    pub compression: String,
    pub file_sha256: Option<[u8; 32]>,
    pub file_size: Option<u64>,
    pub nar_sha256: [u8; 32],
    pub nar_size: u64,
    pub references: Vec<StorePath>,
    pub deriver: Option<String>,
    pub sigs: Vec<String>,
    pub ca: Option<String>,
    pub kind: Option<Kind>,
}

fn parse_hash(field: &str, v: &str) -> Result<[u8; 32], NarInfoError> {
    let bad = || NarInfoError(format!("`{field}` is not `sha256:<nix32>`"));
    let h = v.strip_prefix("sha256:").ok_or_else(bad)?;
    let bytes = if h.len() == 64 {
        hex::decode(h).map_err(|_| bad())?
    } else {
        nix32_decode(h, 32).ok_or_else(bad)?
    };
    bytes.try_into().map_err(|_| bad())
}

fn parse_int(field: &str, v: &str) -> Result<u64, NarInfoError> {
    v.parse()
        .map_err(|_| NarInfoError(format!("`{field}` is not a number")))
}

impl NarInfo {
    /// The narinfo of a registered object, before its NAR file is known.
    pub fn of(info: &ObjectInfo) -> Self {
        Self {
            path: info.path.clone(),
            url: String::new(),
            compression: "none".into(),
            file_sha256: None,
            file_size: None,
            nar_sha256: info.nar_sha256,
            nar_size: info.nar_size,
            references: info.references.clone(),
            deriver: info.deriver.clone(),
            sigs: Vec::new(),
            ca: info.ca.clone(),
            kind: Some(info.kind),
        }
    }

    /// Parses narinfo text for the store directory `store_dir`.
    pub fn parse(text: &str, store_dir: &str) -> Result<Self, NarInfoError> {
        let mut path = None;
        let mut url = None;
        let mut compression = None;
        let (mut file_sha256, mut file_size) = (None, None);
        let (mut nar_sha256, mut nar_size) = (None, None);
        let mut references = Vec::new();
        let (mut deriver, mut ca, mut kind) = (None, None, None);
        let mut sigs = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (k, v) = line
                .split_once(": ")
                .ok_or_else(|| NarInfoError(format!("line `{line}` is not `Key: value`")))?;
            match k {
                "StorePath" => {
                    let base = v
                        .strip_prefix(store_dir)
                        .and_then(|r| r.strip_prefix('/'))
                        .ok_or_else(|| {
                            NarInfoError(format!("`StorePath` `{v}` is not in `{store_dir}`"))
                        })?;
                    path = Some(
                        base.parse::<StorePath>()
                            .map_err(|e| NarInfoError(format!("`StorePath` `{v}`: {e}")))?,
                    );
                }
                "URL" => url = Some(v.to_string()),
                "Compression" => compression = Some(v.to_string()),
                "FileHash" => file_sha256 = Some(parse_hash(k, v)?),
                "FileSize" => file_size = Some(parse_int(k, v)?),
                "NarHash" => nar_sha256 = Some(parse_hash(k, v)?),
                "NarSize" => nar_size = Some(parse_int(k, v)?),
                "References" => {
                    references = v
                        .split_whitespace()
                        .map(|r| {
                            r.parse::<StorePath>()
                                .map_err(|e| NarInfoError(format!("reference `{r}`: {e}")))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "Deriver" if v != "unknown-deriver" => deriver = Some(v.to_string()),
                "Sig" => sigs.push(v.to_string()),
                "CA" => ca = Some(v.to_string()),
                "Kind" => {
                    kind = Some(
                        v.parse::<Kind>()
                            .map_err(|_| NarInfoError(format!("unknown `Kind` `{v}`")))?,
                    );
                }
                _ => {}
            }
        }
        let missing = |f: &str| NarInfoError(format!("no `{f}`"));
        let url: String = url.ok_or_else(|| missing("URL"))?;
        if url.starts_with('/') || url.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(NarInfoError(format!("`URL` `{url}` leaves the cache")));
        }
        Ok(Self {
            path: path.ok_or_else(|| missing("StorePath"))?,
            url,
            // Nix: bzip2 when omitted.
            compression: compression.unwrap_or_else(|| "bzip2".into()),
            file_sha256,
            file_size,
            nar_sha256: nar_sha256.ok_or_else(|| missing("NarHash"))?,
            nar_size: nar_size.ok_or_else(|| missing("NarSize"))?,
            references,
            deriver,
            sigs,
            ca,
            kind,
        })
    }

    /// What a signature covers.
    pub fn fingerprint(&self, store_dir: &str) -> String {
        sign::fingerprint(
            store_dir,
            &self.path,
            &self.nar_sha256,
            self.nar_size,
            &self.references,
        )
    }

    /// The narinfo text.
    pub fn to_text(&self, store_dir: &str) -> String {
        let mut s = format!(
            "StorePath: {}\nURL: {}\nCompression: {}\n",
            self.path.to_absolute(store_dir),
            self.url,
            self.compression
        );
        if let Some(h) = &self.file_sha256 {
            s += &format!("FileHash: sha256:{}\n", nix32_encode(h));
        }
        if let Some(n) = self.file_size {
            s += &format!("FileSize: {n}\n");
        }
        let mut refs: Vec<String> = self.references.iter().map(ToString::to_string).collect();
        refs.sort();
        s += &format!(
            "NarHash: sha256:{}\nNarSize: {}\nReferences: {}\n",
            nix32_encode(&self.nar_sha256),
            self.nar_size,
            refs.join(" ")
        );
        if let Some(d) = &self.deriver {
            s += &format!("Deriver: {d}\n");
        }
        for sig in &self.sigs {
            s += &format!("Sig: {sig}\n");
        }
        if let Some(ca) = &self.ca {
            s += &format!("CA: {ca}\n");
        }
        if let Some(k) = self.kind {
            s += &format!("Kind: {}\n", k.as_str());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nix_narinfo_parses_and_round_trips() {
        let text = "StorePath: /nix/store/syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7.82.0-bin\n\
URL: nar/05ra3y72i3qjri7xskf9qj8kb29r6naqy1sqpbs3azi3xcigmj56.nar.xz\n\
Compression: xz\n\
FileHash: sha256:05ra3y72i3qjri7xskf9qj8kb29r6naqy1sqpbs3azi3xcigmj56\n\
FileSize: 68852\n\
NarHash: sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0\n\
NarSize: 196040\n\
References: 0jqd0rlxzra1rs38rdxl43yh6rxchgc6-curl-7.82.0 6w8g7njm4mck5dmjxws0z1xnrxvl81xa-glibc-2.34-115 j5jxw3iy7bbz4a57fh9g2xm2gxmyal8h-zlib-1.2.12 yxvjs9drzsphm9pcf42a4byzj1kb9m7k-openssl-1.1.1n\n\
Deriver: 5rwxzi7pal3qhpsyfc16gzkh939q1np6-curl-7.82.0.drv\n\
Sig: cache.nixos.org-1:TsTTb3WGTZKphvYdBHXwo6weVILmTytUjLB+vcX89fOjjRicCHmKA4RCPMVLkj6TMJ4GMX3HPVWRdD1hkeKZBQ==\n";
        let info = NarInfo::parse(text, "/nix/store").unwrap();
        assert_eq!(info.nar_size, 196040);
        assert_eq!(info.references.len(), 4);
        let key = sign::PublicKey::parse(
            "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=",
        )
        .unwrap();
        assert!(sign::trusted(
            &[key],
            &info.fingerprint("/nix/store"),
            &info.sigs
        ));
        assert_eq!(
            NarInfo::parse(&info.to_text("/nix/store"), "/nix/store").unwrap(),
            info
        );
        // Another store directory, or a URL leaving the cache: refused.
        assert!(NarInfo::parse(text, "/var/lib/buildout/store").is_err());
        let escaping = text.replace("URL: nar/", "URL: ../");
        assert!(NarInfo::parse(&escaping, "/nix/store").is_err());
    }
}
