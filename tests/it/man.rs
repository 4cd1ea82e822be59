//! `man/` must match what the clap definition renders.
//!
//! Regenerate with `BUILDOUT_UPDATE_MAN=1 cargo test --test it man`.

use std::path::Path;

#[test]
fn man_pages_are_fresh() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("BUILDOUT_UPDATE_MAN").is_some();
    let pages = buildout::cli::man::pages();
    let mut stale = Vec::new();
    for (name, contents) in &pages {
        let path = dir.join(name);
        if update {
            std::fs::write(&path, contents).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(contents.as_slice()) {
            stale.push(name.clone());
        }
    }
    let expected: Vec<&String> = pages.iter().map(|(n, _)| n).collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".1") && !expected.contains(&&name) {
            if update {
                std::fs::remove_file(dir.join(&name)).unwrap();
            } else {
                stale.push(format!("{name} (no longer generated)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "man pages are stale: {stale:?}\nregenerate them with: BUILDOUT_UPDATE_MAN=1 cargo test --test it man"
    );
}
