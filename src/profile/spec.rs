//! Which generations `generations delete SPEC...` means.
//!
//! Same vocabulary as `nix-env --delete-generations`: numbers (`3 4`),
//! `old` (every generation but the current one), `+K` (keep the K most
//! recent, and the current one), `Nd` (older than N days). The current
//! generation is never selected.

use super::Generation;

/// A parsed delete specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteSpec {
    Numbers(Vec<Generation>),
    Old,
    KeepLast(usize),
    OlderThanDays(u64),
}

/// A specification that is not one of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid generation specification `{0}`: expected generation numbers, `old`, `+K` (keep the last K) or `Nd` (older than N days)"
)]
pub struct BadSpec(pub String);

/// Parses the arguments of `generations delete`.
pub fn parse(args: &[String]) -> Result<DeleteSpec, BadSpec> {
    match args {
        [one] if one == "old" => Ok(DeleteSpec::Old),
        [one] if one.starts_with('+') => one[1..]
            .parse()
            .map(DeleteSpec::KeepLast)
            .map_err(|_| BadSpec(one.clone())),
        [one] if one.ends_with('d') && one.len() > 1 => one[..one.len() - 1]
            .parse()
            .map(DeleteSpec::OlderThanDays)
            .map_err(|_| BadSpec(one.clone())),
        _ => args
            .iter()
            .map(|a| a.parse::<Generation>().map_err(|_| BadSpec(a.clone())))
            .collect::<Result<Vec<_>, _>>()
            .map(DeleteSpec::Numbers),
    }
}

/// The generations `spec` selects among `all` (number and creation time in
/// seconds since the epoch), never `current`. `now` is the current time.
pub fn select(
    spec: &DeleteSpec,
    all: &[(Generation, i64)],
    current: Option<Generation>,
    now: i64,
) -> Vec<Generation> {
    let mut sorted: Vec<(Generation, i64)> = all.to_vec();
    sorted.sort();
    let chosen: Vec<Generation> = match spec {
        DeleteSpec::Numbers(numbers) => sorted
            .iter()
            .map(|(g, _)| *g)
            .filter(|g| numbers.contains(g))
            .collect(),
        DeleteSpec::Old => sorted.iter().map(|(g, _)| *g).collect(),
        DeleteSpec::KeepLast(k) => {
            let cut = sorted.len().saturating_sub(*k);
            sorted[..cut].iter().map(|(g, _)| *g).collect()
        }
        DeleteSpec::OlderThanDays(days) => {
            let limit = now - i64::try_from(*days).unwrap_or(i64::MAX / 86_400) * 86_400;
            sorted
                .iter()
                .filter(|(_, t)| *t < limit)
                .map(|(g, _)| *g)
                .collect()
        }
    };
    chosen.into_iter().filter(|g| Some(*g) != current).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(n: u32) -> Generation {
        Generation(n)
    }

    fn all() -> Vec<(Generation, i64)> {
        vec![
            (g(1), 0),
            (g(2), 86_400 * 10),
            (g(3), 86_400 * 40),
            (g(5), 86_400 * 45),
        ]
    }

    #[test]
    fn parses_every_form() {
        let s = |v: &[&str]| parse(&v.iter().map(|x| (*x).to_string()).collect::<Vec<_>>());
        assert_eq!(s(&["old"]), Ok(DeleteSpec::Old));
        assert_eq!(s(&["+3"]), Ok(DeleteSpec::KeepLast(3)));
        assert_eq!(s(&["30d"]), Ok(DeleteSpec::OlderThanDays(30)));
        assert_eq!(s(&["1", "4"]), Ok(DeleteSpec::Numbers(vec![g(1), g(4)])));
        assert!(s(&["x"]).is_err());
        assert!(s(&["+x"]).is_err());
        assert!(s(&["old", "1"]).is_err());
    }

    #[test]
    fn never_selects_the_current_generation() {
        let now = 86_400 * 50;
        assert_eq!(
            select(&DeleteSpec::Old, &all(), Some(g(3)), now),
            vec![g(1), g(2), g(5)]
        );
        assert_eq!(
            select(&DeleteSpec::KeepLast(2), &all(), Some(g(1)), now),
            vec![g(2)]
        );
        assert_eq!(
            select(&DeleteSpec::OlderThanDays(30), &all(), Some(g(5)), now),
            vec![g(1), g(2)]
        );
        assert_eq!(
            select(
                &DeleteSpec::Numbers(vec![g(2), g(5)]),
                &all(),
                Some(g(5)),
                now
            ),
            vec![g(2)]
        );
    }
}
