//! Store paths: the `<32-char nix32 digest>-<name>` base names of objects, the
//! Nix32 encoding, and Nix's fingerprint formula that turns what an object is
//! into its digest (spec `store.md` §1).
//!
//! The store directory string is hashed into every digest, exactly as Nix
//! does, so the same content gets a different path under a different store
//! directory. The formula is Nix's unchanged, which the tests check against
//! Nix's own published vectors (computed with `/nix/store`).

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// The Nix32 alphabet: digits and lower-case letters without `e o u t`.
const ALPHABET: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

/// [`ALPHABET`] inverted: the value of each byte, or [`NOT_NIX32`].
const DIGITS: [u8; 256] = {
    let mut t = [NOT_NIX32; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};
const NOT_NIX32: u8 = 0xff;

/// Length of the digest in a base name, in characters.
pub const HASH_CHARS: usize = 32;
/// Length of the digest in bytes.
pub const HASH_BYTES: usize = 20;
/// Longest allowed name (Nix's `StorePath::MaxPathLen`).
pub const MAX_NAME_LEN: usize = 211;

/// Number of Nix32 characters needed for `len` bytes.
pub const fn nix32_len(len: usize) -> usize {
    if len == 0 { 0 } else { (len * 8 - 1) / 5 + 1 }
}

/// Encodes bytes as Nix32: the bytes read as a little-endian integer, written
/// in base 32 with the most significant digit first.
pub fn nix32_encode(bytes: &[u8]) -> String {
    let n = nix32_len(bytes.len());
    let mut out = Vec::with_capacity(n);
    for k in (0..n).rev() {
        let b = k * 5;
        let (i, j) = (b / 8, b % 8);
        let lo = u16::from(bytes[i]) >> j;
        let hi = bytes.get(i + 1).map_or(0, |&x| u16::from(x) << (8 - j));
        out.push(ALPHABET[usize::from((lo | hi) & 0x1f)]);
    }
    String::from_utf8(out).expect("the Nix32 alphabet is ASCII")
}

/// Decodes Nix32 into exactly `len` bytes; rejects characters outside the
/// alphabet, a wrong length and non-zero leftover high bits.
pub fn nix32_decode(text: &str, len: usize) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() != nix32_len(len) {
        return None;
    }
    let mut out = vec![0u8; len];
    for (k, &c) in text.iter().rev().enumerate() {
        let digit = DIGITS[usize::from(c)];
        if digit == NOT_NIX32 {
            return None;
        }
        let digit = u16::from(digit);
        let b = k * 5;
        let (i, j) = (b / 8, b % 8);
        out[i] |= (digit << j) as u8;
        let carry = digit >> (8 - j);
        if let Some(next) = out.get_mut(i + 1) {
            *next |= carry as u8;
        } else if carry != 0 {
            return None;
        }
    }
    Some(out)
}

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Why a string is not a valid store path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("`{0}` is not a store path: it is too short to hold a 32-character hash and a name")]
    TooShort(String),
    #[error("`{0}` is not a store path: its hash part is not valid nix32")]
    BadHash(String),
    #[error("`{0}` is not a valid store object name: {1}")]
    BadName(String, &'static str),
}

/// Checks an object name against Nix's rules (`checkName`).
pub fn check_name(name: &str) -> Result<(), PathError> {
    let bad = |why| Err(PathError::BadName(name.to_string(), why));
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("it is longer than 211 characters");
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"+-._?=".contains(&c))
    {
        return bad("only letters, digits and `+-._?=` are allowed");
    }
    let first = name.split('-').next().unwrap_or(name);
    if first == "." || first == ".." {
        return bad("it must not start with `.` or `..` followed by `-` or the end");
    }
    Ok(())
}

/// The base name of a store object, `<digest>-<name>`: the digest is 20
/// bytes, printed as 32 Nix32 characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorePath {
    digest: [u8; HASH_BYTES],
    name: String,
}

