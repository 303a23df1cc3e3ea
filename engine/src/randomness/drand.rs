//! drand beacons (PROTOCOL.md §7.2).
//!
//! The chains a draw may name are built into this crate, public key
//! included: a verifier never takes a public key from the bundle it checks.
//! Beacons are verified in pure Rust with `drand-verify`.
//!
//! Fetching a beacon is the caller's job; [`parse_relay_json`] reads what an
//! HTTP relay returned and [`Beacon::realise`] checks it:
//!
//! ```
//! use fairdraw_engine::randomness::drand;
//!
//! let body = br#"{"round":123,"signature":"b75c69d0b72a5d906e854e808ba7e2accb1542ac355ae486d591aa9d43765482e26cd02df835d3546d23c4b13e0dfc92"}"#;
//! let quicknet = drand::chain("quicknet").expect("built in");
//! let realised = drand::parse_relay_json(body)?.realise(quicknet)?;
//! let material = quicknet.declare(123).verify(&realised, quicknet.round_time(122))?;
//! # let _ = material;
//! # Ok::<(), fairdraw_engine::randomness::RandomnessError>(())
//! ```

use drand_verify::{G1Pubkey, G2PubkeyRfc, Pubkey};
use serde::Deserialize;

use super::{Declared, RandomnessError, Realised};
use crate::encoding::{Hash32, HexBytes, parse_hex, sha256};
use crate::time::Timestamp;

/// Scheme of the default chain: chained, public key on G1, signatures on G2.
pub const SCHEME_CHAINED: &str = "pedersen-bls-chained";
/// Scheme of quicknet: unchained, public key on G2, signatures on G1 (RFC 9380 hashing).
pub const SCHEME_UNCHAINED_G1_RFC9380: &str = "bls-unchained-g1-rfc9380";

/// A drand chain built into this crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The name draws use for it (the drand beacon ID): `quicknet` or `default`.
    pub name: &'static str,
    /// The chain hash, which identifies the chain on relays.
    pub chain_hash: Hash32,
    /// The group public key (compressed: 48 bytes on G1, 96 bytes on G2).
    pub public_key: &'static [u8],
    /// The drand scheme ID.
    pub scheme: &'static str,
    /// Seconds between rounds.
    pub period: u64,
    /// Unix time of round 1.
    pub genesis_time: i64,
    /// The group hash (v2 `genesis_seed`).
    pub group_hash: Hash32,
}

/// Lowercase hex to bytes at compile time; a malformed constant fails the build.
const fn hex_const<const N: usize>(s: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("invalid hex constant"),
        }
    }
    let s = s.as_bytes();
    assert!(s.len() == 2 * N, "hex constant has the wrong length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

const DEFAULT_PUBLIC_KEY: [u8; 48] = hex_const(
    "868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a569937c529eeda66c7293784a9402801af31",
);
const QUICKNET_PUBLIC_KEY: [u8; 96] = hex_const(
    "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
);

/// The League of Entropy mainnet chains.
static CHAINS: [Chain; 2] = [
    Chain {
        name: "quicknet",
        chain_hash: Hash32(hex_const(
            "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
        )),
        public_key: &QUICKNET_PUBLIC_KEY,
        scheme: SCHEME_UNCHAINED_G1_RFC9380,
        period: 3,
        genesis_time: 1_692_803_367,
        group_hash: Hash32(hex_const(
            "f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e",
        )),
    },
    Chain {
        name: "default",
        chain_hash: Hash32(hex_const(
            "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
        )),
        public_key: &DEFAULT_PUBLIC_KEY,
        scheme: SCHEME_CHAINED,
        period: 30,
        genesis_time: 1_595_431_050,
        group_hash: Hash32(hex_const(
            "176f93498eac9ca337150b46d21dd58673ea4e3581185f869672e59fa4cb390a",
        )),
    },
];

/// The built-in chain called `name` (`quicknet` or `default`), if any.
pub fn chain(name: &str) -> Option<&'static Chain> {
    CHAINS.iter().find(|c| c.name == name)
}

