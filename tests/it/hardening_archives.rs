//! Hostile wheels and sdists (issue 11, items 2-4): links that lead out of
//! the unpack directory, archive bombs, and wheels whose file name lies
//! about what they contain. Every archive is built here, in memory, and
//! served from the local index.

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::{Dist, MetadataFile, Sdist, Wheel, tar_header};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::Write;

fn config(server: &IndexServer, eggs: &str, extra: &str) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\n{extra}\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = {eggs}\n",
        server.index_url(),
    )
}

/// Runs buildout on `dist` (project `eggs`), expecting a failure; returns
/// stdout and stderr together.
fn fails_with(dist: Dist, eggs: &str, extra: &str) -> (TestContext, String) {
    let server = IndexServer::start();
    server.publish(dist);
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, eggs, extra));
    let run = ctx.buildout(&[]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(run.code != 0, "buildout unexpectedly succeeded:\n{all}");
    // An error, not a crash (a failed allocation aborts with 134).
    assert_eq!(run.code, 1, "{all}");
    assert!(!ctx.path(".buildout/current").exists(), "{all}");
    (ctx, all)
}

fn record_hash(bytes: &[u8]) -> String {
    format!(
        "sha256={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
    )
}

/// A wheel file named `filename` with the given members, zipped as they
/// are, and a RECORD computed from them unless `record` is given.
fn raw_wheel(
    filename: &str,
    dist_info: &str,
    files: &[(&str, &[u8])],
    record: Option<&str>,
) -> Dist {
    let mut all: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, c)| ((*n).to_string(), c.to_vec()))
        .collect();
    all.push((
        format!("{dist_info}/WHEEL"),
        b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
    ));
    let mut rec: String = all
        .iter()
        .map(|(n, c)| format!("{n},{},{}\n", record_hash(c), c.len()))
        .collect();
    rec.push_str(&format!("{dist_info}/RECORD,,\n"));
    all.push((
        format!("{dist_info}/RECORD"),
        record.map_or(rec, str::to_string).into_bytes(),
    ));
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    for (n, c) in &all {
        z.start_file(n.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(c).unwrap();
    }
    z.finish().unwrap();
    let metadata = all
        .iter()
        .find(|(n, _)| n.ends_with(".dist-info/METADATA"))
        .map(|(_, c)| c.clone())
        .unwrap_or_default();
    Dist {
        filename: filename.to_string(),
        bytes: buf.into_inner(),
        metadata,
        requires_python: None,
        yanked: None,
        metadata_file: MetadataFile::Hidden,
    }
}

const DEMO_METADATA: &[u8] = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";

// ---- item 2: links ------------------------------------------------------

/// One extra tar member after the sdist's own files.
enum Member<'a> {
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    /// A file of `n` zero bytes, streamed into the compressor.
    Zeros(&'a str, u64),
}

