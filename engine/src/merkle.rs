//! The RFC 6962 Merkle tree over the eligible list (PROTOCOL.md §6).
//!
//! SHA-256, leaf hash `H(0x00 || data)`, node hash `H(0x01 || left || right)`,
//! and the tree shape of RFC 6962 §2.1: a tree of `n` leaves splits at the
//! largest power of two smaller than `n`.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::encoding::Hash32;

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash32 {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    Hash32(h.finalize().into())
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Hash32(h.finalize().into())
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash32 {
    Hash32(Sha256::digest([]).into())
}

/// Computes a root from leaf hashes pushed one at a time, in `O(log n)` memory.
///
/// It keeps the roots of the perfect subtrees seen so far (one per set bit of
/// the count); merging them from the right gives exactly the RFC 6962 shape.
#[derive(Debug, Clone, Default)]
pub struct RootBuilder {
    /// `(height, root)` of perfect subtrees, largest first.
    stack: Vec<(u32, Hash32)>,
    count: u64,
}

impl RootBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the next leaf hash.
    pub fn push(&mut self, leaf: Hash32) {
        let mut node = (0u32, leaf);
        while let Some(&(height, left)) = self.stack.last() {
            if height != node.0 {
                break;
            }
            self.stack.pop();
            node = (height + 1, node_hash(&left, &node.1));
        }
        self.stack.push(node);
        self.count += 1;
    }

    /// Leaves pushed so far.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether no leaf was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The root of the tree of all leaves pushed.
    pub fn root(&self) -> Hash32 {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return empty_root();
        };
        for (_, left) in iter {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// The root over a slice of leaf hashes.
pub fn root(leaves: &[Hash32]) -> Hash32 {
    let mut b = RootBuilder::new();
    leaves.iter().for_each(|l| b.push(*l));
    b.root()
}

/// An RFC 6962 audit path: the sibling hashes from the leaf up to the root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// 0-based index of the leaf.
    pub leaf_index: u64,
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// Sibling hashes, bottom-up.
    pub path: Vec<Hash32>,
}

/// Why an inclusion proof cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// The leaf index is outside the tree.
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange {
        /// Index asked for.
        index: u64,
        /// Tree size.
        size: u64,
    },
}

/// Builds the inclusion proof of `index` (RFC 6962 §2.1.1 `PATH`).
///
/// It recomputes subtree roots from the leaves, `O(n)` time and `O(log n)`
/// extra memory, so no tree of `2n` nodes is ever held.
pub fn inclusion_proof(leaves: &[Hash32], index: u64) -> Result<InclusionProof, MerkleError> {
    let size = leaves.len() as u64;
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut path = Vec::new();
    let mut slice = leaves;
    let mut m = index as usize;
    // Walk top-down, collecting siblings; reverse at the end for bottom-up.
    while slice.len() > 1 {
        let k = split_point(slice.len());
        if m < k {
            path.push(root(&slice[k..]));
            slice = &slice[..k];
        } else {
            path.push(root(&slice[..k]));
            slice = &slice[k..];
            m -= k;
        }
    }
    path.reverse();
    Ok(InclusionProof {
        leaf_index: index,
        tree_size: size,
        path,
    })
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// Checks an inclusion proof against a root (RFC 9162 §2.1.3.2).
///
/// Returns `false` for any malformed proof (index out of range, wrong path
/// length) rather than an error: a verifier only needs yes or no.
pub fn verify_inclusion(leaf: &Hash32, proof: &InclusionProof, root: &Hash32) -> bool {
    if proof.leaf_index >= proof.tree_size {
        return false;
    }
    let mut fn_ = proof.leaf_index;
    let mut sn = proof.tree_size - 1;
    let mut r = *leaf;
    for p in &proof.path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
            .collect()
    }

    /// The recursive definition of RFC 6962 §2.1, for cross-checking.
    fn mth(l: &[Hash32]) -> Hash32 {
        match l.len() {
            0 => empty_root(),
            1 => l[0],
            n => {
                let k = split_point(n);
                node_hash(&mth(&l[..k]), &mth(&l[k..]))
            }
        }
    }

    #[test]
    fn streaming_root_matches_definition() {
        for n in 0..70 {
            let l = leaves(n);
            assert_eq!(root(&l), mth(&l), "n = {n}");
        }
    }

    #[test]
    fn every_proof_verifies_and_tampering_fails() {
        for n in 1..40 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n as u64 {
                let p = inclusion_proof(&l, i).unwrap();
                assert!(verify_inclusion(&l[i as usize], &p, &r), "n={n} i={i}");
                let other = leaf_hash(b"other");
                assert!(!verify_inclusion(&other, &p, &r));
                let mut bad = p.clone();
                bad.leaf_index = (i + 1) % n as u64;
                if n > 1 {
                    assert!(!verify_inclusion(&l[i as usize], &bad, &r));
                }
                let mut short = p.clone();
                short.path.pop();
                if !p.path.is_empty() {
                    assert!(!verify_inclusion(&l[i as usize], &short, &r));
                }
            }
        }
        assert!(inclusion_proof(&leaves(3), 3).is_err());
    }
}