/// All built-in chains, quicknet first.
pub fn chains() -> &'static [Chain] {
    &CHAINS
}

impl Chain {
    fn is_chained(&self) -> bool {
        self.scheme == SCHEME_CHAINED
    }

    /// Signature length of this chain's scheme.
    fn signature_len(&self) -> usize {
        if self.is_chained() { 96 } else { 48 }
    }

    /// When `round` is due: `genesis_time + (round - 1) * period`.
    ///
    /// Round 0 has no beacon; for it this returns one period before genesis.
    /// Times past the year 292 billion saturate.
    pub fn round_time(&self, round: u64) -> Timestamp {
        let t = i128::from(self.genesis_time) + (i128::from(round) - 1) * i128::from(self.period);
        Timestamp::from_unix(i64::try_from(t).unwrap_or(if t < 0 { i64::MIN } else { i64::MAX }))
    }

    /// The first round due at or after `t` (1 when `t` is at or before genesis).
    pub fn first_round_at_or_after(&self, t: Timestamp) -> u64 {
        let since = i128::from(t.unix()) - i128::from(self.genesis_time);
        if since <= 0 {
            return 1;
        }
        let period = i128::from(self.period.max(1));
        let steps = (since + period - 1) / period;
        u64::try_from(steps + 1).unwrap_or(u64::MAX)
    }

    /// The first round due strictly after `t`: the earliest round a draw
    /// locked at `t` may declare.
    pub fn first_round_after(&self, t: Timestamp) -> u64 {
        self.first_round_at_or_after(Timestamp::from_unix(t.unix().saturating_add(1)))
    }

    /// Verifies a beacon of this chain and returns its randomness,
    /// `sha256(signature)`.
    ///
    /// The chained scheme (`default`) needs `previous_signature` (for round 1,
    /// the group hash); the unchained one (`quicknet`) must not have one.
    /// Fails on round 0, on lengths that do not fit the scheme (with a hint
    /// when the beacon looks like one of the other chain) and on a signature
    /// that does not verify against the built-in public key.
    pub fn verify_beacon(
        &self,
        round: u64,
        signature: &[u8],
        previous_signature: Option<&[u8]>,
    ) -> Result<Hash32, RandomnessError> {
        if round == 0 {
            return Err(RandomnessError::RoundZero);
        }
        let expected = self.signature_len();
        if signature.len() != expected {
            let hint = match (self.is_chained(), signature.len()) {
                (false, 96) => " (is this a beacon from the default chain?)",
                (true, 48) => " (is this a beacon from quicknet?)",
                _ => "",
            };
            return Err(RandomnessError::SignatureLength {
                chain: self.name,
                found: signature.len(),
                expected,
                hint,
            });
        }
        let result = if self.is_chained() {
            let previous = previous_signature.ok_or(RandomnessError::PreviousSignatureMissing {
                chain: self.name,
                round,
            })?;
            let expected_prev = if round == 1 { 32 } else { 96 };
            if previous.len() != expected_prev {
                return Err(RandomnessError::PreviousSignatureLength {
                    round,
                    found: previous.len(),
                    expected: expected_prev,
                });
            }
            G1Pubkey::from_variable(self.public_key)
                .map_err(|e| self.bad(round, format!(": built-in public key unreadable ({e})")))?
                .verify(round, previous, signature)
        } else {
            if previous_signature.is_some() {
                return Err(RandomnessError::PreviousSignatureUnexpected { chain: self.name });
            }
            G2PubkeyRfc::from_variable(self.public_key)
                .map_err(|e| self.bad(round, format!(": built-in public key unreadable ({e})")))?
                .verify(round, &[], signature)
        };
        match result {
            Ok(true) => Ok(sha256(signature)),
            Ok(false) => Err(self.bad(round, String::new())),
            Err(_) => Err(self.bad(round, ": the signature is not a valid curve point".into())),
        }
    }

