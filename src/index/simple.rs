//! Parsing simple-repository pages: the PEP 691 JSON form and the PEP 503
//! HTML form (also used for find-links pages), into [`Link`]s.
//!
//! HTML is read with a small anchor scanner, not a full HTML parser: it
//! finds `<a ...>text</a>`, `<base href>` and the
//! `pypi:repository-version` meta tag, and unescapes entities in attribute
//! values. Recognised anchor attributes: `href` (with a `#sha256=` style
//! hash fragment), `data-requires-python`, `data-yanked`,
//! `data-core-metadata` and its legacy spelling `data-dist-info-metadata`.
//! A page whose major API version is above 1 is refused.

use super::http::percent_decode;
use std::collections::BTreeMap;

use serde::Deserialize;

/// What the index says about a file's PEP 658 metadata file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CoreMetadata {
    /// The page does not say (HTML without the attribute, find-links).
    #[default]
    Unknown,
    /// The page says there is none.
    Absent,
    /// `<url>.metadata` exists; with its hashes when given.
    Available(BTreeMap<String, String>),
}

/// One file link from a page, URL made absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub filename: String,
    /// Absolute URL, without the hash fragment.
    pub url: String,
    /// Algorithm (lowercase) → hex digest.
    pub hashes: BTreeMap<String, String>,
    pub requires_python: Option<String>,
    /// `Some(reason)` when yanked (the reason may be empty).
    pub yanked: Option<String>,
    pub core_metadata: CoreMetadata,
    pub size: Option<u64>,
    pub upload_time: Option<String>,
}

/// Why a page could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

const SUPPORTED_MAJOR: u64 = 1;

#[derive(Deserialize)]
struct JsonPage {
    #[serde(default)]
    meta: JsonMeta,
    #[serde(default)]
    files: Vec<JsonFile>,
}

#[derive(Deserialize, Default)]
struct JsonMeta {
    #[serde(rename = "api-version")]
    api_version: Option<String>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    yanked: Option<serde_json::Value>,
    #[serde(rename = "core-metadata")]
    core_metadata: Option<serde_json::Value>,
    #[serde(rename = "dist-info-metadata")]
    dist_info_metadata: Option<serde_json::Value>,
    size: Option<u64>,
    #[serde(rename = "upload-time")]
    upload_time: Option<String>,
}

fn check_api_version(version: Option<&str>) -> Result<(), ParseError> {
    if let Some(v) = version {
        let major = v
            .split('.')
            .next()
            .and_then(|m| m.trim().parse::<u64>().ok());
        if let Some(major) = major
            && major > SUPPORTED_MAJOR
        {
            return Err(ParseError(format!(
                "unsupported repository API version {v} (this client reads 1.x)"
            )));
        }
    }
    Ok(())
}

/// Parses a PEP 691 JSON project page fetched from `base`.
pub fn parse_json(body: &str, base: &str) -> Result<Vec<Link>, ParseError> {
    let page: JsonPage =
        serde_json::from_str(body).map_err(|e| ParseError(format!("invalid JSON: {e}")))?;
    check_api_version(page.meta.api_version.as_deref())?;
    let base = url::Url::parse(base).ok();
    let mut links = Vec::with_capacity(page.files.len());
    for f in page.files {
        let Some((url, fragment_hashes)) = absolute(base.as_ref(), &f.url) else {
            continue;
        };
        let mut hashes: BTreeMap<String, String> = f
            .hashes
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v.to_lowercase()))
            .collect();
        for (k, v) in fragment_hashes {
            hashes.entry(k).or_insert(v);
        }
        let yanked = match f.yanked {
            Some(serde_json::Value::Bool(true)) => Some(String::new()),
            Some(serde_json::Value::String(reason)) => Some(reason),
            _ => None,
        };
        let core_metadata = match f.core_metadata.or(f.dist_info_metadata) {
            None => CoreMetadata::Unknown,
            Some(serde_json::Value::Bool(false)) => CoreMetadata::Absent,
            Some(serde_json::Value::Object(map)) => CoreMetadata::Available(
                map.into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.to_lowercase(), v.to_lowercase())))
                    .collect(),
            ),
            Some(_) => CoreMetadata::Available(BTreeMap::new()),
        };
        links.push(Link {
            filename: f.filename,
            url,
            hashes,
            requires_python: f.requires_python.filter(|s| !s.trim().is_empty()),
            yanked,
            core_metadata,
            size: f.size,
            upload_time: f.upload_time,
        });
    }
    Ok(links)
}

