//! Seed derivation and weighted selection without replacement (PROTOCOL.md §8).
//!
//! Every eligible leaf holds `tickets >= 1`. A draw repeatedly takes a ticket
//! number `r` uniformly in `[0, remaining)`, finds the leaf that owns ticket
//! `r` in canonical order, and removes all of that leaf's tickets. Winners
//! come first, then alternates, from the same stream. Only how `r` is made
//! differs between the ChaCha20 stream and RFC 3797.

use std::collections::HashMap;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::encoding::{FieldHasher, Hash32};

/// Produces ticket numbers: `pick(n)` returns a value in `[0, n)`.
pub trait Picker {
    /// A ticket number in `[0, remaining)`; `remaining >= 1`.
    fn pick(&mut self, remaining: u64) -> Result<u64, SelectError>;
}

/// Why a selection could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// More winners and alternates than eligible entrants.
    #[error("cannot draw {wanted} (winners + alternates) from {eligible} eligible entrants")]
    NotEnoughEligible {
        /// Winners plus alternates asked for.
        wanted: u64,
        /// Eligible entrants.
        eligible: u64,
    },
    /// A leaf has zero tickets or the total overflows.
    #[error("invalid ticket weights: {0}")]
    BadWeights(&'static str),
    /// The picker could not produce another number.
    #[error("randomness exhausted: {0}")]
    Exhausted(String),
}

/// The seed: `SHA-256(lp("fairdraw/v1/seed") || lp(lock_hash) || lp(kind) || lp(material))`.
///
/// Binding the lock receipt's hash means the same beacon gives unrelated
/// draws for different locks.
pub fn derive_seed(lock_hash: &Hash32, kind: &str, material: &[u8]) -> Hash32 {
    let mut h = FieldHasher::new("fairdraw/v1/seed");
    h.bytes(&lock_hash.0).str(kind).bytes(material);
    h.finish()
}

/// Ticket numbers from the ChaCha20 keystream keyed by the seed.
///
/// The keystream is RFC 8439 ChaCha20 with key = seed, nonce = 0 and block
/// counter from 0, read as consecutive little-endian `u64`s (rand_chacha's
/// `ChaCha20Rng::next_u64`). Numbers are unbiased by rejection sampling.
#[derive(Debug, Clone)]
pub struct ChaChaPicker(ChaCha20Rng);

impl ChaChaPicker {
    /// The stream keyed by `seed`.
    pub fn new(seed: &Hash32) -> Self {
        ChaChaPicker(ChaCha20Rng::from_seed(seed.0))
    }

    /// The next 64-bit word of the stream.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

impl Picker for ChaChaPicker {
    fn pick(&mut self, n: u64) -> Result<u64, SelectError> {
        if n == 0 {
            return Err(SelectError::BadWeights("no tickets remain"));
        }
        // 2^64 mod n: words below 2^64 - (2^64 mod n) map evenly onto [0, n).
        let rem = (u64::MAX % n + 1) % n;
        loop {
            let x = self.next_u64();
            if rem == 0 || x <= u64::MAX - rem {
                return Ok(x % n);
            }
        }
    }
}

/// The eligible leaves' tickets as a Fenwick tree, built once at commitment.
///
/// Building is `O(n)`; a draw of `k` leaves is `O(k log n)` and leaves the
/// tree untouched (removals live in a small overlay), so one committed tree
/// serves any number of draws.
#[derive(Debug, Clone)]
pub struct TicketTree {
    /// 1-based Fenwick array; `tree[0]` is unused.
    tree: Vec<u64>,
    total: u64,
}

impl TicketTree {
    /// Builds the tree from each leaf's tickets in canonical order.
    pub fn new(tickets: impl IntoIterator<Item = u64>) -> Result<Self, SelectError> {
        let mut tree = vec![0u64];
        let mut total: u64 = 0;
        for t in tickets {
            if t == 0 {
                return Err(SelectError::BadWeights("a leaf has zero tickets"));
            }
            total = total
                .checked_add(t)
                .ok_or(SelectError::BadWeights("total tickets overflow"))?;
            tree.push(t);
        }
        let n = tree.len() - 1;
        for i in 1..=n {
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                tree[parent] += tree[i];
            }
        }
        Ok(TicketTree { tree, total })
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.tree.len() - 1
    }

