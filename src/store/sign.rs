//! Ed25519 keys and signatures in Nix's formats (spec `binary-cache.md`
//! §1.2), so that Nix-generated keys work unchanged:
//!
//! * secret key `name:base64(32-byte seed ‖ 32-byte public key)`;
//! * public key `name:base64(32 bytes)`;
//! * signature `name:base64(64 bytes)` over the object's [`fingerprint`]
//!   `1;<path>;sha256:<nix32 nar hash>;<nar size>;<comma-separated
//!   reference paths>`.
//!
//! Names are letters, digits, `-`, `.` and `_`. A secret key is never shown:
//! its `Debug` prints only its name.

use super::path::{StorePath, nix32_encode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, Verifier};

/// A key or signature error.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("invalid key name `{0}`: use letters, digits, `-`, `.` and `_`")]
    BadName(String),
    #[error("invalid {what} `{name}`: expected `name:base64` of {len} bytes")]
    BadKey {
        what: &'static str,
        name: String,
        len: usize,
    },
    #[error("the secret key `{0}` does not match its public half")]
    Mismatch(String),
}

fn check_name(name: &str) -> Result<(), SignError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    {
        return Err(SignError::BadName(name.to_string()));
    }
    Ok(())
}

/// Splits `name:base64` and decodes exactly `len` bytes. The error names
/// only the key's name (never its bytes).
fn decode(text: &str, what: &'static str, len: usize) -> Result<(String, Vec<u8>), SignError> {
    let text = text.trim();
    let (name, data) = text.split_once(':').unwrap_or(("", text));
    let bad = || SignError::BadKey {
        what,
        name: name.to_string(),
        len,
    };
    check_name(name).map_err(|_| bad())?;
    let bytes = B64.decode(data).map_err(|_| bad())?;
    if bytes.len() != len {
        return Err(bad());
    }
    Ok((name.to_string(), bytes))
}

/// A public key: a name and Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub name: String,
    key: ed25519_dalek::VerifyingKey,
}

impl PublicKey {
    /// Parses `name:base64`.
    pub fn parse(text: &str) -> Result<Self, SignError> {
        let (name, bytes) = decode(text, "public key", 32)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(
            &bytes.try_into().expect("32 bytes checked by decode"),
        )
        .map_err(|_| SignError::BadKey {
            what: "public key",
            name: name.clone(),
            len: 32,
        })?;
        Ok(Self { name, key })
    }

    /// Whether `sig` (`name:base64`) is this key's valid signature of
    /// `fingerprint` (a signature by another key name is not).
    pub fn verify(&self, fingerprint: &str, sig: &str) -> bool {
        let Some((name, data)) = sig.trim().split_once(':') else {
            return false;
        };
        if name != self.name {
            return false;
        }
        let Ok(bytes) = B64.decode(data) else {
            return false;
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(&bytes) else {
            return false;
        };
        self.key.verify(fingerprint.as_bytes(), &sig).is_ok()
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, B64.encode(self.key.as_bytes()))
    }
}

/// A secret key. Shown nowhere: `Debug` prints its name only, and it has
/// no `Display`; [`SecretKey::to_file_text`] is for writing the key file.
#[derive(Clone)]
pub struct SecretKey {
    pub name: String,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({}, ****)", self.name)
    }
}

