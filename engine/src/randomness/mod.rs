//! Randomness (PROTOCOL.md §7).
//!
//! A draw names its source of randomness in the lock receipt, before that
//! randomness exists ([`Declared`]), and records it in the execution receipt
//! once it does ([`Realised`]). [`Declared::verify`] checks the one against the
//! other and hands the selection step the verified [`Material`].
//!
//! Three sources are supported:
//! - a future [drand](drand) beacon round, verified with its BLS signature
//!   against a public key built into this crate;
//! - [commit-reveal](commit_reveal): the organiser commits to a 32-byte secret
//!   at lock time and reveals it afterwards;
//! - [RFC 3797](rfc3797) public sources (lottery draws, stock indices) named in
//!   advance and canonicalised into a key string.
//!
//! ```
//! use fairdraw_engine::randomness::{commit_reveal, Material, Realised};
//! use fairdraw_engine::encoding::HexBytes;
//! use fairdraw_engine::time::Timestamp;
//!
//! let secret = [7u8; 32];
//! let declared = commit_reveal::declare(&secret)?;            // goes into the lock receipt
//! let realised = Realised::CommitReveal { secret: HexBytes(secret.to_vec()) };
//! let material = declared.verify(&realised, Timestamp::from_unix(0))?;
//! assert_eq!(material, Material::Seed(secret.to_vec()));
//! # Ok::<(), fairdraw_engine::randomness::RandomnessError>(())
//! ```

pub mod commit_reveal;
pub mod drand;
pub mod rfc3797;
pub mod spec;

use serde::{Deserialize, Serialize};

use crate::encoding::{Hash32, HexBytes};
use crate::time::Timestamp;

/// Randomness declared in the lock receipt, before it exists.
///
/// JSON: an object tagged by `"kind"` (`drand`, `commit_reveal`, `rfc3797`);
/// unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Declared {
    /// A future round of a drand chain built into this crate.
    Drand {
        /// Chain name: `quicknet` or `default`.
        chain: String,
        /// The chain's hash, which must equal the built-in chain's hash.
        chain_hash: Hash32,
        /// The round whose beacon will seed the draw; its time is after the lock.
        round: u64,
    },
    /// A commitment to a 32-byte secret revealed after the lock.
    CommitReveal {
        /// `commit_reveal::commitment(secret)`.
        commitment: Hash32,
    },
    /// Public sources named in advance, per RFC 3797.
    Rfc3797 {
        /// Human description of the sources, e.g. which lottery on which date.
        sources: String,
        /// Protocol 2: each source's name, count of numbers and range, in
        /// order, so that one spelling of the result is valid. Absent
        /// (empty) in protocol 1.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        shapes: Vec<rfc3797::SourceShape>,
    },
    /// Protocol 2: a commitment to a secret *and* a future drand round; the
    /// seed takes both, so neither the organiser (who cannot know the
    /// beacon) nor drand (which cannot know the secret) decides alone.
    SecretDrand {
        /// `commit_reveal::commitment(secret)`.
        commitment: Hash32,
        /// Chain name: `quicknet` or `default`.
        chain: String,
        /// The chain's hash, which must equal the built-in chain's hash.
        chain_hash: Hash32,
        /// The round whose beacon will seed the draw; its time is after the lock.
        round: u64,
    },
}

/// Randomness as realised, in the execution receipt. Same tagging as [`Declared`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Realised {
    /// A drand beacon.
    Drand {
        /// Chain name: `quicknet` or `default`.
        chain: String,
        /// The beacon's round.
        round: u64,
        /// The BLS signature (48 bytes on quicknet, 96 on default).
        signature: HexBytes,
        /// The previous round's signature; present only on chained schemes.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        previous_signature: Option<HexBytes>,
        /// `sha256(signature)`.
        randomness: Hash32,
    },
    /// The revealed secret.
    CommitReveal {
        /// The 32-byte secret.
        secret: HexBytes,
    },
    /// The values the public sources produced, one string per source, in the
    /// order the sources were named.
    Rfc3797 {
        /// E.g. `["9319", "2 5 12 8 10", "9 18 26 34 41 45"]`.
        values: Vec<String>,
    },
    /// Protocol 2: the revealed secret and the drand beacon of the declared round.
    SecretDrand {
        /// The 32-byte secret.
        secret: HexBytes,
        /// Chain name: `quicknet` or `default`.
        chain: String,
        /// The beacon's round.
        round: u64,
        /// The BLS signature (48 bytes on quicknet, 96 on default).
        signature: HexBytes,
        /// The previous round's signature; present only on chained schemes.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        previous_signature: Option<HexBytes>,
        /// `sha256(signature)`.
        randomness: Hash32,
    },
}

