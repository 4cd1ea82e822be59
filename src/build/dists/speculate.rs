//! What the resolver will likely fetch next ([`Speculation`], the
//! [`index::prefetch::Speculator`] of an [`super::IndexProvider`]): the
//! resolver's preferences applied to one requirement at a time, with the
//! buildout's `[versions]`, interpreter and platform. A wrong guess costs
//! a request, never a wrong answer.

use std::collections::HashSet;
use std::str::FromStr;

use pep440_rs::Version;

use crate::index::{self, DistFile, Metadata};
use crate::python::{DistFilename, PackageName, Requirement, Tags};
use crate::resolve;

/// The resolver's rules, owned, for the prefetch workers.
pub(super) struct Speculation {
    pub(super) tags: Tags,
    pub(super) python: Version,
    pub(super) options: resolve::Options,
    /// Local projects (develop eggs): never fetched from the index.
    pub(super) local: HashSet<PackageName>,
}

impl index::prefetch::Speculator for Speculation {
    fn choose(&self, requirement: &Requirement, files: &[DistFile]) -> Option<DistFile> {
        if self.local.contains(&requirement.name) {
            return None;
        }
        let requirement = self.options.pins.constrain(requirement).ok()?;
        // Usable files, with how well each fits (wheels by tag priority,
        // the sdist last), as the provider and the solver rank them.
        let usable: Vec<(&DistFile, usize)> = files
            .iter()
            .filter(|f| !f.is_yanked() && f.requires_python_allows(&self.python))
            .filter(|f| requirement.specifiers.contains(f.filename.version()))
            .filter_map(|f| match &f.filename {
                DistFilename::Wheel(w) => w.compatibility(&self.tags).map(|rank| (f, rank)),
                DistFilename::Sdist(_) => Some((f, usize::MAX)),
            })
            .collect();
        let finals = usable
            .iter()
            .any(|(f, _)| !f.filename.version().any_prerelease());
        let version = usable
            .iter()
            .map(|(f, _)| f.filename.version())
            .filter(|v| !(self.options.prefer_final && finals && v.any_prerelease()))
            .max()?
            .clone();
        usable
            .into_iter()
            .filter(|(f, _)| f.filename.version() == &version)
            .min_by_key(|(_, rank)| *rank)
            .map(|(f, _)| f.clone())
    }

    fn follow(&self, requirement: &Requirement, metadata: &Metadata) -> Vec<Requirement> {
        let env = &self.options.environment;
        let extras = requirement.normalized_extras();
        metadata
            .requires_dist
            .iter()
            .filter_map(|r| Requirement::from_str(r).ok())
            .filter(|r| match &r.marker {
                None => true,
                Some(m) => {
                    m.evaluate(env, &[]) || extras.iter().any(|e| m.evaluate(env, &[e.as_str()]))
                }
            })
            .filter(|r| !self.local.contains(&r.name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::prefetch::Speculator;
    use crate::index::{CoreMetadata, Source};
    use std::collections::BTreeMap;

    fn file(name: &str) -> DistFile {
        DistFile {
            filename: DistFilename::parse(name, None).unwrap(),
            url: format!("https://example.org/{name}"),
            hashes: BTreeMap::new(),
            requires_python: None,
            yanked: None,
            core_metadata: CoreMetadata::Unknown,
            size: None,
            upload_time: None,
            source: Source::Index,
        }
    }

    fn speculation(pins: &[(&str, &str)]) -> Speculation {
        let facts = crate::python::interpreter::tests::fake_facts();
        let mut options = resolve::Options::new(facts.markers.clone());
        for (name, version) in pins {
            options.pins.insert(name, version).unwrap();
        }
        Speculation {
            tags: Tags::from_facts(&facts),
            python: options.python_version.clone(),
            options,
            local: HashSet::new(),
        }
    }

    #[test]
    fn chooses_the_newest_final_wheel_a_pin_allows() {
        let files = [
            file("demo-1.0-py3-none-any.whl"),
            file("demo-2.0.tar.gz"),
            file("demo-2.0-py3-none-any.whl"),
            file("demo-3.0b1-py3-none-any.whl"),
        ];
        let req = Requirement::from_str("demo").unwrap();
        let s = speculation(&[]);
        assert_eq!(
            s.choose(&req, &files).unwrap().filename.to_string(),
            "demo-2.0-py3-none-any.whl"
        );
        let pinned = speculation(&[("demo", "1.0")]);
        assert_eq!(
            pinned.choose(&req, &files).unwrap().filename.to_string(),
            "demo-1.0-py3-none-any.whl"
        );
        let spec = Requirement::from_str("demo<2").unwrap();
        assert_eq!(
            s.choose(&spec, &files).unwrap().filename.to_string(),
            "demo-1.0-py3-none-any.whl"
        );
    }

    #[test]
    fn follows_requirements_whose_markers_hold_with_the_requested_extras() {
        let meta = Metadata::parse(
            b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\
              Requires-Dist: a\nRequires-Dist: b; extra == \"x\"\n\
              Requires-Dist: c; python_version < \"2\"\n",
        )
        .unwrap();
        let s = speculation(&[]);
        let names = |req: &str| -> Vec<String> {
            s.follow(&Requirement::from_str(req).unwrap(), &meta)
                .iter()
                .map(|r| r.name.to_string())
                .collect()
        };
        assert_eq!(names("demo"), ["a"]);
        assert_eq!(names("demo[x]"), ["a", "b"]);
    }
}