/// The test sdist `evil-1.0.tar.gz` (a buildable project) followed by
/// `extra` members.
fn hostile_sdist(extra: &[Member<'_>]) -> Dist {
    let sdist = Sdist::new("evil", "1.0").metadata_version("2.1");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let pad = |gz: &mut flate2::write::GzEncoder<Vec<u8>>, n: u64| {
        let rest = (512 - n % 512) % 512;
        gz.write_all(&vec![0u8; rest as usize]).unwrap();
    };
    for (path, text) in sdist.files() {
        gz.write_all(&tar_header(
            &format!("evil-1.0/{path}"),
            text.len(),
            b'0',
            "",
        ))
        .unwrap();
        gz.write_all(text.as_bytes()).unwrap();
        pad(&mut gz, text.len() as u64);
    }
    for m in extra {
        match m {
            Member::Symlink(p, t) => gz.write_all(&tar_header(p, 0, b'2', t)).unwrap(),
            Member::Hardlink(p, t) => gz.write_all(&tar_header(p, 0, b'1', t)).unwrap(),
            Member::Zeros(p, n) => {
                gz.write_all(&tar_header(p, *n as usize, b'0', "")).unwrap();
                let chunk = vec![0u8; 1 << 16];
                let mut left = *n;
                while left > 0 {
                    let k = left.min(chunk.len() as u64);
                    gz.write_all(&chunk[..k as usize]).unwrap();
                    left -= k;
                }
                pad(&mut gz, *n);
            }
        }
    }
    gz.write_all(&[0u8; 1024]).unwrap();
    Dist {
        filename: "evil-1.0.tar.gz".into(),
        bytes: gz.finish().unwrap(),
        metadata: sdist.pkg_info().into_bytes(),
        requires_python: None,
        yanked: None,
        metadata_file: MetadataFile::Absent,
    }
}

/// The sdist is unpacked in `<store>/.staging/<stage>/src`: four links,
/// each pointing one level up and each lexically inside the tree, reach the
/// store; a hard link placed under the last one would land there.
#[test]
fn symlink_chains_cannot_place_members_outside_the_sdist() {
    let chain = [
        Member::Symlink("evil-1.0/a", ".."),
        Member::Symlink("evil-1.0/a/b", ".."),
        Member::Symlink("evil-1.0/a/b/c", ".."),
        Member::Symlink("evil-1.0/a/b/c/d", ".."),
    ];
    for last in [
        Member::Hardlink("evil-1.0/a/b/c/d/escaped", "evil-1.0/PKG-INFO"),
        Member::Zeros("evil-1.0/a/b/c/d/escaped", 10),
    ] {
        let mut members: Vec<Member<'_>> = chain
            .iter()
            .map(|m| match m {
                Member::Symlink(p, t) => Member::Symlink(p, t),
                _ => unreachable!(),
            })
            .collect();
        members.push(last);
        let (ctx, all) = fails_with(hostile_sdist(&members), "evil", "");
        assert!(!ctx.store.join("escaped").exists(), "{all}");
        assert!(!ctx.store.join(".staging/escaped").exists(), "{all}");
        assert!(all.contains("sdist `evil-1.0.tar.gz`"), "{all}");
        assert!(all.contains("evil-1.0/a/b"), "{all}");
    }
}

/// A hard link to a symbolic link (which would copy what the link points
/// at), and a symbolic link whose target leaves the tree only through
/// another link, are refused.
#[test]
fn hard_links_to_symlinks_and_escaping_link_chains_are_refused() {
    let cases: [&[Member<'_>]; 2] = [
        &[
            Member::Symlink("evil-1.0/s", "PKG-INFO"),
            Member::Hardlink("evil-1.0/h", "evil-1.0/s"),
        ],
        &[
            // `up` -> `..` is `src`; `up/..` from `evil-1.0/x` is lexically
            // `evil-1.0` but really the stage directory.
            Member::Symlink("evil-1.0/up", ".."),
            Member::Symlink("evil-1.0/x", "up/../.."),
        ],
    ];
    for (i, members) in cases.iter().enumerate() {
        let (_ctx, all) = fails_with(hostile_sdist(members), "evil", "");
        assert!(all.contains("sdist `evil-1.0.tar.gz`"), "{i}: {all}");
        let member = if i == 0 { "evil-1.0/h" } else { "evil-1.0/x" };
        assert!(all.contains(member), "{i}: {all}");
    }
}

// ---- item 3: bombs ------------------------------------------------------

/// A stored zip written by hand; `declared` overrides a member's
/// uncompressed size (through a zip64 extra field).
fn stored_zip(members: &[(String, Vec<u8>, Option<u64>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, declared) in members {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let crc = crc.sum();
        let offset = out.len() as u32;
        let (size32, extra) = match declared {
            Some(n) => {
                let mut e = Vec::new();
                e.extend(1u16.to_le_bytes());
                e.extend(16u16.to_le_bytes());
                e.extend(n.to_le_bytes());
                e.extend((data.len() as u64).to_le_bytes());
                (u32::MAX, e)
            }
            None => (data.len() as u32, Vec::new()),
        };
        let csize32 = if declared.is_some() {
            u32::MAX
        } else {
            data.len() as u32
        };
        // Local header.
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(45u16.to_le_bytes());
        out.extend(0u16.to_le_bytes()); // flags
        out.extend(0u16.to_le_bytes()); // stored
        out.extend(0u32.to_le_bytes()); // time, date
        out.extend(crc.to_le_bytes());
        out.extend(csize32.to_le_bytes());
        out.extend(size32.to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend((extra.len() as u16).to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(&extra);
        out.extend(data);
        // Central directory header.
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend((0x0300u16 | 45).to_le_bytes());
        central.extend(45u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0u32.to_le_bytes());
        central.extend(crc.to_le_bytes());
        central.extend(csize32.to_le_bytes());
        central.extend(size32.to_le_bytes());
        central.extend((name.len() as u16).to_le_bytes());
        central.extend((extra.len() as u16).to_le_bytes());
        central.extend(0u16.to_le_bytes()); // comment
        central.extend(0u16.to_le_bytes()); // disk
        central.extend(0u16.to_le_bytes()); // internal attributes
        central.extend((0o100644u32 << 16).to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
        central.extend(&extra);
    }
    let start = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(start.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// A 1 KB wheel whose zip64 field claims a 2^62-byte member: an error
/// naming the wheel and the member, not an aborted allocation.
#[test]
fn zip64_size_claims_do_not_abort_the_install() {
    let module = b"X = 1\n".to_vec();
    let files: Vec<(String, Vec<u8>)> = vec![
        ("demo/__init__.py".into(), module.clone()),
        ("demo-1.0.dist-info/METADATA".into(), DEMO_METADATA.to_vec()),
        (
            "demo-1.0.dist-info/WHEEL".into(),
            b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
        ),
    ];
    let mut record: String = files
        .iter()
        .map(|(n, c)| format!("{n},{},{}\n", record_hash(c), c.len()))
        .collect();
    record.push_str("demo-1.0.dist-info/RECORD,,\n");
    let mut members: Vec<(String, Vec<u8>, Option<u64>)> = files
        .into_iter()
        .map(|(n, c)| {
            let declared = (n == "demo/__init__.py").then_some(1u64 << 62);
            (n, c, declared)
        })
        .collect();
    members.push((
        "demo-1.0.dist-info/RECORD".into(),
        record.into_bytes(),
        None,
    ));
    let bytes = stored_zip(&members);
    assert!(bytes.len() < 2048);
    let dist = Dist {
        filename: "demo-1.0-py3-none-any.whl".into(),
        bytes,
        metadata: DEMO_METADATA.to_vec(),
        requires_python: None,
        yanked: None,
        metadata_file: MetadataFile::Hidden,
    };
    let (_ctx, all) = fails_with(dist, "demo", "");
    assert!(all.contains("demo-1.0-py3-none-any.whl"), "{all}");
    assert!(all.contains("demo/__init__.py"), "{all}");
    assert!(all.contains("max-unpacked-file-size"), "{all}");
}

/// A wheel with a member above the configured per-file limit, and one
/// whose members together exceed the total limit.
#[test]
fn wheel_members_stop_at_the_configured_limits() {
    let big = vec![0u8; 300 << 10];
    let dist = raw_wheel(
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.dist-info",
        &[
            ("demo/__init__.py", b""),
            ("demo/big.bin", &big),
            ("demo-1.0.dist-info/METADATA", DEMO_METADATA),
        ],
        None,
    );
    let (_ctx, all) = fails_with(dist.clone(), "demo", "max-unpacked-file-size = 256K");
    assert!(all.contains("demo-1.0-py3-none-any.whl"), "{all}");
    assert!(all.contains("demo/big.bin"), "{all}");
    assert!(all.contains("max-unpacked-file-size"), "{all}");
    let (_ctx, all) = fails_with(dist, "demo", "max-unpacked-size = 200K");
    assert!(all.contains("demo/big.bin"), "{all}");
    assert!(all.contains("max-unpacked-size"), "{all}");
}

/// A `.tar.gz` sdist with a 3 MiB run of zeros (a few KB compressed)
/// under a 1 MiB limit; a member-count limit too.
#[test]
fn sdist_members_stop_at_the_configured_limits() {
    let dist = hostile_sdist(&[Member::Zeros("evil-1.0/zeros.bin", 3 << 20)]);
    assert!(dist.bytes.len() < 64 << 10);
    let (_ctx, all) = fails_with(dist, "evil", "max-unpacked-file-size = 1M");
    assert!(all.contains("sdist `evil-1.0.tar.gz`"), "{all}");
    assert!(all.contains("evil-1.0/zeros.bin"), "{all}");
    assert!(all.contains("max-unpacked-file-size"), "{all}");
    let dist = hostile_sdist(&[Member::Zeros("evil-1.0/zeros.bin", 10)]);
    let (_ctx, all) = fails_with(dist, "evil", "max-unpacked-files = 3");
    assert!(all.contains("sdist `evil-1.0.tar.gz`"), "{all}");
    assert!(all.contains("max-unpacked-files"), "{all}");
}

/// The limits are checked like any option: a bad value is a clear error.
#[test]
fn limit_options_are_validated() {
    let server = IndexServer::start();
    server.publish(Wheel::new("demo", "1.0").build());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &config(&server, "demo", "max-unpacked-size = lots"),
    );
    let (stdout, stderr) = ctx.fails(&[]);
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("max-unpacked-size"), "{all}");
    assert!(all.contains("lots"), "{all}");
    // Suffixes are accepted and a normal wheel installs under them; no
    // unused-option warning.
    ctx.write(
        "buildout.cfg",
        &config(
            &server,
            "demo",
            "max-unpacked-size = 1G\nmax-unpacked-file-size = 64M\nmax-unpacked-files = 1000",
        ),
    );
    let run = ctx.buildout(&[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("max-unpacked"), "{}", run.stderr);
}

// ---- item 4: wheels that lie about themselves ----------------------------

#[test]
fn wheel_whose_metadata_contradicts_its_file_name_is_refused() {
    // The file name says demo 1.0; what the wheel holds says otherwise.
    let evil: &[u8] = b"Metadata-Version: 2.1\nName: demo\nVersion: 6.6.6\n";
    let other: &[u8] = b"Metadata-Version: 2.1\nName: other\nVersion: 1.0\n";
    for (dist_info, metadata, says) in [
        // Both the .dist-info name and METADATA.
        (
            "demo-6.6.6.dist-info",
            evil,
            "`demo-6.6.6.dist-info` gives version `6.6.6`",
        ),
        // Only METADATA.
        (
            "demo-1.0.dist-info",
            evil,
            "`demo-1.0.dist-info/METADATA` gives version `6.6.6`",
        ),
        // Another project.
        (
            "other-1.0.dist-info",
            other,
            "`other-1.0.dist-info` gives project `other`",
        ),
    ] {
        let metadata_name = format!("{dist_info}/METADATA");
        let mut dist = raw_wheel(
            "demo-1.0-py3-none-any.whl",
            dist_info,
            &[
                ("demo/__init__.py", b"X = 666\n"),
                (&metadata_name, metadata),
            ],
            None,
        );
        dist.metadata = DEMO_METADATA.to_vec();
        let (_ctx, all) = fails_with(dist, "demo", "");
        assert!(all.contains("wheel `demo-1.0-py3-none-any.whl`"), "{all}");
        assert!(all.contains(says), "{all}");
    }
}

#[test]
fn wheel_names_are_compared_normalized() {
    // `Demo_Pkg` in METADATA, `demo.pkg` directory, `demo_pkg` file: one
    // project (PEP 503), and `1.0` is `1.0.0` (PEP 440).
    let server = IndexServer::start();
    let meta = b"Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 1.0.0\n";
    server.publish(raw_wheel(
        "demo_pkg-1.0-py3-none-any.whl",
        "demo.pkg-1.0.dist-info",
        &[
            ("demo_pkg/__init__.py", b""),
            ("demo.pkg-1.0.dist-info/METADATA", meta),
        ],
        None,
    ));
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &config(&server, "demo-pkg", ""));
    ctx.ok(&[]);
}

#[test]
fn record_rows_without_a_hash_are_refused() {
    let module = b"X = 1\n";
    let wheel_file = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let record = format!(
        "demo/__init__.py,,\ndemo-1.0.dist-info/METADATA,{},{}\ndemo-1.0.dist-info/WHEEL,{},{}\ndemo-1.0.dist-info/RECORD,,\n",
        record_hash(DEMO_METADATA),
        DEMO_METADATA.len(),
        record_hash(wheel_file),
        wheel_file.len(),
    );
    let dist = raw_wheel(
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.dist-info",
        &[
            ("demo/__init__.py", module),
            ("demo-1.0.dist-info/METADATA", DEMO_METADATA),
        ],
        Some(&record),
    );
    let (_ctx, all) = fails_with(dist, "demo", "");
    assert!(all.contains("demo-1.0-py3-none-any.whl"), "{all}");
    assert!(all.contains("demo/__init__.py"), "{all}");
    assert!(all.contains("no hash"), "{all}");
}