/// How much a randomness kind asks the verifier to trust the organiser
/// (PROTOCOL.md §12), as `verify` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// drand, or a secret combined with drand: the organiser cannot choose
    /// or foresee the randomness, provided the lock was public before the
    /// round was published.
    NoOrganiserTrust,
    /// Commit-reveal alone or RFC 3797: the organiser could have tried
    /// secrets (or spellings of the lottery result) until a draw suited them.
    OrganiserTrusted,
}

impl Trust {
    /// The trust in plain words, for the report.
    pub fn explain(self, declared: &Declared) -> &'static str {
        match (self, declared) {
            (Trust::NoOrganiserTrust, _) => {
                "no trust in the organiser is needed: the drand beacon did not exist when the draw was \
                 locked, provided the lock was public before the round was published"
            }
            (Trust::OrganiserTrusted, Declared::Rfc3797 { .. }) => {
                "organiser-trusted: RFC 3797 values are compared with the named public sources by a \
                 person, and the organiser chose the sources; a draw with drand (or secret+drand) \
                 needs no such trust"
            }
            (Trust::OrganiserTrusted, _) => {
                "organiser-trusted: with commit-reveal alone the organiser knew the secret and could \
                 have re-locked until a favoured entrant won; use secret+drand or drand for draws \
                 where the organiser must not be trusted"
            }
        }
    }
}

/// What the selection step consumes once randomness has been verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Material {
    /// Bytes fed into the seed derivation: the drand randomness (32 bytes)
    /// or the revealed secret (32 bytes).
    Seed(Vec<u8>),
    /// The canonical RFC 3797 key string.
    Rfc3797Key(String),
}