impl SecretKey {
    /// A new key named `name`, from the operating system's random source.
    pub fn generate(name: &str) -> std::io::Result<Self> {
        check_name(name)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        let mut seed = [0u8; 32];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut seed)?;
        Ok(Self {
            name: name.to_string(),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }

    /// Parses Nix's secret key text (`name:base64(seed ‖ public)`).
    pub fn parse(text: &str) -> Result<Self, SignError> {
        let (name, bytes) = decode(text, "secret key", 64)?;
        let seed: [u8; 32] = bytes[..32].try_into().expect("64 bytes");
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        if key.verifying_key().as_bytes()[..] != bytes[32..] {
            return Err(SignError::Mismatch(name));
        }
        Ok(Self { name, key })
    }

    /// The key file's text (with a final newline).
    pub fn to_file_text(&self) -> String {
        let mut bytes = self.key.to_bytes().to_vec();
        bytes.extend_from_slice(self.key.verifying_key().as_bytes());
        format!("{}:{}\n", self.name, B64.encode(bytes))
    }

    /// Its public half.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The signature `name:base64` of `fingerprint`.
    pub fn sign(&self, fingerprint: &str) -> String {
        let sig = self.key.sign(fingerprint.as_bytes());
        format!("{}:{}", self.name, B64.encode(sig.to_bytes()))
    }
}

/// Nix's fingerprint of an object: what a signature covers (URL,
/// compression, deriver and kind are not signed).
pub fn fingerprint(
    store_dir: &str,
    path: &StorePath,
    nar_sha256: &[u8; 32],
    nar_size: u64,
    references: &[StorePath],
) -> String {
    let mut refs: Vec<String> = references
        .iter()
        .map(|r| r.to_absolute(store_dir))
        .collect();
    refs.sort();
    format!(
        "1;{};sha256:{};{};{}",
        path.to_absolute(store_dir),
        nix32_encode(nar_sha256),
        nar_size,
        refs.join(",")
    )
}

/// Whether one of `sigs` is a valid signature of `fingerprint` by one of
/// `keys`.
pub fn trusted(keys: &[PublicKey], fingerprint: &str, sigs: &[String]) -> bool {
    keys.iter()
        .any(|k| sigs.iter().any(|s| k.verify(fingerprint, s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nix_signature_vector_verifies() {
        // cache.nixos.org's key and the narinfo of
        // /nix/store/syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7.82.0-bin (the
        // vector of tvix's nix-compat fingerprint tests).
        let key =
            PublicKey::parse("cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=")
                .unwrap();
        let refs: Vec<StorePath> = [
            "0jqd0rlxzra1rs38rdxl43yh6rxchgc6-curl-7.82.0",
            "6w8g7njm4mck5dmjxws0z1xnrxvl81xa-glibc-2.34-115",
            "j5jxw3iy7bbz4a57fh9g2xm2gxmyal8h-zlib-1.2.12",
            "yxvjs9drzsphm9pcf42a4byzj1kb9m7k-openssl-1.1.1n",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let nar = crate::store::path::nix32_decode(
            "1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0",
            32,
        )
        .unwrap();
        let fp = fingerprint(
            "/nix/store",
            &"syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7.82.0-bin"
                .parse()
                .unwrap(),
            &nar.try_into().unwrap(),
            196040,
            &refs,
        );
        assert!(key.verify(
            &fp,
            "cache.nixos.org-1:TsTTb3WGTZKphvYdBHXwo6weVILmTytUjLB+vcX89fOjjRicCHmKA4RCPMVLkj6TMJ4GMX3HPVWRdD1hkeKZBQ=="
        ));
    }

    #[test]
    fn generated_keys_round_trip_and_sign() {
        let k = SecretKey::generate("test-1").unwrap();
        let again = SecretKey::parse(&k.to_file_text()).unwrap();
        assert_eq!(again.public(), k.public());
        let public = PublicKey::parse(&k.public().to_string()).unwrap();
        let sig = k.sign("1;x");
        assert!(public.verify("1;x", &sig));
        assert!(!public.verify("1;y", &sig));
        let other = SecretKey::generate("test-1").unwrap();
        assert!(!other.public().verify("1;x", &sig));
        assert!(!format!("{k:?}").contains(k.to_file_text().split(':').nth(1).unwrap()));
    }

    #[test]
    fn bad_keys_are_refused_without_their_bytes() {
        assert!(PublicKey::parse("nocolon").is_err());
        assert!(PublicKey::parse("a b:AAAA").is_err());
        let e = SecretKey::parse("k:c2VjcmV0").unwrap_err().to_string();
        assert!(!e.contains("c2VjcmV0"), "{e}");
    }
}