/// Resolves `href` against `base` and splits off a `#algo=hex` fragment.
fn absolute(base: Option<&url::Url>, href: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut url = match base {
        Some(b) => b.join(href).ok()?,
        None => url::Url::parse(href).ok()?,
    };
    let mut hashes = Vec::new();
    if let Some(fragment) = url.fragment() {
        for part in fragment.split('&') {
            if let Some((algo, digest)) = part.split_once('=') {
                let algo = algo.to_lowercase();
                if matches!(
                    algo.as_str(),
                    "sha256"
                        | "sha384"
                        | "sha512"
                        | "sha224"
                        | "sha1"
                        | "md5"
                        | "blake2b"
                        | "blake2s"
                ) && !digest.is_empty()
                    && digest.chars().all(|c| c.is_ascii_hexdigit())
                {
                    hashes.push((algo, digest.to_lowercase()));
                }
            }
        }
    }
    url.set_fragment(None);
    Some((url.to_string(), hashes))
}

/// Parses an HTML page (PEP 503 project page or a find-links page)
/// fetched from `base`. Links whose last path segment is not the anchor
/// text are still kept: the file name comes from the URL's last segment.
pub fn parse_html(body: &str, base: &str) -> Result<Vec<Link>, ParseError> {
    let mut base_url = url::Url::parse(base).ok();
    let lower = body.to_ascii_lowercase();
    // <meta name="pypi:repository-version" content="1.0">
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("<meta") {
        let start = pos + i;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        let attrs = attributes(&body[start + 5..end]);
        if attrs.get("name").map(String::as_str) == Some("pypi:repository-version") {
            check_api_version(attrs.get("content").map(String::as_str))?;
        }
        pos = end;
    }
    if let Some(i) = lower.find("<base") {
        let end = lower[i..].find('>').map_or(lower.len(), |e| i + e);
        if let Some(href) = attributes(&body[i + 5..end]).get("href")
            && let Some(joined) = match &base_url {
                Some(b) => b.join(href).ok(),
                None => url::Url::parse(href).ok(),
            }
        {
            base_url = Some(joined);
        }
    }
    let mut links = Vec::new();
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("<a") {
        let start = pos + i;
        let after = lower.as_bytes().get(start + 2).copied();
        if !matches!(after, Some(b' ' | b'\t' | b'\n' | b'\r' | b'>')) {
            pos = start + 2;
            continue;
        }
        let Some(tag_end) = find_tag_end(body, start + 2) else {
            break;
        };
        let attrs = attributes(&body[start + 2..tag_end]);
        pos = tag_end + 1;
        let Some(href) = attrs.get("href") else {
            continue;
        };
        let Some((url, fragment_hashes)) = absolute(base_url.as_ref(), href) else {
            continue;
        };
        let filename = url::Url::parse(&url)
            .ok()
            .and_then(|u| {
                u.path_segments()
                    .and_then(|mut s| s.next_back().map(str::to_string))
            })
            .map(|s| percent_decode(&s))
            .unwrap_or_default();
        if filename.is_empty() {
            continue;
        }
        let core_metadata = match attrs
            .get("data-core-metadata")
            .or_else(|| attrs.get("data-dist-info-metadata"))
        {
            None => CoreMetadata::Unknown,
            Some(v) if v.eq_ignore_ascii_case("false") => CoreMetadata::Absent,
            Some(v) => CoreMetadata::Available(
                v.split_once('=')
                    .map(|(a, d)| (a.to_lowercase(), d.to_lowercase()))
                    .into_iter()
                    .collect(),
            ),
        };
        links.push(Link {
            filename,
            url,
            hashes: fragment_hashes.into_iter().collect(),
            requires_python: attrs
                .get("data-requires-python")
                .cloned()
                .filter(|s| !s.trim().is_empty()),
            yanked: attrs.get("data-yanked").cloned(),
            core_metadata,
            size: None,
            upload_time: None,
        });
    }
    Ok(links)
}

/// The index of the `>` closing a tag, skipping quoted attribute values.
fn find_tag_end(body: &str, from: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, &b) in body.as_bytes().iter().enumerate().skip(from) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return Some(i),
            None => {}
        }
    }
    None
}