/// Why randomness was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RandomnessError {
    /// The realised randomness is of another kind than the declared one.
    #[error(
        "the lock receipt declared {declared} randomness but the execution receipt holds {realised} randomness"
    )]
    KindMismatch {
        /// Kind declared.
        declared: &'static str,
        /// Kind realised.
        realised: &'static str,
    },
    /// A chain name this crate does not know.
    #[error("unknown drand chain {0:?} (known chains: quicknet, default)")]
    UnknownChain(String),
    /// The beacon is from another chain than the declared one.
    #[error(
        "the lock receipt declared drand chain {declared:?} but the beacon is from chain {realised:?}"
    )]
    ChainMismatch {
        /// Chain declared.
        declared: String,
        /// Chain of the beacon.
        realised: String,
    },
    /// The declared chain hash is not the built-in chain's hash.
    #[error(
        "the declared chain hash {declared} is not the hash of drand chain {chain:?} ({expected})"
    )]
    ChainHashMismatch {
        /// Chain name.
        chain: String,
        /// Hash declared.
        declared: Hash32,
        /// The built-in chain's hash.
        expected: Hash32,
    },
    /// Round 0 has no beacon.
    #[error("drand round 0 does not exist; rounds start at 1")]
    RoundZero,
    /// The beacon is for another round than the declared one.
    #[error(
        "the lock receipt declared drand round {declared} but the beacon is for round {realised}"
    )]
    RoundMismatch {
        /// Round declared.
        declared: u64,
        /// Round of the beacon.
        realised: u64,
    },
    /// The declared round was already out (or due) when the draw was locked.
    #[error(
        "drand round {round} is due at {round_time}, which is not after the lock at {locked_at}; its randomness could have been known before the lock"
    )]
    RoundNotAfterLock {
        /// Round declared.
        round: u64,
        /// When the round is due.
        round_time: Timestamp,
        /// When the draw was locked.
        locked_at: Timestamp,
    },
    /// The signature has the wrong length for the chain.
    #[error("beacon signature is {found} bytes but {chain} signatures are {expected} bytes{hint}")]
    SignatureLength {
        /// Chain name.
        chain: &'static str,
        /// Bytes given.
        found: usize,
        /// Bytes the chain's scheme uses.
        expected: usize,
        /// A guess at what went wrong, e.g. ` (is this a beacon from the default chain?)`.
        hint: &'static str,
    },
    /// A chained beacon without the previous round's signature.
    #[error(
        "drand chain {chain} is chained: round {round} needs the previous round's signature (previous_signature) to be verified"
    )]
    PreviousSignatureMissing {
        /// Chain name.
        chain: &'static str,
        /// Round.
        round: u64,
    },
    /// An unchained beacon with a previous signature.
    #[error(
        "drand chain {chain} is unchained: its beacons have no previous_signature (is this a beacon from the default chain?)"
    )]
    PreviousSignatureUnexpected {
        /// Chain name.
        chain: &'static str,
    },
    /// The previous signature has the wrong length.
    #[error("previous_signature of round {round} is {found} bytes but should be {expected} bytes")]
    PreviousSignatureLength {
        /// Round.
        round: u64,
        /// Bytes given.
        found: usize,
        /// Bytes expected (96, or 32 for round 1 whose "previous signature" is the genesis seed).
        expected: usize,
    },
    /// The BLS signature does not verify against the chain's public key.
    #[error(
        "the BLS signature of drand {chain} round {round} is invalid: the beacon was not produced by the League of Entropy for this round{detail}"
    )]
    BadSignature {
        /// Chain name.
        chain: &'static str,
        /// Round.
        round: u64,
        /// Extra detail, e.g. `: signature is not a valid curve point`.
        detail: String,
    },
    /// The stated randomness is not `sha256(signature)`.
    #[error("beacon randomness {found} is not the SHA-256 of its signature ({expected})")]
    RandomnessMismatch {
        /// `sha256(signature)`.
        expected: Hash32,
        /// Randomness given.
        found: Hash32,
    },
    /// A drand relay response that cannot be read.
    #[error("not a drand beacon response: {0}")]
    RelayJson(String),
    /// A commit-reveal secret of the wrong length.
    #[error("the commit-reveal secret is {0} bytes; it must be exactly 32 bytes")]
    SecretLength(usize),
    /// The revealed secret does not match the commitment.
    #[error(
        "the revealed secret does not match the commitment in the lock receipt (commitment {declared}, the secret commits to {computed})"
    )]
    CommitmentMismatch {
        /// Commitment in the lock receipt.
        declared: Hash32,
        /// Commitment of the revealed secret.
        computed: Hash32,
    },
    /// No RFC 3797 source values at all.
    #[error("no RFC 3797 source values were given")]
    NoSources,
    /// An RFC 3797 source value that cannot be canonicalised.
    #[error("RFC 3797 source #{source_number} ({value:?}): {problem}")]
    BadSource {
        /// 1-based position of the source.
        source_number: usize,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The RFC 3797 values are not one per source the lock fixed.
    #[error("the lock fixed {declared} RFC 3797 sources, {given} values were given")]
    Rfc3797SourceCount {
        /// Sources the lock fixed.
        declared: usize,
        /// Values given.
        given: usize,
    },
    /// An RFC 3797 declaration that does not fix its sources as its
    /// protocol version requires.
    #[error("RFC 3797 declaration: {0}")]
    Rfc3797Declaration(String),
    /// A kind of randomness the receipt's protocol version does not have.
    #[error("{kind} needs protocol version {protocol} or later")]
    KindNeedsProtocol {
        /// The declaration, described.
        kind: String,
        /// The first version with it.
        protocol: u32,
    },
    /// A declaration or realisation over a cap of PROTOCOL.md §9.4.
    #[error("{0}")]
    TooLarge(String),
    /// More than 65536 RFC 3797 values were drawn from one key.
    #[error("RFC 3797 allows at most 65536 values from one key (the index is two bytes)")]
    IndexExhausted,
    /// An RFC 3797 selection that cannot be made.
    #[error("cannot select {count} of {pool}: {problem}")]
    BadSelection {
        /// Pool size.
        pool: u64,
        /// Number to select.
        count: u64,
        /// Why not.
        problem: &'static str,
    },
}