impl StorePath {
    /// Builds a path from a digest and a name, checking the name.
    pub fn new(digest: [u8; HASH_BYTES], name: &str) -> Result<Self, PathError> {
        check_name(name)?;
        Ok(Self {
            digest,
            name: name.to_string(),
        })
    }

    /// The 32-character hash part.
    pub fn hash_part(&self) -> String {
        nix32_encode(&self.digest)
    }

    /// Orders two paths as their hash parts compare as strings, without
    /// printing them: Nix32 writes the digest as a little-endian number, most
    /// significant digit first, in an alphabet sorted like its values, so the
    /// printed order is the order of the digest bytes read from the last.
    pub fn cmp_hash_part(&self, other: &Self) -> std::cmp::Ordering {
        self.digest.iter().rev().cmp(other.digest.iter().rev())
    }

    /// The name after the dash.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full printed path under `store_dir`.
    pub fn to_absolute(&self, store_dir: &str) -> String {
        format!("{store_dir}/{self}")
    }
}

impl fmt::Display for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", nix32_encode(&self.digest), self.name)
    }
}

impl fmt::Debug for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorePath({self})")
    }
}

impl FromStr for StorePath {
    type Err = PathError;

    /// Parses a base name `<hash>-<name>`.
    fn from_str(s: &str) -> Result<Self, PathError> {
        if s.len() < HASH_CHARS + 2 || !s.is_char_boundary(HASH_CHARS) {
            return Err(PathError::TooShort(s.to_string()));
        }
        let (hash, rest) = s.split_at(HASH_CHARS);
        let Some(name) = rest.strip_prefix('-') else {
            return Err(PathError::TooShort(s.to_string()));
        };
        let digest = nix32_decode(hash, HASH_BYTES).ok_or_else(|| PathError::BadHash(s.into()))?;
        let digest: [u8; HASH_BYTES] = digest.try_into().expect("decoded to HASH_BYTES");
        Self::new(digest, name)
    }
}

/// XOR-folds a hash into `N` bytes (Nix's `compressHash`).
fn compress<const N: usize>(hash: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (j, b) in hash.iter().enumerate() {
        out[j % N] ^= b;
    }
    out
}

/// Nix's `makeStorePath`: `sha256("<type>:sha256:<inner hex>:<store dir>:<name>")`,
/// folded to 20 bytes.
pub fn make_store_path(
    type_: &str,
    inner: &[u8; 32],
    store_dir: &str,
    name: &str,
) -> Result<StorePath, PathError> {
    let fingerprint = format!("{type_}:sha256:{}:{store_dir}:{name}", hex::encode(inner));
    StorePath::new(compress(&sha256(fingerprint.as_bytes())), name)
}

/// The type string with references: `<kind>:<ref>:<ref>...[:self]`, the
/// references as full printed paths in sorted order.
fn type_with_refs(kind: &str, refs: &[StorePath], store_dir: &str, self_ref: bool) -> String {
    let mut full: Vec<String> = refs.iter().map(|r| r.to_absolute(store_dir)).collect();
    full.sort();
    full.dedup();
    let mut t = kind.to_string();
    for r in full {
        t.push(':');
        t.push_str(&r);
    }
    if self_ref {
        t.push_str(":self");
    }
    t
}

#[cfg(test)]
/// A `text` object (flat contents, like `builtins.toFile` and recipes).
pub fn text_path(
    name: &str,
    contents: &[u8],
    refs: &[StorePath],
    store_dir: &str,
) -> Result<StorePath, PathError> {
    let t = type_with_refs("text", refs, store_dir, false);
    make_store_path(&t, &sha256(contents), store_dir, name)
}

/// A `source` object: content-addressed by its NAR SHA-256.
pub fn source_path(
    name: &str,
    nar_sha256: &[u8; 32],
    refs: &[StorePath],
    self_ref: bool,
    store_dir: &str,
) -> Result<StorePath, PathError> {
    let t = type_with_refs("source", refs, store_dir, self_ref);
    make_store_path(&t, nar_sha256, store_dir, name)
}

