//! What an organiser asks for when locking: `drand:quicknet`,
//! `drand:default`, `drand:CHAIN:ROUND`, `secret` (commit-reveal),
//! `secret+drand:CHAIN` or `secret+drand:CHAIN:ROUND` (both: protocol 2) or
//! `rfc3797:"DESCRIPTION;NAME=COUNTxMIN-MAX;…"` (the sources described, then
//! each source's count of numbers and range), and the [`Declared`] randomness a
//! lock receipt carries for it.
//!
//! The CLI's `--randomness` and the server's `randomness` field share this
//! parser, so both accept exactly the same spellings.
//!
//! ```
//! use fairdraw_engine::randomness::spec::Spec;
//! use fairdraw_engine::time::Timestamp;
//!
//! let spec = Spec::parse("drand:quicknet").expect("known chain");
//! let locked_at = Timestamp::parse_rfc3339("2026-12-01T12:00:00Z").expect("time");
//! let declared = spec.declare(locked_at, None).expect("no secret needed");
//! assert!(declared.describe().contains("quicknet"));
//! ```

use crate::randomness::{Declared, RandomnessError, commit_reveal, drand};
use crate::time::Timestamp;

/// drand rounds are chosen at least this long after the lock, so that no
/// one can have seen the beacon when the entries were locked.
pub const DRAND_MARGIN_SECONDS: i64 = 60;

/// For `secret+drand`, the round is chosen at least this long after the
/// lock: the secret already keeps the organiser from knowing the seed, and
/// the draw waits only seconds on quicknet.
pub const SECRET_DRAND_MARGIN_SECONDS: i64 = 6;

/// A parsed randomness request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    /// A drand chain; `round` when the organiser names one, else the first
    /// round at least [`DRAND_MARGIN_SECONDS`] after the lock.
    Drand {
        /// The chain.
        chain: &'static drand::Chain,
        /// An explicit round.
        round: Option<u64>,
    },
    /// Commit-reveal: the caller brings a fresh 32-byte secret.
    Secret,
    /// A fresh secret and a drand round, both in the seed.
    SecretDrand {
        /// The chain.
        chain: &'static drand::Chain,
        /// An explicit round.
        round: Option<u64>,
    },
    /// RFC 3797 public sources: described in words, and each source's
    /// shape (protocol 2).
    Rfc3797 {
        /// The description.
        sources: String,
        /// Each source's name, count of numbers and range, in order.
        shapes: Vec<super::rfc3797::SourceShape>,
    },
}

/// Why a randomness spec is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The drand round is not a positive whole number.
    #[error("randomness {spec:?}: round {round:?} is not a positive whole number")]
    Round {
        /// The whole spec.
        spec: String,
        /// The round as written.
        round: String,
    },
    /// The drand chain is not one this engine knows.
    #[error("randomness {spec:?}: unknown drand chain {chain:?} (known: {known})")]
    UnknownChain {
        /// The whole spec.
        spec: String,
        /// The chain as written.
        chain: String,
        /// The known chains, comma-separated.
        known: String,
    },
    /// `rfc3797:` without a description or without the sources' shapes.
    #[error(
        "randomness rfc3797: needs a description of the public sources and each source's count of numbers and range, e.g. rfc3797:\"EuroMillions of 2026-12-08;main=5x1-50;stars=2x1-12\""
    )]
    Rfc3797Empty,
    /// A source shape that does not parse.
    #[error("randomness rfc3797: source {0}")]
    Rfc3797Shape(String),
    /// None of the known forms.
    #[error(
        "randomness {0:?} is not one of drand:quicknet, drand:default, drand:CHAIN:ROUND, secret, secret+drand:CHAIN, secret+drand:CHAIN:ROUND, rfc3797:\"DESCRIPTION;NAME=COUNTxMIN-MAX;…\""
    )]
    Unknown(String),
    /// Commit-reveal needs a secret and none was given.
    #[error("commit-reveal randomness needs a 32-byte secret")]
    MissingSecret,
    /// The declaration itself failed.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
}

impl Spec {
    /// Parses a spec as written on the command line or in the API.
    pub fn parse(s: &str) -> Result<Spec, SpecError> {
        if let Some(rest) = s.strip_prefix("secret+") {
            return match Spec::parse(rest) {
                Ok(Spec::Drand { chain, round }) => Ok(Spec::SecretDrand { chain, round }),
                Ok(_) => Err(SpecError::Unknown(s.to_owned())),
                Err(SpecError::Unknown(_)) => Err(SpecError::Unknown(s.to_owned())),
                Err(e) => Err(e),
            };
        }
        if let Some(rest) = s.strip_prefix("drand:") {
            let (name, round) = match rest.split_once(':') {
                Some((n, r)) => {
                    let round = r.parse::<u64>().ok().filter(|r| *r >= 1).ok_or_else(|| {
                        SpecError::Round {
                            spec: s.to_owned(),
                            round: r.to_owned(),
                        }
                    })?;
                    (n, Some(round))
                }
                None => (rest, None),
            };
            let chain = drand::chain(name).ok_or_else(|| SpecError::UnknownChain {
                spec: s.to_owned(),
                chain: name.to_owned(),
                known: drand::chains()
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            return Ok(Spec::Drand { chain, round });
        }
        if s == "secret" {
            return Ok(Spec::Secret);
        }
        if let Some(rest) = s.strip_prefix("rfc3797:") {
            let mut parts = rest.split(';');
            let sources = parts.next().unwrap_or("").trim().to_owned();
            let shapes = parts
                .map(super::rfc3797::SourceShape::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(SpecError::Rfc3797Shape)?;
            if sources.is_empty() || shapes.is_empty() {
                return Err(SpecError::Rfc3797Empty);
            }
            return Ok(Spec::Rfc3797 { sources, shapes });
        }
        Err(SpecError::Unknown(s.to_owned()))
    }

    /// Whether [`Spec::declare`] needs a secret.
    pub fn needs_secret(&self) -> bool {
        matches!(self, Spec::Secret | Spec::SecretDrand { .. })
    }

    /// The randomness a lock made at `locked_at` declares. For
    /// commit-reveal the caller passes the fresh secret (the engine takes no
    /// OS randomness) and keeps it to reveal at execution.
    pub fn declare(
        &self,
        locked_at: Timestamp,
        secret: Option<&[u8; 32]>,
    ) -> Result<Declared, SpecError> {
        Ok(match self {
            Spec::Drand { chain, round } => {
                let round = match round {
                    Some(r) => *r,
                    None => chain.first_round_at_or_after(Timestamp::from_unix(
                        locked_at.unix() + DRAND_MARGIN_SECONDS,
                    )),
                };
                chain.declare(round)
            }
            Spec::Secret => commit_reveal::declare(secret.ok_or(SpecError::MissingSecret)?)?,
            Spec::SecretDrand { chain, round } => {
                let secret = secret.ok_or(SpecError::MissingSecret)?;
                let Declared::CommitReveal { commitment } = commit_reveal::declare(secret)? else {
                    unreachable!("commit_reveal::declare makes a commit-reveal declaration")
                };
                let round = match round {
                    Some(r) => *r,
                    None => chain.first_round_at_or_after(Timestamp::from_unix(
                        locked_at.unix() + SECRET_DRAND_MARGIN_SECONDS,
                    )),
                };
                Declared::SecretDrand {
                    commitment,
                    chain: chain.name.to_owned(),
                    chain_hash: chain.chain_hash,
                    round,
                }
            }
            Spec::Rfc3797 { sources, shapes } => Declared::Rfc3797 {
                sources: sources.clone(),
                shapes: shapes.clone(),
            },
        })
    }
}
