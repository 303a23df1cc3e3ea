//! Merkle proofs of the log: inclusion (RFC 9162 §2.1.3) and consistency
//! (RFC 9162 §2.1.4), over the RFC 6962 hashing of [`crate::merkle`].
//!
//! Generation takes the list of leaf hashes and recomputes subtree roots
//! (`O(n)` time, `O(log n)` extra memory); verification takes only hashes.

use super::{LogError, MAX_CONSISTENCY_HASHES, MAX_INCLUSION_HASHES};
use crate::encoding::Hash32;
use crate::merkle::{self, InclusionProof, empty_root, node_hash};

/// Checks that `leaf` is at `index` in the tree of `size` leaves with root
/// `root`, by the audit path `path` (bottom-up, RFC 9162 §2.1.3.2).
///
/// Fails with [`LogError::TooMany`] for a path longer than
/// [`MAX_INCLUSION_HASHES`] (before any hashing), with
/// [`LogError::IndexOutOfRange`] when `index >= size`, and with
/// [`LogError::InclusionProofWrong`] when the path does not lead to `root`.
pub fn verify_inclusion(
    leaf: &Hash32,
    index: u64,
    size: u64,
    path: &[Hash32],
    root: &Hash32,
) -> Result<(), LogError> {
    if path.len() > MAX_INCLUSION_HASHES {
        return Err(LogError::TooMany {
            what: "inclusion proof hashes",
            count: path.len(),
            max: MAX_INCLUSION_HASHES,
        });
    }
    if index >= size {
        return Err(LogError::IndexOutOfRange { index, size });
    }
    let proof = InclusionProof {
        leaf_index: index,
        tree_size: size,
        path: path.to_vec(),
    };
    if merkle::verify_inclusion(leaf, &proof, root) {
        Ok(())
    } else {
        Err(LogError::InclusionProofWrong { index, size })
    }
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The consistency proof from the tree of the first `old_size` leaves to
/// the tree of all `leaves` (RFC 9162 §2.1.4.1 `PROOF(m, D[n])`).
///
/// The proof is empty when `old_size` is 0 or equals the number of leaves.
/// Fails with [`LogError::IndexOutOfRange`] when `old_size` is larger than
/// the number of leaves.
pub fn consistency_proof(leaves: &[Hash32], old_size: u64) -> Result<Vec<Hash32>, LogError> {
    let n = leaves.len();
    let m =
        usize::try_from(old_size)
            .ok()
            .filter(|&m| m <= n)
            .ok_or(LogError::IndexOutOfRange {
                index: old_size,
                size: n as u64,
            })?;
    let mut proof = Vec::new();
    if m == 0 || m == n {
        return Ok(proof);
    }
    // SUBPROOF(m, D[n], b), unrolled top-down; the siblings are collected
    // top-down and reversed at the end.
    let mut slice = leaves;
    let mut m = m;
    let mut complete = true;
    loop {
        if m == slice.len() {
            if !complete {
                proof.push(merkle::root(slice));
            }
            break;
        }
        let k = split_point(slice.len());
        if m <= k {
            proof.push(merkle::root(&slice[k..]));
            slice = &slice[..k];
        } else {
            proof.push(merkle::root(&slice[..k]));
            slice = &slice[k..];
            m -= k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends
/// the tree of `old_size` leaves with root `old_root`, by the consistency
/// proof `proof` (RFC 9162 §2.1.4.2).
///
/// A tree is consistent with itself by the empty proof; the empty tree
/// (root `SHA-256("")`) is consistent with every tree by the empty proof.
/// Fails with [`LogError::TooMany`] for a proof longer than
/// [`MAX_CONSISTENCY_HASHES`] (before any hashing), and with
/// [`LogError::ConsistencyProofWrong`] naming the failed check otherwise.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash32,
    new_root: &Hash32,
    proof: &[Hash32],
) -> Result<(), LogError> {
    let wrong = |reason: &'static str| LogError::ConsistencyProofWrong {
        old_size,
        new_size,
        reason,
    };
    if proof.len() > MAX_CONSISTENCY_HASHES {
        return Err(LogError::TooMany {
            what: "consistency proof hashes",
            count: proof.len(),
            max: MAX_CONSISTENCY_HASHES,
        });
    }
    if old_size > new_size {
        return Err(wrong(
            "the old tree is larger than the new one (a rollback)",
        ));
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(wrong("a proof between trees of one size must be empty"));
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(wrong("two different roots for one tree size (a fork)"))
        };
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(wrong("a proof from the empty tree must be empty"));
        }
        return if *old_root == empty_root() {
            Ok(())
        } else {
            Err(wrong(
                "the root of the empty tree is not SHA-256 of nothing",
            ))
        };
    }
    let Some((first, rest)) = proof.split_first() else {
        return Err(wrong("the proof is empty"));
    };
    // Step 2: when old_size is a power of two, the old root is the first
    // node of the path.
    let (mut fr, mut sr, rest) = if old_size.is_power_of_two() {
        (*old_root, *old_root, proof)
    } else {
        (*first, *first, rest)
    };
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    // Step 4: drop the levels where the old tree's last node is a right
    // child of a perfect subtree.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    for c in rest {
        if sn == 0 {
            return Err(wrong("the proof is longer than the trees need"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(wrong("the proof is shorter than the trees need"));
    }
    if fr != *old_root {
        return Err(wrong("it does not lead to the old root"));
    }
    if sr != *new_root {
        return Err(wrong("it does not lead to the new root"));
    }
    Ok(())
}