/// Caps on randomness (PROTOCOL.md §9.4), for every protocol version.
pub mod limits {
    /// Code points of an RFC 3797 `sources` description.
    pub const MAX_SOURCES_CHARS: usize = 1000;
    /// RFC 3797 values (one per source).
    pub const MAX_RFC3797_VALUES: usize = 16;
    /// Code points of one RFC 3797 value.
    pub const MAX_RFC3797_VALUE_CHARS: usize = 1000;
    /// Bytes of an RFC 3797 key string: each of up to 65,536 picks hashes it once.
    pub const MAX_RFC3797_KEY_BYTES: usize = 1024;
}

impl Declared {
    /// Checks the caps of PROTOCOL.md §9.4 ([`limits`]).
    pub fn check_limits(&self) -> Result<(), RandomnessError> {
        let Declared::Rfc3797 { sources, shapes } = self else {
            return Ok(());
        };
        let too_large = |m: String| Err(RandomnessError::TooLarge(m));
        if sources.chars().count() > limits::MAX_SOURCES_CHARS {
            return too_large(format!(
                "the RFC 3797 sources description is longer than {} characters",
                limits::MAX_SOURCES_CHARS
            ));
        }
        if shapes.len() > limits::MAX_RFC3797_VALUES {
            return too_large(format!(
                "{} RFC 3797 sources, at most {} are allowed",
                shapes.len(),
                limits::MAX_RFC3797_VALUES
            ));
        }
        if let Some(s) = shapes.iter().find(|s| {
            s.name.chars().count() > rfc3797::MAX_SHAPE_NAME_CHARS
                || s.count > rfc3797::MAX_SHAPE_COUNT
        }) {
            return too_large(format!(
                "RFC 3797 source {:?}: names are at most {} characters and counts at most {}",
                s.name.chars().take(40).collect::<String>(),
                rfc3797::MAX_SHAPE_NAME_CHARS,
                rfc3797::MAX_SHAPE_COUNT
            ));
        }
        Ok(())
    }

    /// What protocol version `protocol` requires of the declaration beyond
    /// its caps: in protocol 2 an RFC 3797 declaration fixes every source's
    /// shape ([`rfc3797::SourceShape`], each valid); protocol 1 has no shapes.
    pub fn check_for(&self, protocol: u32) -> Result<(), RandomnessError> {
        let Declared::Rfc3797 { shapes, .. } = self else {
            return Ok(());
        };
        let bad = |m: String| Err(RandomnessError::Rfc3797Declaration(m));
        if protocol < 2 {
            if !shapes.is_empty() {
                return bad("source shapes need protocol 2 or later".into());
            }
            return Ok(());
        }
        if shapes.is_empty() {
            return bad(
                "protocol 2 fixes each source's name, count of numbers and range in the lock \
                 (`shapes`), so that exactly one spelling of the result is valid"
                    .into(),
            );
        }
        for (i, s) in shapes.iter().enumerate() {
            if let Err(p) = s.check() {
                return bad(format!("source #{}: {p}", i + 1));
            }
        }
        Ok(())
    }

