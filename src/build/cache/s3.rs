//! An S3 bucket as a binary cache's storage:
//! `s3://bucket/prefix?endpoint=http://host:port&region=…&profile=…&scheme=…`
//! (Nix's spelling). Requests are signed with AWS Signature Version 4
//! ([`authorization`]) and sent by the index's HTTP client (retries,
//! redaction). With an `endpoint` (MinIO, Ceph, R2, moto) objects are
//! addressed path-style (`endpoint/bucket/key`); without one, the AWS
//! virtual-host style (`https://bucket.s3.region.amazonaws.com/key`).
//!
//! Credentials: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
//! (`AWS_SESSION_TOKEN`), else the profile (`profile=`, `AWS_PROFILE`, else
//! `default`) of `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`). The
//! region: `region=`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's
//! `region` in `~/.aws/config` (`AWS_CONFIG_FILE`), else `us-east-1`.
//! Secrets and signatures never reach a message: errors carry S3's error
//! code and message only.

use crate::env;
use crate::index::http::{Http, Netrc, error_text};
use reqwest::Method;
use reqwest::blocking::{Body, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The SHA-256 of an empty payload, in hex.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Keys asked for per `ListObjectsV2` page (S3's maximum).
const PAGE: usize = 1000;

/// An access key (the secret never printed, not even by `Debug`).
#[derive(Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ****)", self.access_key)
    }
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the cache's prefix.
    pub key: String,
    pub size: u64,
    pub modified: SystemTime,
}

/// A bucket (and key prefix) holding a cache.
#[derive(Debug)]
pub struct S3 {
    /// `""` or `dir/` (with its slash).
    prefix: String,
    /// `scheme://host[:port]`.
    origin: String,
    /// The `Host` header: `host[:port]`.
    host: String,
    /// Path before the key: `/bucket` (path-style) or `` (virtual host).
    base_path: String,
    region: String,
    credentials: Credentials,
    http: Http,
    /// The URL as given, for messages (it holds no secret).
    shown: String,
}

/// The sections of an INI-style AWS file: section name -> key -> value.
fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    out
}

/// An AWS file: `var` when set, else `~/.aws/<name>`.
fn aws_file(var: &str, name: &str) -> Option<PathBuf> {
    env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env::home_dir().map(|h| h.join(".aws").join(name)))
}

/// The credentials to sign with, or a message saying where they were
/// looked for.
fn credentials(profile: &str) -> Result<Credentials, String> {
    let nonempty = |name: &str| env::var(name).filter(|v| !v.is_empty());
    if let (Some(access_key), Some(secret_key)) = (
        nonempty(env::AWS_ACCESS_KEY_ID),
        nonempty(env::AWS_SECRET_ACCESS_KEY),
    ) {
        return Ok(Credentials {
            access_key,
            secret_key,
            session_token: nonempty(env::AWS_SESSION_TOKEN),
        });
    }
    let file = aws_file(env::AWS_SHARED_CREDENTIALS_FILE, "credentials");
    let text = file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .unwrap_or_default();
    let sections = parse_ini(&text);
    let found = sections.get(profile).and_then(|s| {
        Some(Credentials {
            access_key: s.get("aws_access_key_id")?.clone(),
            secret_key: s.get("aws_secret_access_key")?.clone(),
            session_token: s.get("aws_session_token").cloned(),
        })
    });
    found.ok_or_else(|| {
        format!(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give \
             profile `{profile}` in {}",
            file.map_or("~/.aws/credentials".into(), |f| f.display().to_string())
        )
    })
}

/// The region of `profile` in `~/.aws/config`.
fn config_region(profile: &str) -> Option<String> {
    let text = std::fs::read_to_string(aws_file(env::AWS_CONFIG_FILE, "config")?).ok()?;
    let sections = parse_ini(&text);
    let name = if profile == "default" {
        "default".to_string()
    } else {
        format!("profile {profile}")
    };
    sections.get(&name)?.get("region").cloned()
}

/// Percent-encodes all but RFC 3986's unreserved characters (and `/`
/// when `keep_slash`), as SigV4's canonical form wants.
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// HMAC-SHA256 (RFC 2104).
fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// One request as SigV4 sees it.
pub struct Signable<'a> {
    pub method: &'a str,
    /// The canonical (already encoded) path.
    pub path: &'a str,
    /// Raw query parameters (encoded and sorted here).
    pub query: &'a [(&'a str, String)],
    /// Headers to sign (names lowercase), `host` and `x-amz-*` included.
    pub headers: &'a [(&'a str, String)],
    pub payload_sha256: &'a str,
}