    /// Whether there are no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sum of all tickets.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Draws `count` distinct leaves; returns their 0-based indices in draw order.
    pub fn draw(&self, count: u64, picker: &mut impl Picker) -> Result<Vec<u64>, SelectError> {
        let n = self.len();
        if count > n as u64 {
            return Err(SelectError::NotEnoughEligible {
                wanted: count,
                eligible: n as u64,
            });
        }
        let mut removed: HashMap<usize, u64> = HashMap::new();
        let node = |removed: &HashMap<usize, u64>, i: usize| {
            self.tree[i] - removed.get(&i).copied().unwrap_or(0)
        };
        let top = if n == 0 {
            0
        } else {
            1usize << (usize::BITS - 1 - n.leading_zeros())
        };
        let mut remaining = self.total;
        let mut picked = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let r = picker.pick(remaining)?;
            // Fenwick descent: the largest prefix whose sum is <= r.
            let (mut pos, mut rest, mut step) = (0usize, r, top);
            while step > 0 {
                let next = pos + step;
                if next <= n {
                    let v = node(&removed, next);
                    if v <= rest {
                        pos = next;
                        rest -= v;
                    }
                }
                step >>= 1;
            }
            // Leaf `pos` (0-based) owns ticket r; remove all of its tickets.
            let weight = self.point(&removed, pos);
            let mut i = pos + 1;
            while i <= n {
                *removed.entry(i).or_insert(0) += weight;
                i += i & i.wrapping_neg();
            }
            remaining -= weight;
            picked.push(pos as u64);
        }
        Ok(picked)
    }

    /// Remaining tickets of leaf `index` (0-based) given the overlay.
    fn point(&self, removed: &HashMap<usize, u64>, index: usize) -> u64 {
        let prefix = |mut i: usize| {
            let mut s = 0u64;
            while i > 0 {
                s += self.tree[i] - removed.get(&i).copied().unwrap_or(0);
                i -= i & i.wrapping_neg();
            }
            s
        };
        prefix(index + 1) - prefix(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picker replaying fixed numbers.
    struct Fixed(Vec<u64>);
    impl Picker for Fixed {
        fn pick(&mut self, n: u64) -> Result<u64, SelectError> {
            Ok(self.0.remove(0) % n)
        }
    }

    /// The definition: walk the cumulative sums of the remaining weights.
    fn naive(weights: &[u64], rs: &[u64]) -> Vec<u64> {
        let mut w = weights.to_vec();
        let mut out = vec![];
        for &r0 in rs {
            let total: u64 = w.iter().sum();
            let r = r0 % total;
            let mut acc = 0;
            for (i, x) in w.iter_mut().enumerate() {
                if *x > 0 && acc + *x > r {
                    out.push(i as u64);
                    *x = 0;
                    break;
                }
                acc += *x;
            }
        }
        out
    }

    #[test]
    fn fenwick_draw_matches_definition() {
        let weights: Vec<u64> = (0..37).map(|i| 1 + (i * 7 % 5)).collect();
        let tree = TicketTree::new(weights.iter().copied()).unwrap();
        let rs: Vec<u64> = (0..20).map(|i| i * 1_000_003 + 17).collect();
        let got = tree.draw(20, &mut Fixed(rs.clone())).unwrap();
        assert_eq!(got, naive(&weights, &rs));
    }

    #[test]
    fn chacha_stream_is_rfc8439_keystream() {
        // RFC 8439 §2.3.2 test vector 1 (key 0, nonce 0, counter 0): first 16 bytes.
        let mut p = ChaChaPicker::new(&Hash32([0; 32]));
        assert_eq!(
            p.next_u64().to_le_bytes(),
            [0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90]
        );
        assert_eq!(
            p.next_u64().to_le_bytes(),
            [0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86, 0xbd, 0x28]
        );
    }

    #[test]
    fn too_many_is_an_error() {
        let tree = TicketTree::new([1, 1]).unwrap();
        assert!(matches!(
            tree.draw(3, &mut ChaChaPicker::new(&Hash32([1; 32]))),
            Err(SelectError::NotEnoughEligible {
                wanted: 3,
                eligible: 2
            })
        ));
        assert!(TicketTree::new([1, 0]).is_err());
    }
}