/// A fixed-output object whose address is known before it is fetched: a
/// flat file (`recursive = false`) or a NAR (`recursive = true`) with the
/// given hash. Such objects cannot have references.
pub fn fixed_path(
    name: &str,
    algo: &str,
    digest: &[u8],
    recursive: bool,
    store_dir: &str,
) -> Result<StorePath, PathError> {
    let rec = if recursive { "r:" } else { "" };
    let inner = format!("fixed:out:{rec}{algo}:{}:", hex::encode(digest));
    make_store_path("output:out", &sha256(inner.as_bytes()), store_dir, name)
}

/// An input-addressed output: the digest of a canonical recipe (what will be
/// built, from what), known before building.
pub fn output_path(
    name: &str,
    output: &str,
    recipe_sha256: &[u8; 32],
    store_dir: &str,
) -> Result<StorePath, PathError> {
    let full = if output == "out" {
        name.to_string()
    } else {
        format!("{name}-{output}")
    };
    make_store_path(&format!("output:{output}"), recipe_sha256, store_dir, &full)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn cmp_hash_part_orders_as_the_printed_hash_parts() {
        // Digests from a hash chain, plus ones differing only in the first
        // or the last byte, where a byte-order mistake would show.
        let mut paths: Vec<StorePath> = (0u32..200)
            .map(|i| {
                let d = compress(&sha256(&i.to_le_bytes()));
                StorePath::new(d, "x").unwrap()
            })
            .collect();
        for b in [0u8, 1, 0x1f, 0x20, 0x80, 0xff] {
            let mut first = [7u8; HASH_BYTES];
            first[0] = b;
            let mut last = [7u8; HASH_BYTES];
            last[HASH_BYTES - 1] = b;
            paths.push(StorePath::new(first, "x").unwrap());
            paths.push(StorePath::new(last, "x").unwrap());
        }
        let mut by_string = paths.clone();
        by_string.sort_by_key(StorePath::hash_part);
        let mut by_digest = paths;
        by_digest.sort_by(StorePath::cmp_hash_part);
        assert_eq!(by_string, by_digest);
    }

    #[test]
    fn nix32_matches_nix_compat_vectors() {
        assert_eq!(nix32_encode(&[]), "");
        assert_eq!(nix32_encode(&[0x1f]), "0z");
        assert_eq!(
            nix32_encode(&unhex("8a12321522fd91efbd60ebb2481af88580f61600")),
            "00bgd045z0d4icpbc2yyz4gx48ak44la"
        );
        assert_eq!(
            nix32_encode(&unhex(
                "03e7f63be30b065d78bcf615f5473545fdb4eb69aa416f43495b4e05cdfb8040"
            )),
            "0h40zg6hakjv951nyhdad7mv9za56m3za5gnpiw5s1hbwcxzdrq3"
        );
    }

    #[test]
    fn nix32_decode_is_strict_and_round_trips() {
        assert_eq!(nix32_decode("0z", 1), Some(vec![0x1f]));
        assert_eq!(nix32_decode("zz", 1), None);
        assert_eq!(nix32_decode("c0", 1), None);
        assert_eq!(nix32_decode("0e", 1), None);
        assert_eq!(nix32_decode("0z0", 1), None);
        for len in [0usize, 1, 5, 20, 32] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(nix32_decode(&nix32_encode(&bytes), len), Some(bytes));
        }
    }

    #[test]
    fn text_path_matches_nix_to_file_vector() {
        // builtins.toFile "foo" "bar"
        let foo = text_path("foo", b"bar", &[], "/nix/store").unwrap();
        assert_eq!(foo.to_string(), "vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo");
        // builtins.toFile "baz" "${builtins.toFile "foo" "bar"}"
        let contents = foo.to_absolute("/nix/store");
        let baz = text_path("baz", contents.as_bytes(), &[foo], "/nix/store").unwrap();
        assert_eq!(baz.to_string(), "5xd714cbfnkz02h2vbsj4fm03x3f15nf-baz");
    }

    #[test]
    fn source_path_with_reference_matches_nix_vector() {
        let nar: [u8; 32] =
            unhex("61cf372bed19421393b0a286aada0b30dbc638c9923e8b0fb82e813416fb13f7")
                .try_into()
                .unwrap();
        let r: StorePath = "dxwkwjzdaq7ka55pkk252gh32bgpmql4-foo".parse().unwrap();
        let p = source_path("baz", &nar, &[r], false, "/nix/store").unwrap();
        assert_eq!(p.to_string(), "s89y431zzhmdn3k8r96rvakryddkpv2v-baz");
    }

    #[test]
    fn fixed_nar_sha1_matches_nix_vector() {
        let d = unhex("0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33");
        let p = fixed_path("bar", "sha1", &d, true, "/nix/store").unwrap();
        assert_eq!(p.to_string(), "mp57d33657rf34lzvlbpfa1gjfv5gmpg-bar");
    }

    #[test]
    fn hello_world_source_path_matches_vector() {
        let nar: [u8; 32] =
            unhex("03e7f63be30b065d78bcf615f5473545fdb4eb69aa416f43495b4e05cdfb8040")
                .try_into()
                .unwrap();
        let p = source_path("hello.txt", &nar, &[], false, "/nix/store").unwrap();
        assert_eq!(p.to_string(), "925f1jb1ajrypjbyq7rylwryqwizvhp0-hello.txt");
    }

    #[test]
    fn store_dir_is_hashed_into_the_path() {
        let h = sha256(b"bar");
        let nix = fixed_path("bar.txt", "sha256", &h, false, "/nix/store").unwrap();
        let ours = fixed_path("bar.txt", "sha256", &h, false, "/opt/pyst/store").unwrap();
        assert_eq!(nix.to_string(), "zlrldz96ayqcvz3dap31a9rbandb1mmd-bar.txt");
        assert_eq!(ours.to_string(), "gdnxh2x5drxaacfkrcpiwiaapllv52fv-bar.txt");
        // Our own default-style store directory: a regression vector.
        let home = fixed_path("bar.txt", "sha256", &h, false, "/home/u/.buildout/store").unwrap();
        assert_ne!(home, ours);
        assert_eq!(home.name(), "bar.txt");
    }

    #[test]
    fn output_path_appends_non_default_output_names() {
        let h = sha256(b"recipe");
        let out = output_path("app-1.0", "out", &h, "/s").unwrap();
        let dev = output_path("app-1.0", "dev", &h, "/s").unwrap();
        assert_eq!(out.name(), "app-1.0");
        assert_eq!(dev.name(), "app-1.0-dev");
        assert_ne!(out.hash_part(), dev.hash_part());
    }

    #[test]
    fn parse_round_trips_and_rejects_bad_input() {
        let p: StorePath = "vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo".parse().unwrap();
        assert_eq!(p.hash_part(), "vxjiwkjkn7x4079qvh1jkl5pn05j2aw0");
        assert_eq!(p.name(), "foo");
        assert_eq!(p.to_string().parse::<StorePath>().unwrap(), p);
        assert!("short-foo".parse::<StorePath>().is_err());
        assert!(
            "vxjiwkjkn7x4079qvh1jkl5pn05j2aw0foo"
                .parse::<StorePath>()
                .is_err()
        );
        assert!(
            "exjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo"
                .parse::<StorePath>()
                .is_err()
        );
        assert!(
            "vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-f/o"
                .parse::<StorePath>()
                .is_err()
        );
        assert!(
            "vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-..-x"
                .parse::<StorePath>()
                .is_err()
        );
        assert!(
            "vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-.foo"
                .parse::<StorePath>()
                .is_ok()
        );
        assert!(check_name(&"a".repeat(212)).is_err());
        assert!(check_name("1!2.0").is_err());
    }
}
