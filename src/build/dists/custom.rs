//! `zc.recipe.egg:custom` builds: a distribution built from its sdist with
//! the part's own build environment, addressed with that environment, and
//! kept for the part that asked for it.

use super::address::{file_sha256, origin, output_path};
use super::install::install_wheel;
use super::metadata::read_store_metadata;
use super::sdist_build::build_sdist_wheel;
use super::{BUILDER, DistEnv, Error, IndexProvider, LocalDist, Progress, Result};
use crate::python::{DistFilename, Requirement};
use crate::resolve;
use crate::store::{Kind, NewObject};

/// Builds `requirement`'s distribution from its sdist with `extra_env` in
/// the build's environment (`zc.recipe.egg:custom`): the version comes from
/// the resolver (so `[versions]` applies), the object's address includes
/// the environment, and the result is returned as a local distribution
/// that wins over index versions for the parts after it.
pub fn custom_build(
    env: &DistEnv<'_>,
    provider: &IndexProvider<'_>,
    requirement: &Requirement,
    extra_env: &[(String, String)],
    progress: &mut dyn Progress,
) -> Result<LocalDist> {
    let resolution = resolve::resolve(std::slice::from_ref(requirement), provider, &env.options)?;
    let target = resolution
        .packages
        .iter()
        .find(|p| p.name == requirement.name)
        .ok_or_else(|| Error::NoSdist {
            name: requirement.name.to_string(),
            version: String::new(),
        })?;
    let sdist = provider
        .files(&target.name)
        .ok()
        .and_then(|f| {
            f.get(&target.version).and_then(|files| {
                files
                    .iter()
                    .find(|f| matches!(f.filename, DistFilename::Sdist(_)))
                    .cloned()
            })
        })
        .ok_or_else(|| Error::NoSdist {
            name: target.project_name.clone(),
            version: target.version.to_string(),
        })?;
    let key = serde_json::json!({
        "sdist": file_sha256(&sdist)?,
        "builder": BUILDER,
        "installer": env.installer(),
        "interpreter": env.cache_tag(),
        "custom-environment": extra_env,
    });
    let name = format!("{}-{}-custom", target.name.as_str(), target.version);
    let path = output_path(env, &name, &key)?;
    if !env.store.root_and_check(&path)? {
        progress.building(&target.project_name, &target.version.to_string());
        let archive = provider.fetch(&sdist)?;
        let label = format!("{} {}", target.name.as_str(), target.version);
        let (_tmp, wheel) = build_sdist_wheel(env, &label, &archive, extra_env, progress)?;
        let mut obj = NewObject::known(path.clone(), Kind::Dist);
        obj.origin = Some(origin(&sdist)?);
        install_wheel(env, &obj, &wheel)?;
    }
    let metadata = read_store_metadata(&path.to_absolute(env.store.dir_str()))?;
    Ok(LocalDist {
        name: target.name.clone(),
        project_name: target.project_name.clone(),
        version: target.version.clone(),
        metadata,
        path,
    })
}