/// The canonical query string: encoded, sorted by name then value.
fn canonical_query(query: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `Authorization` header of `r` at `amz_date` (`YYYYMMDDTHHMMSSZ`).
pub fn authorization(r: &Signable<'_>, c: &Credentials, region: &str, amz_date: &str) -> String {
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.trim().to_string()))
        .collect();
    headers.sort();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
        r.method,
        r.path,
        canonical_query(r.query),
        r.payload_sha256
    );
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", c.secret_key).as_bytes(), date.as_bytes());
    for part in [region, "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={signed},Signature={signature}",
        c.access_key
    )
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `t` as SigV4's `x-amz-date`: `YYYYMMDDTHHMMSSZ`.
pub fn amz_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (y, m, d) = crate::fs::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// An ISO 8601 UTC time as S3 lists it (`2026-11-29T19:39:19.000Z`).
fn parse_time(text: &str) -> Option<SystemTime> {
    let t = text.trim();
    let num = |a: usize, b: usize| t.get(a..b)?.parse::<u32>().ok();
    let days = days_from_civil(i64::from(num(0, 4)?), num(5, 7)?, num(8, 10)?);
    let secs = days * 86_400
        + i64::from(num(11, 13)?) * 3600
        + i64::from(num(14, 16)?) * 60
        + i64::from(num(17, 19)?);
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// XML's five entities decoded.
fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The text of the first `<tag>` element in `xml`.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml_unescape(&xml[start..end]))
}

/// One `ListObjectsV2` page: its objects (with their full keys) and the
/// token of the next page when truncated.
fn parse_list(xml: &str) -> Result<(Vec<Entry>, Option<String>), String> {
    let mut objects = Vec::new();
    for block in xml.split("<Contents>").skip(1) {
        let block = block.split("</Contents>").next().unwrap_or_default();
        let (Some(key), Some(size), Some(modified)) = (
            xml_text(block, "Key"),
            xml_text(block, "Size").and_then(|s| s.parse().ok()),
            xml_text(block, "LastModified").and_then(|t| parse_time(&t)),
        ) else {
            return Err("a listing entry without Key, Size or LastModified".into());
        };
        objects.push(Entry {
            key,
            size,
            modified,
        });
    }
    let next = match xml_text(xml, "IsTruncated").as_deref() {
        Some("true") => Some(
            xml_text(xml, "NextContinuationToken")
                .ok_or("a truncated listing without NextContinuationToken")?,
        ),
        _ => None,
    };
    Ok((objects, next))
}

/// What a failed request says: its status and S3's error code and
/// message (never the request, which holds the signature).
fn failure(r: Response) -> String {
    let status = r.status().as_u16();
    let body = r.text().unwrap_or_default();
    match (xml_text(&body, "Code"), xml_text(&body, "Message")) {
        (Some(code), Some(message)) => format!("HTTP {status} {code}: {message}"),
        (Some(code), None) => format!("HTTP {status} {code}"),
        _ => format!("HTTP {status}"),
    }
}