/// Attributes of a tag body (`href="x" data-yanked`), names lowercased,
/// values unescaped. A bare attribute has the empty value.
fn attributes(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && bytes[i] != b'='
            && bytes[i] != b'/'
        {
            i += 1;
        }
        if name_start == i {
            i += 1;
            continue;
        }
        let name = s[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let q = bytes[i];
                let start = i + 1;
                let end = s[start..].find(q as char).map_or(s.len(), |e| start + e);
                value = unescape(&s[start..end]);
                i = end + 1;
            } else {
                let start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = unescape(&s[start..i]);
            }
        }
        out.entry(name).or_insert(value);
    }
    out
}

/// Unescapes HTML character references (`&gt;`, `&#62;`, `&#x3e;`, ...).
pub fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let entity = &rest[1..e];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_page_with_every_key() {
        let body = r#"{"meta": {"api-version": "1.1", "_last-serial": 3}, "name": "a",
          "files": [
            {"filename": "a-1.0-py3-none-any.whl", "url": "../../files/a-1.0-py3-none-any.whl",
             "hashes": {"sha256": "ABCD"}, "requires-python": ">=3.8", "yanked": "broken",
             "core-metadata": {"sha256": "ef01"}, "size": 10, "upload-time": "2024-01-01T00:00:00Z"},
            {"filename": "a-1.0.tar.gz", "url": "https://files.example/a-1.0.tar.gz#sha256=00ff",
             "hashes": {}, "yanked": false, "dist-info-metadata": false}
          ]}"#;
        let links = parse_json(body, "https://index.example/simple/a/").unwrap();
        assert_eq!(
            links[0].url,
            "https://index.example/files/a-1.0-py3-none-any.whl"
        );
        assert_eq!(links[0].hashes["sha256"], "abcd");
        assert_eq!(links[0].requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(links[0].yanked.as_deref(), Some("broken"));
        assert_eq!(
            links[0].core_metadata,
            CoreMetadata::Available([("sha256".to_string(), "ef01".to_string())].into())
        );
        assert_eq!(links[0].size, Some(10));
        assert_eq!(links[1].hashes["sha256"], "00ff");
        assert_eq!(links[1].url, "https://files.example/a-1.0.tar.gz");
        assert_eq!(links[1].yanked, None);
        assert_eq!(links[1].core_metadata, CoreMetadata::Absent);
    }

    #[test]
    fn refuses_api_version_2() {
        let body = r#"{"meta": {"api-version": "2.0"}, "files": []}"#;
        assert!(parse_json(body, "https://x/simple/a/").is_err());
        let html =
            r#"<html><head><meta name="pypi:repository-version" content="2.0"></head></html>"#;
        assert!(parse_html(html, "https://x/simple/a/").is_err());
    }

    #[test]
    fn html_page_attributes_and_base() {
        let html = r#"<!DOCTYPE html><html><head><base href="https://mirror.example/pkgs/">
          <meta name="pypi:repository-version" content="1.0"></head><body>
          <A HREF="a-1.0-py3-none-any.whl#sha256=AbCd" data-requires-python="&gt;=3.8,&lt;4"
             data-dist-info-metadata="sha256=1234">a-1.0-py3-none-any.whl</A><br/>
          <a href='/other/a-0.9.tar.gz' data-yanked>a-0.9.tar.gz</a>
          <a href="a-0.8.zip" data-yanked="bad &amp; old" data-core-metadata=true>a-0.8.zip</a>
          <abbr>not a link</abbr><a name="anchor">x</a>
          </body></html>"#;
        let links = parse_html(html, "https://index.example/simple/a/").unwrap();
        assert_eq!(links.len(), 3);
        assert_eq!(
            links[0].url,
            "https://mirror.example/pkgs/a-1.0-py3-none-any.whl"
        );
        assert_eq!(links[0].filename, "a-1.0-py3-none-any.whl");
        assert_eq!(links[0].hashes["sha256"], "abcd");
        assert_eq!(links[0].requires_python.as_deref(), Some(">=3.8,<4"));
        assert_eq!(
            links[0].core_metadata,
            CoreMetadata::Available([("sha256".to_string(), "1234".to_string())].into())
        );
        assert_eq!(links[1].url, "https://mirror.example/other/a-0.9.tar.gz");
        assert_eq!(links[1].yanked.as_deref(), Some(""));
        assert_eq!(links[1].core_metadata, CoreMetadata::Unknown);
        assert_eq!(links[2].yanked.as_deref(), Some("bad & old"));
        assert_eq!(
            links[2].core_metadata,
            CoreMetadata::Available(BTreeMap::new())
        );
    }

    #[test]
    fn unescapes_numeric_references() {
        assert_eq!(unescape("&#62;=3&#x2C;&amp;&bogus"), ">=3,&&bogus");
    }
}