    /// The kind name as written in JSON.
    fn kind(&self) -> &'static str {
        match self {
            Declared::Drand { .. } => "drand",
            Declared::CommitReveal { .. } => "commit_reveal",
            Declared::Rfc3797 { .. } => "rfc3797",
            Declared::SecretDrand { .. } => "secret_drand",
        }
    }

    /// Verifies realised randomness against this declaration and the lock time.
    ///
    /// Returns the [`Material`] the selection step consumes. Fails when:
    /// - the kinds differ;
    /// - drand: the chain is unknown or differs, the declared chain hash is not
    ///   the built-in chain's hash, the rounds differ, the round is not due
    ///   strictly after `locked_at`, the BLS signature does not verify against
    ///   the built-in public key (never one from the bundle), or `randomness`
    ///   is not `sha256(signature)`;
    /// - commit-reveal: the secret is not 32 bytes or does not match the
    ///   commitment;
    /// - RFC 3797: the values do not have the shapes the lock fixed (when
    ///   it fixed them, protocol 2: [`rfc3797::check_values`]) or do not
    ///   canonicalise ([`rfc3797::key_string`]).
    ///   Whether they are the values the named sources really produced is for
    ///   a human to check against `sources`.
    pub fn verify(
        &self,
        realised: &Realised,
        locked_at: Timestamp,
    ) -> Result<Material, RandomnessError> {
        match (self, realised) {
            (
                Declared::Drand {
                    chain,
                    chain_hash,
                    round,
                },
                Realised::Drand {
                    chain: realised_chain,
                    round: realised_round,
                    signature,
                    previous_signature,
                    randomness,
                },
            ) => {
                let built_in = drand::chain(chain)
                    .ok_or_else(|| RandomnessError::UnknownChain(chain.clone()))?;
                if realised_chain != chain {
                    return Err(RandomnessError::ChainMismatch {
                        declared: chain.clone(),
                        realised: realised_chain.clone(),
                    });
                }
                if *chain_hash != built_in.chain_hash {
                    return Err(RandomnessError::ChainHashMismatch {
                        chain: chain.clone(),
                        declared: *chain_hash,
                        expected: built_in.chain_hash,
                    });
                }
                if *round == 0 {
                    return Err(RandomnessError::RoundZero);
                }
                if realised_round != round {
                    return Err(RandomnessError::RoundMismatch {
                        declared: *round,
                        realised: *realised_round,
                    });
                }
                let round_time = built_in.round_time(*round);
                if round_time <= locked_at {
                    return Err(RandomnessError::RoundNotAfterLock {
                        round: *round,
                        round_time,
                        locked_at,
                    });
                }
                let expected = built_in.verify_beacon(
                    *round,
                    &signature.0,
                    previous_signature.as_ref().map(|p| p.0.as_slice()),
                )?;
                if expected != *randomness {
                    return Err(RandomnessError::RandomnessMismatch {
                        expected,
                        found: *randomness,
                    });
                }
                Ok(Material::Seed(expected.0.to_vec()))
            }
            (Declared::CommitReveal { commitment }, Realised::CommitReveal { secret }) => {
                if secret.0.len() != commit_reveal::SECRET_LEN {
                    return Err(RandomnessError::SecretLength(secret.0.len()));
                }
                let computed = commit_reveal::commitment(&secret.0);
                if computed != *commitment {
                    return Err(RandomnessError::CommitmentMismatch {
                        declared: *commitment,
                        computed,
                    });
                }
                Ok(Material::Seed(secret.0.clone()))
            }
            (Declared::Rfc3797 { shapes, .. }, Realised::Rfc3797 { values }) => {
                if !shapes.is_empty() {
                    rfc3797::check_values(shapes, values)?;
                }
                rfc3797::key_string(values).map(Material::Rfc3797Key)
            }
            (
                Declared::SecretDrand {
                    commitment,
                    chain,
                    chain_hash,
                    round,
                },
                Realised::SecretDrand {
                    secret,
                    chain: realised_chain,
                    round: realised_round,
                    signature,
                    previous_signature,
                    randomness,
                },
            ) => {
                // Each half is checked exactly as its kind alone is.
                let Material::Seed(secret) = (Declared::CommitReveal {
                    commitment: *commitment,
                })
                .verify(
                    &Realised::CommitReveal {
                        secret: secret.clone(),
                    },
                    locked_at,
                )?
                else {
                    unreachable!("commit-reveal material is a seed")
                };
                let declared = Declared::Drand {
                    chain: chain.clone(),
                    chain_hash: *chain_hash,
                    round: *round,
                };
                let realised = Realised::Drand {
                    chain: realised_chain.clone(),
                    round: *realised_round,
                    signature: signature.clone(),
                    previous_signature: previous_signature.clone(),
                    randomness: *randomness,
                };
                let Material::Seed(beacon) = declared.verify(&realised, locked_at)? else {
                    unreachable!("drand material is a seed")
                };
                // Seed material: the 32 secret bytes, then the 32 beacon
                // randomness bytes (PROTOCOL.md §7.5).
                Ok(Material::Seed([secret, beacon].concat()))
            }
            _ => Err(RandomnessError::KindMismatch {
                declared: self.kind(),
                realised: realised.kind(),
            }),
        }
    }

    /// The drand chain and round this declaration waits for (drand and
    /// secret+drand), if any.
    pub fn drand_round(&self) -> Option<(&str, u64)> {
        match self {
            Declared::Drand { chain, round, .. } | Declared::SecretDrand { chain, round, .. } => {
                Some((chain.as_str(), *round))
            }
            _ => None,
        }
    }

    /// The trust this kind of randomness asks of a verifier.
    pub fn trust(&self) -> Trust {
        match self {
            Declared::Drand { .. } | Declared::SecretDrand { .. } => Trust::NoOrganiserTrust,
            Declared::CommitReveal { .. } | Declared::Rfc3797 { .. } => Trust::OrganiserTrusted,
        }
    }

    /// The lowest protocol version that has this kind.
    pub fn since_protocol(&self) -> u32 {
        match self {
            Declared::SecretDrand { .. } => 2,
            _ => 1,
        }
    }

    /// Short human description for CLI output, e.g.
    /// `drand quicknet round 123 (at 2023-08-23T15:15:33Z)`.
    pub fn describe(&self) -> String {
        match self {
            Declared::Drand { chain, round, .. } => match drand::chain(chain) {
                Some(c) if *round > 0 => {
                    format!("drand {chain} round {round} (at {})", c.round_time(*round))
                }
                _ => format!("drand {chain} round {round}"),
            },
            Declared::CommitReveal { commitment } => {
                format!("commit-reveal (commitment {commitment})")
            }
            Declared::Rfc3797 { sources, shapes } if shapes.is_empty() => {
                format!("RFC 3797 public sources: {sources}")
            }
            Declared::Rfc3797 { sources, shapes } => format!(
                "RFC 3797 public sources: {sources} ({})",
                shapes
                    .iter()
                    .map(|s| format!("{}: {} of {} to {}", s.name, s.count, s.min, s.max))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Declared::SecretDrand {
                commitment,
                chain,
                round,
                ..
            } => match drand::chain(chain) {
                Some(c) if *round > 0 => format!(
                    "secret+drand: commitment {commitment} and drand {chain} round {round} (at {})",
                    c.round_time(*round)
                ),
                _ => {
                    format!("secret+drand: commitment {commitment} and drand {chain} round {round}")
                }
            },
        }
    }
}