impl S3 {
    /// Reads an `s3://` URL and finds credentials and region.
    pub fn open(url: &str) -> Result<Self, String> {
        let shown = crate::index::redact(url);
        let bad = |m: &str| format!("invalid S3 cache URL `{shown}`: {m}");
        let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let bucket = parsed
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| bad("no bucket"))?
            .to_string();
        let prefix = parsed.path().trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let mut params: HashMap<String, String> = HashMap::new();
        for (k, v) in parsed.query_pairs() {
            match &*k {
                "endpoint" | "region" | "profile" | "scheme" => {
                    params.insert(k.into_owned(), v.into_owned());
                }
                other => return Err(bad(&format!("unknown parameter `{other}`"))),
            }
        }
        let profile = params
            .get("profile")
            .cloned()
            .or_else(|| env::var(env::AWS_PROFILE).filter(|p| !p.is_empty()))
            .unwrap_or_else(|| "default".into());
        let region = params
            .get("region")
            .cloned()
            .or_else(|| env::var(env::AWS_REGION).filter(|r| !r.is_empty()))
            .or_else(|| env::var(env::AWS_DEFAULT_REGION).filter(|r| !r.is_empty()))
            .or_else(|| config_region(&profile))
            .unwrap_or_else(|| "us-east-1".into());
        let scheme = params.get("scheme").map_or("https", String::as_str);
        if scheme != "https" && scheme != "http" {
            return Err(bad("`scheme` must be https or http"));
        }
        let (origin, host, base_path) = match params.get("endpoint") {
            Some(endpoint) => {
                let with_scheme = if endpoint.contains("://") {
                    endpoint.clone()
                } else {
                    format!("{scheme}://{endpoint}")
                };
                let e =
                    url::Url::parse(&with_scheme).map_err(|e| bad(&format!("endpoint: {e}")))?;
                let h = e.host_str().ok_or_else(|| bad("endpoint without a host"))?;
                let host = match e.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                };
                let path = e.path().trim_end_matches('/');
                let base = format!("{path}/{}", uri_encode(&bucket, false));
                (format!("{}://{host}", e.scheme()), host, base)
            }
            None => {
                let host = format!("{bucket}.s3.{region}.amazonaws.com");
                (format!("{scheme}://{host}"), host, String::new())
            }
        };
        let credentials = credentials(&profile).map_err(|m| format!("`{shown}`: {m}"))?;
        // No netrc: its basic auth would clash with the signature.
        let http = Http::new(None, Duration::ZERO, Netrc::default()).map_err(|e| e.to_string())?;
        Ok(Self {
            prefix,
            origin,
            host,
            base_path,
            region,
            credentials,
            http,
            shown,
        })
    }

    /// The URL as given (no secrets).
    pub fn display(&self) -> String {
        self.shown.clone()
    }

    /// The canonical path of `key` (under the prefix), or of the bucket.
    fn path(&self, key: Option<&str>) -> String {
        match key {
            Some(k) => format!(
                "{}/{}",
                self.base_path,
                uri_encode(&format!("{}{k}", self.prefix), true)
            ),
            None if self.base_path.is_empty() => "/".into(),
            None => self.base_path.clone(),
        }
    }

    /// Sends a signed request (signed again for each retry).
    fn send(
        &self,
        method: Method,
        key: Option<&str>,
        query: &[(&str, String)],
        payload_sha256: &str,
        body: Option<(u64, &dyn Fn() -> std::io::Result<Body>)>,
    ) -> Result<Response, String> {
        let path = self.path(key);
        let mut url = format!("{}{path}", self.origin);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&canonical_query(query));
        }
        self.http
            .send(&url, |c| {
                let date = amz_date(SystemTime::now());
                let mut headers = vec![
                    ("host", self.host.clone()),
                    ("x-amz-content-sha256", payload_sha256.to_string()),
                    ("x-amz-date", date.clone()),
                ];
                if let Some(t) = &self.credentials.session_token {
                    headers.push(("x-amz-security-token", t.clone()));
                }
                let auth = authorization(
                    &Signable {
                        method: method.as_str(),
                        path: &path,
                        query,
                        headers: &headers,
                        payload_sha256,
                    },
                    &self.credentials,
                    &self.region,
                    &date,
                );
                let mut r = c.request(method.clone(), &url);
                for (k, v) in headers.iter().filter(|(k, _)| *k != "host") {
                    r = r.header(*k, v);
                }
                let mut auth = reqwest::header::HeaderValue::from_str(&auth)
                    .unwrap_or(reqwest::header::HeaderValue::from_static(""));
                auth.set_sensitive(true);
                r = r.header(reqwest::header::AUTHORIZATION, auth);
                match body {
                    Some((len, make)) => {
                        r = r.header(reqwest::header::CONTENT_LENGTH, len);
                        match make() {
                            Ok(b) => r.body(b),
                            // Gone between two attempts: the server refuses
                            // the declared length.
                            Err(_) => r,
                        }
                    }
                    None => r,
                }
            })
            .map_err(|e| e.to_string())
    }

    /// Whether `key` exists (404: no; 403 is an error: S3 says it for
    /// missing keys only without `s3:ListBucket`, and for bad credentials).
    pub fn exists(&self, key: &str) -> Result<bool, String> {
        let r = self.send(Method::HEAD, Some(key), &[], EMPTY_SHA256, None)?;
        match r.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            403 => Err(
                "HTTP 403 (access denied: check the credentials, and that they may \
                        list the bucket)"
                    .into(),
            ),
            s => Err(format!("HTTP {s}")),
        }
    }

    /// The object `key` as a response to read, or `None` when absent.
    pub fn get(&self, key: &str) -> Result<Option<Response>, String> {
        let r = self.send(Method::GET, Some(key), &[], EMPTY_SHA256, None)?;
        match r.status().as_u16() {
            200..=299 => Ok(Some(r)),
            404 => Ok(None),
            _ => Err(failure(r)),
        }
    }

    /// Writes `key` (`len` bytes whose SHA-256 is `sha256`, from `body`).
    pub fn put(
        &self,
        key: &str,
        len: u64,
        sha256: &[u8; 32],
        body: &dyn Fn() -> std::io::Result<Body>,
    ) -> Result<(), String> {
        let hash = hex::encode(sha256);
        let r = self.send(Method::PUT, Some(key), &[], &hash, Some((len, body)))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(failure(r))
        }
    }

    /// Deletes `key` (absent is fine).
    pub fn delete(&self, key: &str) -> Result<(), String> {
        let r = self.send(Method::DELETE, Some(key), &[], EMPTY_SHA256, None)?;
        if r.status().is_success() || r.status().as_u16() == 404 {
            Ok(())
        } else {
            Err(failure(r))
        }
    }

    /// The objects directly under `dir` (`""` or `name/`), following
    /// continuation tokens.
    pub fn list(&self, dir: &str) -> Result<Vec<Entry>, String> {
        let full = format!("{}{dir}", self.prefix);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                ("list-type", "2".to_string()),
                ("prefix", full.clone()),
                ("delimiter", "/".to_string()),
                ("max-keys", PAGE.to_string()),
            ];
            if let Some(t) = &token {
                query.push(("continuation-token", t.clone()));
            }
            let r = self.send(Method::GET, None, &query, EMPTY_SHA256, None)?;
            if !r.status().is_success() {
                return Err(failure(r));
            }
            let xml = r.text().map_err(error_text)?;
            let (objects, next) = parse_list(&xml)?;
            for mut e in objects {
                if let Some(rel) = e.key.strip_prefix(&self.prefix) {
                    e.key = rel.to_string();
                    out.push(e);
                }
            }
            match next {
                Some(t) if token.as_ref() != Some(&t) => token = Some(t),
                Some(_) => return Err("the listing repeats its continuation token".into()),
                None => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example (S3 API reference, "Signature
    /// Calculations for the Authorization Header", GET Object).
    #[test]
    fn sigv4_matches_the_documented_get_object_example() {
        let c = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let auth = authorization(
            &Signable {
                method: "GET",
                path: "/test.txt",
                query: &[],
                headers: &[
                    ("host", "examplebucket.s3.amazonaws.com".into()),
                    ("range", "bytes=0-9".into()),
                    ("x-amz-content-sha256", EMPTY_SHA256.into()),
                    ("x-amz-date", "20130524T000000Z".into()),
                ],
                payload_sha256: EMPTY_SHA256,
            },
            &c,
            "us-east-1",
            "20130524T000000Z",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert!(!format!("{c:?}").contains("EXAMPLEKEY"));
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hex::encode(hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn dates_round_trip() {
        let t = UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        assert_eq!(amz_date(t), "20130524T000000Z");
        assert_eq!(parse_time("2013-05-24T00:00:00.000Z"), Some(t));
        let leap = parse_time("2024-02-29T23:59:59Z").unwrap();
        assert_eq!(amz_date(leap), "20240229T235959Z");
        assert_eq!(parse_time("garbage"), None);
    }

    #[test]
    fn listing_pages_and_entities() {
        let xml = "<ListBucketResult><IsTruncated>true</IsTruncated>\
            <Contents><Key>c/a&amp;b.narinfo</Key><LastModified>2026-01-02T03:04:05.000Z\
            </LastModified><Size>12</Size></Contents><Contents><Key>c/x</Key>\
            <LastModified>2026-01-02T03:04:05Z</LastModified><Size>0</Size></Contents>\
            <NextContinuationToken>tok/1=</NextContinuationToken></ListBucketResult>";
        let (objects, next) = parse_list(xml).unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].key, "c/a&b.narinfo");
        assert_eq!(objects[0].size, 12);
        assert_eq!(next.as_deref(), Some("tok/1="));
        let (_, next) = parse_list("<IsTruncated>false</IsTruncated>").unwrap();
        assert_eq!(next, None);
        assert!(parse_list("<IsTruncated>true</IsTruncated>").is_err());
        assert!(parse_list("<Contents><Key>k</Key></Contents>").is_err());
    }

    #[test]
    fn canonical_query_is_encoded_and_sorted() {
        assert_eq!(
            canonical_query(&[
                ("prefix", "a b/".into()),
                ("list-type", "2".into()),
                ("continuation-token", "x+y=".into()),
            ]),
            "continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2F"
        );
    }

    #[test]
    fn aws_files_are_read_by_section() {
        let s = parse_ini("[default]\naws_access_key_id = A\n# c\n[profile p]\nregion=eu-west-1\n");
        assert_eq!(s["default"]["aws_access_key_id"], "A");
        assert_eq!(s["profile p"]["region"], "eu-west-1");
    }
}