    fn bad(&self, round: u64, detail: String) -> RandomnessError {
        RandomnessError::BadSignature {
            chain: self.name,
            round,
            detail,
        }
    }

    /// The lock-receipt declaration of `round` on this chain.
    ///
    /// Round 0, or a round not due strictly after the lock, makes a
    /// declaration that never verifies; see [`Chain::first_round_after`].
    pub fn declare(&self, round: u64) -> Declared {
        Declared::Drand {
            chain: self.name.to_owned(),
            chain_hash: self.chain_hash,
            round,
        }
    }
}

/// A beacon as read from a relay, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beacon {
    /// The round.
    pub round: u64,
    /// The BLS signature.
    pub signature: Vec<u8>,
    /// The previous round's signature (chained schemes only).
    pub previous_signature: Option<Vec<u8>>,
    /// The randomness the relay stated (v1 only; v2 leaves it out).
    pub randomness: Option<Hash32>,
}

/// The relay response shape shared by v1 and v2.
#[derive(Deserialize)]
struct RelayBeacon {
    round: u64,
    #[serde(default)]
    randomness: Option<String>,
    signature: String,
    #[serde(default)]
    previous_signature: Option<String>,
}

/// Parses a drand HTTP relay response.
///
/// Accepts v1 `{round, randomness, signature[, previous_signature]}` and v2
/// `{round, signature[, previous_signature]}`. Hex must be lowercase, as
/// relays write it. A `null` or empty `previous_signature` counts as absent.
///
/// Unknown fields are ignored: the beacon is authenticated by its BLS
/// signature, not by its envelope, so a relay adding a field must not break a
/// draw. A duplicated field, round 0 or malformed hex is an error. Nothing is
/// verified here; see [`Beacon::realise`].
pub fn parse_relay_json(bytes: &[u8]) -> Result<Beacon, RandomnessError> {
    let raw: RelayBeacon =
        serde_json::from_slice(bytes).map_err(|e| RandomnessError::RelayJson(e.to_string()))?;
    if raw.round == 0 {
        return Err(RandomnessError::RoundZero);
    }
    let hex_field = |name: &str, s: &str| {
        parse_hex(s).map_err(|e| RandomnessError::RelayJson(format!("field `{name}`: {e}")))
    };
    let signature = hex_field("signature", &raw.signature)?;
    let previous_signature = match raw.previous_signature.as_deref() {
        None | Some("") => None,
        Some(p) => Some(hex_field("previous_signature", p)?),
    };
    let randomness = match raw.randomness.as_deref() {
        None => None,
        Some(r) => Some(
            Hash32::from_hex(r)
                .map_err(|e| RandomnessError::RelayJson(format!("field `randomness`: {e}")))?,
        ),
    };
    Ok(Beacon {
        round: raw.round,
        signature,
        previous_signature,
        randomness,
    })
}

impl Beacon {
    /// Verifies this beacon against `chain` (BLS signature, and the stated
    /// randomness if any) and builds the execution-receipt record.
    ///
    /// Fails as [`Chain::verify_beacon`] does, or with
    /// [`RandomnessError::RandomnessMismatch`] when the relay's randomness is
    /// not `sha256(signature)`.
    pub fn realise(&self, chain: &Chain) -> Result<Realised, RandomnessError> {
        let randomness = chain.verify_beacon(
            self.round,
            &self.signature,
            self.previous_signature.as_deref(),
        )?;
        if let Some(found) = self.randomness
            && found != randomness
        {
            return Err(RandomnessError::RandomnessMismatch {
                expected: randomness,
                found,
            });
        }
        Ok(Realised::Drand {
            chain: chain.name.to_owned(),
            round: self.round,
            signature: HexBytes(self.signature.clone()),
            previous_signature: self.previous_signature.clone().map(HexBytes),
            randomness,
        })
    }
}