/// The caps on RFC 3797 values: at most [`limits::MAX_RFC3797_VALUES`]
/// values of at most [`limits::MAX_RFC3797_VALUE_CHARS`] code points.
pub fn check_rfc3797_values(values: &[impl AsRef<str>]) -> Result<(), RandomnessError> {
    if values.len() > limits::MAX_RFC3797_VALUES {
        return Err(RandomnessError::TooLarge(format!(
            "{} RFC 3797 values, at most {} are allowed",
            values.len(),
            limits::MAX_RFC3797_VALUES
        )));
    }
    if let Some(i) = values
        .iter()
        .position(|v| v.as_ref().chars().count() > limits::MAX_RFC3797_VALUE_CHARS)
    {
        return Err(RandomnessError::TooLarge(format!(
            "RFC 3797 value #{} is longer than {} characters",
            i + 1,
            limits::MAX_RFC3797_VALUE_CHARS
        )));
    }
    Ok(())
}

impl Realised {
    /// Checks the caps of PROTOCOL.md §9.4 ([`limits`]).
    pub fn check_limits(&self) -> Result<(), RandomnessError> {
        match self {
            Realised::Rfc3797 { values } => check_rfc3797_values(values),
            _ => Ok(()),
        }
    }

    /// The kind name as written in JSON.
    fn kind(&self) -> &'static str {
        match self {
            Realised::Drand { .. } => "drand",
            Realised::CommitReveal { .. } => "commit_reveal",
            Realised::Rfc3797 { .. } => "rfc3797",
            Realised::SecretDrand { .. } => "secret_drand",
        }
    }

    /// Combines a revealed secret with a drand beacon realised by
    /// [`drand::Beacon::realise`] into a secret+drand realisation. Returns
    /// `None` when `beacon` is not a drand realisation.
    pub fn secret_drand(secret: &[u8], beacon: Realised) -> Option<Realised> {
        match beacon {
            Realised::Drand {
                chain,
                round,
                signature,
                previous_signature,
                randomness,
            } => Some(Realised::SecretDrand {
                secret: HexBytes(secret.to_vec()),
                chain,
                round,
                signature,
                previous_signature,
                randomness,
            }),
            _ => None,
        }
    }
}
