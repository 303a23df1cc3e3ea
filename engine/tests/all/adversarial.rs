//! The adversarial catalogue: named attacks on a valid proof bundle, each with
//! the verification step that must catch it first.
//!
//! An **outsider** edits the bundle without the organiser's key. An
//! **operator** holds the key: after each edit it signs the receipts again
//! and, where that helps, points the execution at the doctored lock
//! (`relink`) or re-derives the seed (`reseed`). Operator attacks therefore
//! pass every signature check, and [`naive_verifier_accepts_every_operator_attack`]
//! shows that a verifier which only checks signatures would accept them all:
//! only the semantic steps catch them.
//!
//! The human-readable table is `engine/tests/adversarial/CATALOGUE.md`;
//! [`catalogue_document_matches_table`] keeps it in step with [`catalogue`].
//!
//! Unless a scenario says otherwise, the verifier pins the organiser's
//! public key but not the lock hash.

// A panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use fairdraw_engine::bundle::{ParsedBundle, Pick, Selection};
use fairdraw_engine::encoding::{Hash32, HexBytes, sha256};
use fairdraw_engine::randomness::drand;
use fairdraw_engine::randomness::{Realised, commit_reveal};
use fairdraw_engine::receipt::Signer;
use fairdraw_engine::rules::{Keywords, Rules, Window};
use fairdraw_engine::verify::{Expectations, Step, verify_bundle, verify_bundle_at_least};
use serde_json::{Value, json};

use crate::support::*;

/// Who mounts the attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attacker {
    /// Holds the signing key and re-signs what it changes.
    Operator,
    /// Has no key: edits the published bundle.
    Outsider,
}

/// The valid bundle an attack starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    Drand,
    CommitReveal,
    Rfc3797,
    SecretDrand,
    /// The drand draw with log proofs, witnessed before the round.
    LoggedDrand,
}

impl Base {
    fn bytes(self) -> Vec<u8> {
        match self {
            Base::Drand => drand_bundle(),
            Base::CommitReveal => commit_reveal_bundle(),
            Base::Rfc3797 => rfc3797_bundle(),
            Base::SecretDrand => secret_drand_bundle(),
            Base::LoggedDrand => logged_drand_bundle(),
        }
    }
}

/// What the verifier knows from outside the bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pin {
    /// The organiser's public key.
    Key,
    /// The organiser's key and the lock hash published at lock time (the
    /// base bundle's).
    KeyAndLock,
    /// The organiser's key, and protocol 2 at least (`--min-protocol 2`).
    KeyMinV2,
    /// The organiser's key and a trust policy for the test log and its
    /// witnesses (`--policy`).
    KeyAndPolicy,
}

/// One named attack.
#[derive(Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    pub attacker: Attacker,
    pub base: Base,
    pub pin: Pin,
    /// Turns the valid base bundle into the attacked one.
    pub mutate: fn(Vec<u8>) -> Vec<u8>,
    /// The first step that must fail.
    pub fails_at: Step,
}

impl Scenario {
    fn expectations(&self) -> Expectations {
        match self.pin {
            Pin::Key | Pin::KeyMinV2 => pinned_key(),
            Pin::KeyAndLock => pinned_key_and_lock(lock_hash(&to_value(&self.base.bytes()))),
            Pin::KeyAndPolicy => pinned_key_and_policy(),
        }
    }

    fn min_protocol(&self) -> u32 {
        match self.pin {
            Pin::KeyMinV2 => 2,
            _ => 1,
        }
    }

    /// Verifies the attacked bundle as this scenario's verifier would.
    fn verify(&self, bytes: &[u8]) -> fairdraw_engine::verify::Report {
        verify_bundle_at_least(bytes, &self.expectations(), self.min_protocol())
    }
}

// ------------------------------------------------------------- mutations

/// Operator: edits the execution payload and re-signs it.
fn op_exec(b: &[u8], f: impl FnOnce(&mut fairdraw_engine::bundle::ExecutionPayload)) -> Vec<u8> {
    edit(b, |v| resign_execution(v, &operator(), f))
}

/// Operator: edits the lock payload, re-signs it and re-links the execution.
fn op_lock_relinked(
    b: &[u8],
    f: impl FnOnce(&mut fairdraw_engine::bundle::LockPayload),
) -> Vec<u8> {
    edit(b, |v| {
        resign_lock(v, &operator(), f);
        relink(v, &operator());
    })
}

/// Operator: edits the lock's rules, re-signs the lock and re-links the execution.
fn op_rules(b: &[u8], f: impl FnOnce(&mut Rules)) -> Vec<u8> {
    op_lock_relinked(b, |p| f(&mut p.rules))
}

/// Operator: edits the raw collections, re-commits the lock to them,
/// re-links and re-draws the execution: a fully consistent, re-signed bundle.
fn op_entries(b: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    edit(b, |v| {
        f(v);
        recommit(v, &operator());
        redraw(v, &operator());
    })
}

/// Operator: sets one field of primary entry `index` and re-commits.
fn op_entry_field(b: &[u8], index: usize, field: &str, value: &str) -> Vec<u8> {
    op_entries(b, |v| {
        collection_mut(v, "comments")[index][field] = json!(value);
    })
}

/// Operator: re-locks the draw with other rules after seeing the
/// randomness (here: `min_followers` 16), re-commits and re-executes it
/// honestly; the lock file's log proof (of the first lock) is carried over.
fn relock(v: &mut Value) {
    resign_lock(v, &operator(), |p| p.rules.min_followers = Some(16));
    recommit(v, &operator());
    reexecute(v, &operator());
}

/// Operator: realises other RFC 3797 values and re-draws consistently
/// (key, picks, signature).
fn op_rfc3797_values(b: &[u8], values: &[&str]) -> Vec<u8> {
    edit(b, |v| {
        resign_execution(v, &operator(), |p| {
            p.randomness = Realised::Rfc3797 {
                values: values.iter().map(|s| (*s).to_owned()).collect(),
            };
        });
        redraw(v, &operator());
    })
}

/// Operator: rewrites the draw as protocol 1 (the organizer as a bare
/// handle, as protocol 1 names it), re-commits and re-draws it consistently.
fn op_as_protocol_1(b: &[u8]) -> Vec<u8> {
    edit(b, |v| {
        resign_lock(v, &operator(), |p| {
            p.protocol = 1;
            p.rules.organizer = Some("@shop".into());
        });
        resign_execution(v, &operator(), |p| p.protocol = 1);
        recommit(v, &operator());
        redraw(v, &operator());
    })
}

/// A fully valid pick of another eligible entrant, as the rules and the
/// collection give it.
fn pick_for(v: &Value, user_id: &str) -> Pick {
    let bytes = to_bytes(v);
    let parsed = ParsedBundle::parse(&bytes).unwrap();
    let t = loose_tally(&parsed);
    let (leaf, e) = t
        .evaluation
        .eligible
        .iter()
        .enumerate()
        .find(|(_, e)| e.user_id == user_id)
        .unwrap();
    let entry = fairdraw_engine::entry::deserialize_owned(
        v["collections"]["comments"][e.entry_index as usize].clone(),
    )
    .unwrap();
    Pick {
        leaf_index: leaf as u64,
        tickets: e.tickets,
        entry,
    }
}

fn flip_bit(h: &mut HexBytes) {
    h.0[7] ^= 0x10;
}

fn drand_round(r: &mut Realised, f: impl FnOnce(&mut u64)) {
    if let Realised::Drand { round, .. } = r {
        f(round);
    }
}

fn declared_round(d: &mut fairdraw_engine::randomness::Declared, f: impl FnOnce(&mut u64)) {
    if let fairdraw_engine::randomness::Declared::Drand { round, .. } = d {
        f(round);
    }
}

/// Replaces the first occurrence of `from` in the bundle text.
fn replace_once(b: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = String::from_utf8(b.to_vec()).unwrap();
    assert!(s.contains(from), "{from:?} not in bundle");
    s.replacen(from, to, 1).into_bytes()
}

/// Drops an eligible entrant who was not picked, and re-commits the lock.
fn drop_bystander_and_recommit(v: &mut Value) {
    let user = bystander(v);
    drop_user(v, &user);
    recommit(v, &operator());
}

/// A second, honest drand draw by the same organiser (another title).
fn second_drand_draw() -> Vec<u8> {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    CELL.get_or_init(|| {
        Spec {
            title: "Another giveaway".into(),
            ..Spec::drand()
        }
        .build()
    })
    .clone()
}

// --------------------------------------------------------------- the table

/// Every scenario.
pub fn catalogue() -> Vec<Scenario> {
    use Attacker::{Operator, Outsider};
    use Base::{CommitReveal, Drand, LoggedDrand, Rfc3797, SecretDrand};
    let s = |name, attacker, base, mutate, fails_at| Scenario {
        name,
        attacker,
        base,
        pin: Pin::Key,
        mutate,
        fails_at,
    };
    let pinned = |name, attacker, base, mutate, fails_at| Scenario {
        name,
        attacker,
        base,
        pin: Pin::KeyAndLock,
        mutate,
        fails_at,
    };
    let min_v2 = |name, attacker, base, mutate, fails_at| Scenario {
        name,
        attacker,
        base,
        pin: Pin::KeyMinV2,
        mutate,
        fails_at,
    };
    let logged = |name, attacker, mutate, fails_at| Scenario {
        name,
        attacker,
        base: LoggedDrand,
        pin: Pin::KeyAndPolicy,
        mutate,
        fails_at,
    };
    vec![
        // ---- operator: winners
        s(
            "op_winner_replaced",
            Operator,
            Drand,
            |b| {
                let v = to_value(&b);
                let other = pick_for(&v, &bystander(&v));
                op_exec(&b, |p| p.winners[0] = other)
            },
            Step::Winners,
        ),
        s(
            "op_winners_reordered",
            Operator,
            Drand,
            |b| op_exec(&b, |p| p.winners.swap(0, 1)),
            Step::Winners,
        ),
        s(
            "op_alternate_promoted",
            Operator,
            Drand,
            |b| {
                op_exec(&b, |p| {
                    std::mem::swap(&mut p.winners[1], &mut p.alternates[0]);
                })
            },
            Step::Winners,
        ),
        s(
            "op_winner_tickets_changed",
            Operator,
            Drand,
            |b| op_exec(&b, |p| p.winners[0].tickets += 1),
            Step::Winners,
        ),
        s(
            "op_winner_entry_edited",
            Operator,
            Drand,
            |b| {
                op_exec(&b, |p| {
                    p.winners[0].entry.text = "edited after the draw".into();
                })
            },
            Step::Winners,
        ),
        s(
            "op_winner_entry_tagged",
            Operator,
            Drand,
            |b| {
                op_exec(&b, |p| {
                    p.winners[0].entry.collection = Some("comments".into());
                })
            },
            Step::Winners,
        ),
        s(
            "op_alternate_dropped",
            Operator,
            Drand,
            |b| {
                op_exec(&b, |p| {
                    p.alternates.pop();
                })
            },
            Step::Winners,
        ),
        // ---- operator: randomness
        s(
            "op_beacon_other_round",
            Operator,
            Drand,
            |b| op_exec(&b, |p| p.randomness = beacon("default", 72_785)),
            Step::Randomness,
        ),
        s(
            "op_beacon_quicknet",
            Operator,
            Drand,
            |b| op_exec(&b, |p| p.randomness = beacon("quicknet", 123)),
            Step::Randomness,
        ),
        s(
            "op_redeclare_old_round",
            Operator,
            Drand,
            |b| {
                edit(&b, |v| {
                    resign_lock(v, &operator(), |p| {
                        declared_round(&mut p.randomness, |r| *r = 72_785)
                    });
                    resign_execution(v, &operator(), |p| p.randomness = beacon("default", 72_785));
                    relink(v, &operator());
                    reseed(v, &operator());
                })
            },
            Step::Randomness,
        ),
        s(
            "op_declare_quicknet_keep_default_beacon",
            Operator,
            Drand,
            |b| {
                op_lock_relinked(&b, |p| {
                    p.randomness = drand::chain("quicknet").unwrap().declare(1);
                })
            },
            Step::Randomness,
        ),
        s(
            "op_declare_other_round",
            Operator,
            Drand,
            |b| {
                op_lock_relinked(&b, |p| {
                    declared_round(&mut p.randomness, |r| *r += 1);
                })
            },
            Step::Randomness,
        ),
        s(
            "op_beacon_relabelled_round",
            Operator,
            Drand,
            |b| {
                edit(&b, |v| {
                    resign_lock(v, &operator(), |p| {
                        declared_round(&mut p.randomness, |r| *r += 1)
                    });
                    resign_execution(v, &operator(), |p| {
                        drand_round(&mut p.randomness, |r| *r += 1)
                    });
                    relink(v, &operator());
                })
            },
            Step::Randomness,
        ),
        s(
            "op_chain_hash_forged",
            Operator,
            Drand,
            |b| {
                op_lock_relinked(&b, |p| {
                    if let fairdraw_engine::randomness::Declared::Drand { chain_hash, .. } =
                        &mut p.randomness
                    {
                        *chain_hash = drand::chain("quicknet").unwrap().chain_hash;
                    }
                })
            },
            Step::Randomness,
        ),
        s(
            "op_beacon_signature_bit_flipped",
            Operator,
            Drand,
            |b| {
                op_exec(&b, |p| {
                    if let Realised::Drand { signature, .. } = &mut p.randomness {
                        flip_bit(signature);
                    }
                })
            },
            Step::Randomness,
        ),
        s(
            "op_beacon_randomness_forged",
            Operator,
            Drand,
            |b| {
                op_exec(&b, |p| {
                    if let Realised::Drand { randomness, .. } = &mut p.randomness {
                        *randomness = sha256(b"my favourite number");
                    }
                })
            },
            Step::Randomness,
        ),
        s(
            "op_previous_signature_dropped",
            Operator,
            Drand,
            |b| {
                op_exec(&b, |p| {
                    if let Realised::Drand {
                        previous_signature, ..
                    } = &mut p.randomness
                    {
                        *previous_signature = None;
                    }
                })
            },
            Step::Randomness,
        ),
        s(
            "op_locked_after_beacon",
            Operator,
            Drand,
            |b| {
                op_lock_relinked(&b, |p| {
                    p.locked_at = ts("2023-01-23T13:10:00Z");
                })
            },
            Step::Randomness,
        ),
        s(
            "op_executed_before_round",
            Operator,
            Drand,
            |b| {
                op_exec(&b, |p| {
                    p.executed_at = ts("2023-01-23T13:05:00Z");
                })
            },
            Step::Randomness,
        ),
        s(
            "op_randomness_kind_swapped",
            Operator,
            CommitReveal,
            |b| {
                op_exec(&b, |p| {
                    p.randomness = beacon("default", ROUND);
                })
            },
            Step::Randomness,
        ),
        s(
            "op_secret_swapped",
            Operator,
            CommitReveal,
            |b| {
                op_exec(&b, |p| {
                    p.randomness = Realised::CommitReveal {
                        secret: HexBytes(vec![8; 32]),
                    };
                })
            },
            Step::Randomness,
        ),
        s(
            "op_secret_short",
            Operator,
            CommitReveal,
            |b| {
                op_exec(&b, |p| {
                    p.randomness = Realised::CommitReveal {
                        secret: HexBytes(SECRET[..16].to_vec()),
                    };
                })
            },
            Step::Randomness,
        ),
        s(
            "op_commit_executed_before_lock",
            Operator,
            CommitReveal,
            |b| {
                op_exec(&b, |p| {
                    p.executed_at = ts("2023-01-23T12:59:59Z");
                })
            },
            Step::Randomness,
        ),
        s(
            "op_recommitted_secret_winners_kept",
            Operator,
            CommitReveal,
            |b| {
                edit(&b, |v| {
                    let other = [9u8; 32];
                    resign_lock(v, &operator(), |p| {
                        p.randomness = commit_reveal::declare(&other).unwrap()
                    });
                    resign_execution(v, &operator(), |p| {
                        p.randomness = Realised::CommitReveal {
                            secret: HexBytes(other.to_vec()),
                        };
                    });
                    relink(v, &operator());
                    reseed(v, &operator());
                })
            },
            Step::Winners,
        ),
        s(
            "op_rfc3797_values_changed",
            Operator,
            Rfc3797,
            |b| {
                op_exec(&b, |p| {
                    p.randomness = Realised::Rfc3797 {
                        values: vec![
                            "1234".into(),
                            "2 5 12 8 10".into(),
                            "9 18 26 34 41 45".into(),
                        ],
                    };
                })
            },
            Step::Seed,
        ),
        s(
            "op_rfc3797_values_and_key_changed",
            Operator,
            Rfc3797,
            |b| {
                op_exec(&b, |p| {
                    let values = vec![
                        "1234".to_owned(),
                        "2 5 12 8 10".to_owned(),
                        "9 18 26 34 41 45".to_owned(),
                    ];
                    let key = fairdraw_engine::randomness::rfc3797::key_string(&values).unwrap();
                    p.randomness = Realised::Rfc3797 { values };
                    p.selection = Selection::Rfc3797 { key };
                })
            },
            Step::Winners,
        ),
        // ---- operator: seed
        s(
            "op_seed_forged",
            Operator,
            Drand,
            |b| {
                op_exec(&b, |p| {
                    p.selection = Selection::Chacha20 {
                        seed: Hash32([0x42; 32]),
                    };
                })
            },
            Step::Seed,
        ),
        s(
            "op_selection_algorithm_swapped",
            Operator,
            Drand,
            |b| {
                op_exec(&b, |p| {
                    p.selection = Selection::Rfc3797 {
                        key: "9319./".into(),
                    };
                })
            },
            Step::Seed,
        ),
        // ---- operator: link
        s(
            "op_link_broken",
            Operator,
            Drand,
            |b| op_exec(&b, |p| p.lock_hash = Hash32([0; 32])),
            Step::Link,
        ),
        s(
            "op_receipts_spliced",
            Operator,
            Drand,
            |b| {
                edit(&b, |v| {
                    v["execution"] = to_value(&second_drand_draw())["execution"].clone();
                })
            },
            Step::Link,
        ),
        s(
            "op_execution_draw_id_changed",
            Operator,
            Drand,
            |b| op_exec(&b, |p| p.draw_id = "another-draw".into()),
            Step::Link,
        ),
        s(
            "op_execution_protocol_bumped",
            Operator,
            Drand,
            |b| op_exec(&b, |p| p.protocol = 3),
            Step::Bundle,
        ),
        // ---- operator: keys
        s(
            "op_second_key_signs_execution",
            Operator,
            Drand,
            |b| {
                edit(&b, |v| {
                    resign_execution(v, &Signer::from_secret([3; 32]), |_| {});
                })
            },
            Step::Signer,
        ),
        s(
            "op_both_receipts_unpublished_key",
            Operator,
            Drand,
            |b| {
                edit(&b, |v| {
                    let other = Signer::from_secret([3; 32]);
                    resign_lock(v, &other, |_| {});
                    relink(v, &other);
                    reseed(v, &other);
                })
            },
            Step::Signer,
        ),
        // ---- operator: rules and commitment
        s(
            "op_rules_changed_after_lock",
            Operator,
            Drand,
            |b| {
                op_lock_relinked(&b, |p| {
                    p.rules.min_followers = Some(16);
                })
            },
            Step::Rules,
        ),
        s(
            "op_rules_winner_count_changed",
            Operator,
            Drand,
            |b| op_lock_relinked(&b, |p| p.rules.winners = 3),
            Step::Rules,
        ),
        s(
            "op_lock_winner_count_changed",
            Operator,
            Drand,
            |b| op_lock_relinked(&b, |p| p.winners = 1),
            Step::Rules,
        ),
        s(
            "op_eligible_count_forged",
            Operator,
            Drand,
            |b| op_lock_relinked(&b, |p| p.eligible += 1),
            Step::Rules,
        ),
        s(
            "op_total_tickets_forged",
            Operator,
            Drand,
            |b| op_lock_relinked(&b, |p| p.total_tickets += 3),
            Step::Rules,
        ),
        s(
            "op_merkle_root_forged",
            Operator,
            Drand,
            |b| op_lock_relinked(&b, |p| p.merkle_root = Hash32([0xab; 32])),
            Step::Commitment,
        ),
        s(
            "op_collection_hash_forged",
            Operator,
            Drand,
            |b| {
                op_lock_relinked(&b, |p| {
                    p.collections.get_mut("likes").unwrap().sha256 = Hash32([0xcd; 32]);
                })
            },
            Step::Collections,
        ),
        s(
            "op_collection_count_forged",
            Operator,
            Drand,
            |b| {
                op_lock_relinked(&b, |p| {
                    p.collections.get_mut("comments").unwrap().entries += 1;
                })
            },
            Step::Collections,
        ),
        // ---- operator: re-locking a different entrant list
        s(
            "op_entrant_dropped_recommitted_winners_kept",
            Operator,
            Drand,
            |b| {
                edit(&b, |v| {
                    drop_bystander_and_recommit(v);
                    relink(v, &operator());
                })
            },
            Step::Seed,
        ),
        s(
            "op_entrant_dropped_recommitted_reseeded",
            Operator,
            Drand,
            |b| {
                edit(&b, |v| {
                    drop_bystander_and_recommit(v);
                    relink(v, &operator());
                    reseed(v, &operator());
                })
            },
            Step::Winners,
        ),
        pinned(
            "op_entrant_dropped_fully_redrawn",
            Operator,
            Drand,
            |b| {
                edit(&b, |v| {
                    drop_bystander_and_recommit(v);
                    reexecute(v, &operator());
                })
            },
            Step::Link,
        ),
        pinned(
            "op_rules_changed_fully_redrawn",
            Operator,
            CommitReveal,
            |b| {
                edit(&b, |v| {
                    resign_lock(v, &operator(), |p| p.rules.min_followers = Some(16));
                    recommit(v, &operator());
                    reexecute(v, &operator());
                })
            },
            Step::Link,
        ),
        // ---- outsider: signatures
        s(
            "out_winner_changed",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    v["execution"]["payload"]["winners"][0]["leaf_index"] = json!(5);
                })
            },
            Step::ExecutionSignature,
        ),
        s(
            "out_rule_edited",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    v["lock"]["payload"]["rules"]["min_followers"] = json!(1);
                })
            },
            Step::LockSignature,
        ),
        s(
            "out_beacon_bit_flipped",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    let sig = v["execution"]["payload"]["randomness"]["signature"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    let flipped = if sig.starts_with('8') {
                        sig.replacen('8', "9", 1)
                    } else {
                        sig.replacen(&sig[..1], "8", 1)
                    };
                    v["execution"]["payload"]["randomness"]["signature"] = json!(flipped);
                })
            },
            Step::ExecutionSignature,
        ),
        s(
            "out_relinked_without_key",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    v["execution"]["payload"]["lock_hash"] = json!("00".repeat(32));
                })
            },
            Step::ExecutionSignature,
        ),
        s(
            "out_key_id_mismatch",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    v["lock"]["key_id"] = json!(sha256(b"someone").to_hex());
                })
            },
            Step::LockSignature,
        ),
        s(
            "out_public_key_swapped",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    let o = outsider();
                    v["lock"]["public_key"] = json!(hex::encode(o.public_key()));
                    v["lock"]["key_id"] = json!(o.key_id().to_hex());
                })
            },
            Step::LockSignature,
        ),
        s(
            "out_signatures_swapped",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    v["execution"]["signature"] = v["lock"]["signature"].clone();
                })
            },
            Step::ExecutionSignature,
        ),
        s(
            "out_small_order_key_forgery",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    // The identity point as public key and (R = identity, s = 0) as
                    // signature satisfy the cofactorless equation for any message;
                    // only `verify_strict` refuses the weak key.
                    let mut identity = [0u8; 32];
                    identity[0] = 1;
                    let mut sig = [0u8; 64];
                    sig[0] = 1;
                    v["execution"]["public_key"] = json!(hex::encode(identity));
                    v["execution"]["key_id"] = json!(sha256(&identity).to_hex());
                    v["execution"]["signature"] = json!(hex::encode(sig));
                    v["execution"]["payload"]["winners"][0]["leaf_index"] = json!(5);
                })
            },
            Step::ExecutionSignature,
        ),
        s(
            "out_forged_with_own_key",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    let o = outsider();
                    resign_lock(v, &o, |_| {});
                    relink(v, &o);
                    reseed(v, &o);
                })
            },
            Step::Signer,
        ),
        // ---- outsider: collections
        s(
            "out_entry_removed",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    collection_mut(v, "likes").remove(0);
                })
            },
            Step::Collections,
        ),
        s(
            "out_entry_added",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    let c = collection_mut(v, "comments");
                    let mut e = c[0].clone();
                    e["user_id"] = json!("u99");
                    e["handle"] = json!("@sneaky");
                    c.push(e);
                })
            },
            Step::Collections,
        ),
        s(
            "out_entries_reordered",
            Outsider,
            Drand,
            |b| edit(&b, |v| collection_mut(v, "comments").swap(0, 1)),
            Step::Collections,
        ),
        s(
            "out_entry_text_edited",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    collection_mut(v, "comments")[2]["text"] = json!("#win now");
                })
            },
            Step::Collections,
        ),
        s(
            "out_collection_dropped",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    v["collections"].as_object_mut().unwrap().remove("likes");
                })
            },
            Step::Collections,
        ),
        s(
            "out_collection_added",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    v["collections"]["follows"] = v["collections"]["likes"].clone();
                })
            },
            Step::Collections,
        ),
        s(
            "out_entry_unknown_field",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    collection_mut(v, "likes")[0]["verified"] = json!(true);
                })
            },
            Step::Collections,
        ),
        // ---- outsider: format
        s(
            "out_truncated_json",
            Outsider,
            Drand,
            |b| b[..b.len() / 2].to_vec(),
            Step::Bundle,
        ),
        s(
            "out_empty_file",
            Outsider,
            Drand,
            |_| Vec::new(),
            Step::Bundle,
        ),
        s(
            "out_trailing_garbage",
            Outsider,
            Drand,
            |mut b| {
                b.extend_from_slice(b"\n{}");
                b
            },
            Step::Bundle,
        ),
        s(
            "out_unknown_top_level_field",
            Outsider,
            Drand,
            |b| edit(&b, |v| v["signed_by_notary"] = json!(true)),
            Step::Bundle,
        ),
        s(
            "out_unknown_payload_field",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    v["execution"]["payload"]["note"] = json!("congrats");
                })
            },
            Step::Bundle,
        ),
        s(
            "out_duplicate_top_level_key",
            Outsider,
            Drand,
            |b| {
                replace_once(
                    &b,
                    "\"fairdraw_bundle\": 1,",
                    "\"fairdraw_bundle\": 1,\n  \"fairdraw_bundle\": 1,",
                )
            },
            Step::Bundle,
        ),
        s(
            "out_format_version_bumped",
            Outsider,
            Drand,
            |b| edit(&b, |v| v["fairdraw_bundle"] = json!(2)),
            Step::Bundle,
        ),
        s(
            "out_lock_protocol_bumped",
            Outsider,
            Drand,
            |b| edit(&b, |v| v["lock"]["payload"]["protocol"] = json!(3)),
            Step::Bundle,
        ),
        s(
            "out_uppercase_hex_signature",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    let up = v["lock"]["signature"].as_str().unwrap().to_uppercase();
                    v["lock"]["signature"] = json!(up);
                })
            },
            Step::Bundle,
        ),
        s(
            "out_uppercase_hex_merkle_root",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    let up = v["lock"]["payload"]["merkle_root"]
                        .as_str()
                        .unwrap()
                        .to_uppercase();
                    v["lock"]["payload"]["merkle_root"] = json!(up);
                })
            },
            Step::Bundle,
        ),
        s(
            "out_non_canonical_timestamp",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    v["lock"]["payload"]["locked_at"] = json!("2023-01-23T14:00:00+01:00");
                })
            },
            Step::Bundle,
        ),
        s(
            "out_execution_removed",
            Outsider,
            Drand,
            |b| {
                edit(&b, |v| {
                    v.as_object_mut().unwrap().remove("execution");
                })
            },
            Step::Bundle,
        ),
        // ---- protocol 2: versions
        min_v2(
            "op_downgrade_to_protocol_1",
            Operator,
            Drand,
            |b| op_as_protocol_1(&b),
            Step::Bundle,
        ),
        s(
            "op_execution_protocol_1_under_v2_lock",
            Operator,
            Drand,
            |b| op_exec(&b, |p| p.protocol = 1),
            Step::Bundle,
        ),
        s(
            "op_secret_drand_as_protocol_1",
            Operator,
            SecretDrand,
            |b| op_as_protocol_1(&b),
            Step::Bundle,
        ),
        // ---- protocol 2: invisible and look-alike strings
        s(
            "op_title_zero_width_space",
            Operator,
            Drand,
            |b| op_lock_relinked(&b, |p| p.title.push('\u{200B}')),
            Step::Bundle,
        ),
        s(
            "op_title_not_nfkc",
            Operator,
            Drand,
            |b| op_lock_relinked(&b, |p| p.title = "\u{FF27}iveaway".into()),
            Step::Bundle,
        ),
        s(
            "op_keyword_cyrillic_lookalike",
            Operator,
            Drand,
            |b| {
                op_rules(&b, |r| {
                    r.keywords = Some(Keywords {
                        any: vec!["#w\u{0456}n".into()],
                        all: vec![],
                    })
                })
            },
            Step::Rules,
        ),
        s(
            "op_keyword_word_joiner",
            Operator,
            Drand,
            |b| {
                op_rules(&b, |r| {
                    r.keywords = Some(Keywords {
                        any: vec!["#win\u{2060}".into()],
                        all: vec![],
                    })
                })
            },
            Step::Rules,
        ),
        s(
            "op_keyword_fullwidth",
            Operator,
            Drand,
            |b| {
                op_rules(&b, |r| {
                    r.keywords = Some(Keywords {
                        any: vec!["\u{FF03}\u{FF57}\u{FF49}\u{FF4E}".into()],
                        all: vec![],
                    })
                })
            },
            Step::Rules,
        ),
        s(
            "op_organizer_bidi_control",
            Operator,
            Drand,
            |b| op_rules(&b, |r| r.organizer = Some("@sh\u{202E}op".into())),
            Step::Rules,
        ),
        s(
            "op_exclude_users_zero_width",
            Operator,
            Drand,
            |b| op_rules(&b, |r| r.exclude_users = vec!["@c\u{200B}id".into()]),
            Step::Rules,
        ),
        s(
            "op_exclude_users_bare_handle",
            Operator,
            Drand,
            |b| op_rules(&b, |r| r.exclude_users = vec!["@cid".into()]),
            Step::Rules,
        ),
        s(
            "op_organizer_on_every_platform",
            Operator,
            Drand,
            |b| op_rules(&b, |r| r.organizer = Some("@shop".into())),
            Step::Rules,
        ),
        // ---- protocol 2: one account, one spelling
        s(
            "op_platform_spelled_twice",
            Operator,
            Drand,
            |b| op_entry_field(&b, 3, "platform", "YouTube"),
            Step::Collections,
        ),
        s(
            "op_platform_zero_width",
            Operator,
            Drand,
            |b| op_entry_field(&b, 3, "platform", "youtube\u{200B}"),
            Step::Collections,
        ),
        s(
            "op_user_id_zero_width",
            Operator,
            Drand,
            |b| op_entry_field(&b, 9, "user_id", "u1\u{200B}"),
            Step::Collections,
        ),
        s(
            "op_user_id_trailing_space",
            Operator,
            Drand,
            |b| op_entry_field(&b, 9, "user_id", "u1 "),
            Step::Collections,
        ),
        s(
            "op_collection_name_uppercase",
            Operator,
            Drand,
            |b| {
                op_entries(&b, |v| {
                    let like = v["collections"]["likes"][0].clone();
                    v["collections"]["Follows"] = json!([like]);
                })
            },
            Step::Collections,
        ),
        // ---- protocol 2: times
        s(
            "op_entry_after_lock",
            Operator,
            Drand,
            |b| op_entry_field(&b, 10, "created_at", "2023-01-23T13:00:01Z"),
            Step::Collections,
        ),
        s(
            "op_account_created_after_lock",
            Operator,
            Drand,
            |b| op_entry_field(&b, 10, "account_created_at", "2023-02-01T00:00:00Z"),
            Step::Collections,
        ),
        s(
            "op_entry_time_underscore",
            Operator,
            Drand,
            |b| op_entry_field(&b, 10, "created_at", "2023-01-15_10:10:00Z"),
            Step::Collections,
        ),
        s(
            "op_entry_time_ten_fraction_digits",
            Operator,
            Drand,
            |b| op_entry_field(&b, 10, "created_at", "2023-01-15T10:10:00.0000000001Z"),
            Step::Collections,
        ),
        s(
            "op_window_closes_after_lock",
            Operator,
            Drand,
            |b| {
                op_rules(&b, |r| {
                    r.window = Some(Window {
                        from: None,
                        until: Some("2023-01-24T00:00:00Z".into()),
                    })
                })
            },
            Step::Rules,
        ),
        s(
            "op_locked_in_2150",
            Operator,
            CommitReveal,
            |b| {
                edit(&b, |v| {
                    resign_lock(v, &operator(), |p| p.locked_at = ts("2150-01-01T00:00:00Z"));
                    resign_execution(v, &operator(), |p| {
                        p.executed_at = ts("2150-01-01T00:00:00Z")
                    });
                    redraw(v, &operator());
                })
            },
            Step::Bundle,
        ),
        s(
            "op_zero_eligible_locked",
            Operator,
            Drand,
            |b| {
                edit(&b, |v| {
                    resign_lock(v, &operator(), |p| p.rules.min_followers = Some(1_000_000));
                    recommit(v, &operator());
                    relink(v, &operator());
                })
            },
            Step::Rules,
        ),
        // ---- caps: hostile sizes are refused before any work
        s(
            "op_keywords_over_cap",
            Operator,
            Drand,
            |b| {
                op_rules(&b, |r| {
                    r.keywords = Some(Keywords {
                        any: (0..65).map(|i| format!("#k{i}")).collect(),
                        all: vec![],
                    })
                })
            },
            Step::Bundle,
        ),
        s(
            "op_exclude_users_over_cap",
            Operator,
            Drand,
            |b| {
                op_rules(&b, |r| {
                    r.exclude_users = (0..10_001).map(|i| format!("@x{i}")).collect()
                })
            },
            Step::Bundle,
        ),
        s(
            "op_too_many_collections",
            Operator,
            Drand,
            |b| {
                op_entries(&b, |v| {
                    for i in 0..31 {
                        v["collections"][format!("extra{i}")] = json!([]);
                    }
                })
            },
            Step::Bundle,
        ),
        s(
            "op_rfc3797_sources_over_cap",
            Operator,
            Rfc3797,
            |b| {
                op_lock_relinked(&b, |p| {
                    if let fairdraw_engine::randomness::Declared::Rfc3797 { sources, .. } =
                        &mut p.randomness
                    {
                        *sources = "x".repeat(1001);
                    }
                })
            },
            Step::Bundle,
        ),
        s(
            "op_rfc3797_value_over_cap",
            Operator,
            Rfc3797,
            |b| {
                op_exec(&b, |p| {
                    p.randomness = Realised::Rfc3797 {
                        values: vec!["7 ".repeat(600), "1".into(), "2".into()],
                    }
                })
            },
            Step::Bundle,
        ),
        // ---- secret+drand
        s(
            "op_secret_drand_secret_swapped",
            Operator,
            SecretDrand,
            |b| {
                op_exec(&b, |p| {
                    if let Realised::SecretDrand { secret, .. } = &mut p.randomness {
                        secret.0 = vec![9; 32];
                    }
                })
            },
            Step::Randomness,
        ),
        s(
            "op_secret_drand_beacon_swapped",
            Operator,
            SecretDrand,
            |b| {
                op_exec(&b, |p| {
                    p.randomness =
                        Realised::secret_drand(&SECRET, beacon("default", 72_785)).unwrap()
                })
            },
            Step::Randomness,
        ),
        s(
            "op_secret_drand_seed_from_beacon_alone",
            Operator,
            SecretDrand,
            |b| {
                let lock = lock_hash(&to_value(&b));
                op_exec(&b, |p| {
                    if let Realised::SecretDrand { randomness, .. } = &p.randomness {
                        p.selection = Selection::Chacha20 {
                            seed: fairdraw_engine::select::derive_seed(
                                &lock,
                                "drand",
                                &randomness.0,
                            ),
                        };
                    }
                })
            },
            Step::Seed,
        ),
        // ---- protocol 2: one spelling of a lottery result
        s(
            "op_rfc3797_bonus_ball_added",
            Operator,
            Rfc3797,
            |b| op_rfc3797_values(&b, &["9319", "2 5 12 8 10 33", "9 18 26 34 41 45"]),
            Step::Randomness,
        ),
        s(
            "op_rfc3797_sources_merged",
            Operator,
            Rfc3797,
            |b| op_rfc3797_values(&b, &["9319", "2 5 12 8 10 9 18 26 34 41 45"]),
            Step::Randomness,
        ),
        s(
            "op_rfc3797_value_out_of_range",
            Operator,
            Rfc3797,
            |b| op_rfc3797_values(&b, &["9319", "2 5 12 8 50", "9 18 26 34 41 45"]),
            Step::Randomness,
        ),
        s(
            "op_rfc3797_lock_without_shapes",
            Operator,
            Rfc3797,
            |b| {
                edit(&b, |v| {
                    resign_lock(v, &operator(), |p| {
                        if let fairdraw_engine::randomness::Declared::Rfc3797 { shapes, .. } =
                            &mut p.randomness
                        {
                            shapes.clear();
                        }
                    });
                    redraw(v, &operator());
                })
            },
            Step::Randomness,
        ),
        // ---- the transparency log (a trust policy pinned)
        logged(
            "op_relock_unlogged",
            Operator,
            |b| {
                edit(&b, |v| {
                    relock(v);
                    v.as_object_mut().unwrap().remove("log");
                })
            },
            Step::Log,
        ),
        logged(
            "op_relock_keeps_old_log_proof",
            Operator,
            |b| edit(&b, relock),
            Step::Log,
        ),
        logged(
            "op_lock_backdated_witnessed_after_round",
            Operator,
            |b| {
                edit(&b, |v| {
                    relock(v);
                    log_receipts(v, round_time() + 5, &[1, 2]);
                })
            },
            Step::Log,
        ),
        logged(
            "op_log_fork_for_one_verifier",
            Operator,
            |b| {
                edit(&b, |v| {
                    relock(v);
                    log_receipts(v, round_time() - 60, &[]);
                })
            },
            Step::Log,
        ),
        logged(
            "op_cosigned_by_witness_not_in_policy",
            Operator,
            |b| {
                edit(&b, |v| {
                    relock(v);
                    log_receipts(v, round_time() - 60, &[1, 3]);
                })
            },
            Step::Log,
        ),
        logged(
            "out_log_signature_forged",
            Outsider,
            |b| {
                edit(&b, |v| {
                    // One character in the middle of the log's signature.
                    let proof = v["log"]["lock"].as_str().unwrap().to_owned();
                    let at = proof.find(&format!("\u{2014} {LOG_ORIGIN} ")).unwrap()
                        + LOG_ORIGIN.len()
                        + 20;
                    let c = if &proof[at..=at] == "A" { "B" } else { "A" };
                    v["log"]["lock"] = format!("{}{c}{}", &proof[..at], &proof[at + 1..]).into();
                })
            },
            Step::Log,
        ),
    ]
}

/// The attacked bundle of every scenario, built once.
fn attacked() -> &'static [(Scenario, Vec<u8>)] {
    static CELL: OnceLock<Vec<(Scenario, Vec<u8>)>> = OnceLock::new();
    CELL.get_or_init(|| {
        let table = catalogue();
        // Two threads: half the drand scenarios verify a BLS signature each
        // while being built, which is slow in a debug build.
        let (a, b) = table.split_at(table.len() / 2);
        let build = |part: &[Scenario]| {
            part.iter()
                .map(|s| (*s, (s.mutate)(s.base.bytes())))
                .collect::<Vec<_>>()
        };
        std::thread::scope(|scope| {
            let h = scope.spawn(|| build(b));
            let mut out = build(a);
            out.extend(h.join().unwrap());
            out
        })
    })
}

// ------------------------------------------------------------------ tests

#[test]
fn bases_verify() {
    for base in [
        Base::Drand,
        Base::CommitReveal,
        Base::Rfc3797,
        Base::SecretDrand,
        Base::LoggedDrand,
    ] {
        let r = verify(&base.bytes());
        assert!(r.verified(), "{base:?}: {:?}", r.first_failure());
        assert_eq!(r.winners.len(), 2);
        assert_eq!(r.alternates.len(), 2);
    }
}

/// A logged draw verified with the trust policy is attributed and logged,
/// and says when the witnesses saw the lock; without the policy the log
/// proof is only checked against itself, with a warning; with nothing
/// pinned the draw is self-consistent only.
#[test]
fn logged_draw_reports_what_it_establishes() {
    use fairdraw_engine::verify::Assurance;
    let logged = logged_drand_bundle();
    let locked_at = lock_payload(&to_value(&logged)).locked_at;
    let r = verify_bundle(&logged, &pinned_key_and_policy());
    assert!(r.verified(), "{:?}", r.first_failure());
    assert_eq!(r.assurance, [Assurance::Attributed, Assurance::Logged]);
    assert_eq!(
        r.lock_witnessed_at.map(|t| t.unix()),
        Some(locked_at.unix() + 30)
    );
    let detail = &r.step(Step::Log).unwrap().detail;
    assert!(
        detail.contains("the lock receipt is entry 3 of log \"log.test/fairdraw\""),
        "{detail}"
    );
    assert!(
        detail.contains("the execution receipt is entry 4"),
        "{detail}"
    );

    let r = verify_bundle(&logged, &pinned_key());
    assert!(r.verified());
    assert_eq!(r.assurance, [Assurance::Attributed]);
    assert!(
        r.warnings.iter().any(|w| w.contains("no trust policy")),
        "{:?}",
        r.warnings
    );

    let r = verify_bundle(&logged, &Expectations::default());
    assert_eq!(r.assurance, [Assurance::SelfConsistentOnly]);

    // An unlogged draw under a policy fails at `log`, and a failed draw
    // establishes nothing.
    let r = verify_bundle(&drand_bundle(), &pinned_key_and_policy());
    assert_eq!(r.first_failure().map(|f| f.step), Some(Step::Log));
    assert!(r.assurance.is_empty());
}

/// The bound is strict: a lock first witnessed at the round's own time may
/// have been made with the beacon in hand.
#[test]
fn lock_witnessed_at_the_round_time_is_refused() {
    let at_round = edit(&drand_bundle(), |v| log_receipts(v, round_time(), &[1, 2]));
    let r = verify_bundle(&at_round, &pinned_key_and_policy());
    let f = r.first_failure().unwrap();
    assert_eq!(f.step, Step::Log);
    assert!(
        f.detail.contains("not before drand round 2634945"),
        "{}",
        f.detail
    );
    let before = edit(&drand_bundle(), |v| {
        log_receipts(v, round_time() - 1, &[1, 2])
    });
    assert!(verify_bundle(&before, &pinned_key_and_policy()).verified());
}

#[test]
fn catalogue_is_large_and_mostly_operator() {
    let table = catalogue();
    let names: BTreeSet<_> = table.iter().map(|s| s.name).collect();
    assert_eq!(names.len(), table.len(), "scenario names are unique");
    assert!(table.len() >= 25);
    let operator = table
        .iter()
        .filter(|s| s.attacker == Attacker::Operator)
        .count();
    assert!(
        2 * operator >= table.len(),
        "{operator} of {} are operator attacks",
        table.len()
    );
    for s in &table {
        let prefix = if s.attacker == Attacker::Operator {
            "op_"
        } else {
            "out_"
        };
        assert!(
            s.name.starts_with(prefix),
            "{}: name says who attacks",
            s.name
        );
    }
}

#[test]
fn every_scenario_fails_at_its_step() {
    let scenarios = attacked();
    let (a, b) = scenarios.split_at(scenarios.len() / 2);
    let check = |part: &[(Scenario, Vec<u8>)]| {
        part.iter()
            .filter_map(|(s, bytes)| {
                let report = s.verify(bytes);
                let got = report.first_failure().map(|f| (f.step, f.detail.clone()));
                match got {
                    Some((step, _)) if step == s.fails_at && !report.verified() => None,
                    other => Some(format!(
                        "{}: expected failure at `{}`, got {other:?}",
                        s.name, s.fails_at
                    )),
                }
            })
            .collect::<Vec<_>>()
    };
    let wrong = std::thread::scope(|scope| {
        let h = scope.spawn(|| check(b));
        let mut wrong = check(a);
        wrong.extend(h.join().unwrap());
        wrong
    });
    assert!(
        wrong.is_empty(),
        "{} scenario(s) misbehave:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// A verifier that only checks both receipts' Ed25519 signatures.
fn naive_verify(bytes: &[u8]) -> bool {
    let Ok(bundle) = ParsedBundle::parse(bytes) else {
        return false;
    };
    let Some(execution) = &bundle.execution else {
        return false;
    };
    bundle.lock.verify().is_ok() && execution.verify().is_ok()
}

#[test]
fn naive_verifier_accepts_every_operator_attack() {
    let rejected: Vec<_> = attacked()
        .iter()
        .filter(|(s, bytes)| s.attacker == Attacker::Operator && !naive_verify(bytes))
        .map(|(s, _)| s.name)
        .collect();
    assert!(
        rejected.is_empty(),
        "signatures alone already reject {rejected:?}"
    );
}

/// Without the lock hash published at lock time, a bundle whose operator
/// re-locked a different entrant list and re-drew honestly is
/// indistinguishable from an honest one: every step passes. The pinned
/// variant of the same bundle is `op_entrant_dropped_fully_redrawn`.
#[test]
fn consistent_relock_needs_the_published_lock_hash() {
    let (s, bytes) = attacked()
        .iter()
        .find(|(s, _)| s.name == "op_entrant_dropped_fully_redrawn")
        .unwrap();
    assert!(verify(bytes).verified(), "the bundle alone cannot tell");
    let pinned = verify_bundle(bytes, &s.expectations());
    assert_eq!(pinned.first_failure().map(|f| f.step), Some(Step::Link));
    // And the honest bundle passes with the pin.
    let honest = s.base.bytes();
    assert!(verify_bundle(&honest, &s.expectations()).verified());
}

/// Likewise the organiser's public key: without it, an outsider who signs
/// a whole new bundle with its own key passes.
#[test]
fn own_key_forgery_needs_the_published_key() {
    let (_, bytes) = attacked()
        .iter()
        .find(|(s, _)| s.name == "out_forged_with_own_key")
        .unwrap();
    assert!(verify_bundle(bytes, &Expectations::default()).verified());
}

#[test]
fn catalogue_document_matches_table() {
    let doc = include_str!("../adversarial/CATALOGUE.md");
    let rows: Vec<Vec<&str>> = doc
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    let table = catalogue();
    assert_eq!(rows.len(), table.len(), "one row per scenario");
    for (row, s) in rows.iter().zip(&table) {
        assert_eq!(row[0], format!("`{}`", s.name));
        assert_eq!(
            row[1],
            format!("{:?}", s.attacker).to_lowercase(),
            "{}",
            s.name
        );
        assert_eq!(row[3], format!("`{}`", s.fails_at), "{}", s.name);
    }
}

// ------------------------------------------------- limits of verification

/// RFC 3797 values are checked only for form: the verifier cannot know what
/// the named lotteries drew. An operator who swaps the values after the
/// fact and re-draws honestly changes only the execution receipt, so the
/// lock hash, even when pinned, still matches. The report says so, and a
/// human must compare the values with the sources named in the lock.
#[test]
fn rfc3797_values_are_only_checked_by_a_human() {
    let honest = rfc3797_bundle();
    let pins = pinned_key_and_lock(lock_hash(&to_value(&honest)));
    let swapped = edit(&honest, |v| {
        resign_execution(v, &operator(), |p| {
            p.randomness = Realised::Rfc3797 {
                values: vec![
                    "1234".into(),
                    "2 5 12 8 10".into(),
                    "9 18 26 34 41 45".into(),
                ],
            };
        });
        redraw(v, &operator());
    });
    let report = verify_bundle(&swapped, &pins);
    assert!(report.verified());
    assert_ne!(
        picked_users(&to_value(&swapped)),
        picked_users(&to_value(&honest))
    );
    assert!(
        report
            .step(Step::Randomness)
            .unwrap()
            .detail
            .contains("check by hand")
    );
}

// ------------------------------------------- weaknesses found (engine bugs)
//
// Each test states what the engine should do and is ignored until it does;
// run them with `cargo test -p fairdraw-engine --test all -- --ignored`.

/// JCS writes every number as an IEEE double, so an integer above 2^53 − 1
/// would be signed rounded: the signature would not bind it exactly. Such
/// rules are refused at lock time, and a bundle carrying such an integer in
/// a receipt is refused outright (regression: an outsider changed a signed
/// `min_followers` from 2^53 to 2^53 + 1 and the bundle still verified).
#[test]
fn integers_above_2_pow_53_are_refused() {
    let mut spec = Spec::commit_reveal();
    spec.rules.min_followers = Some(1 << 53);
    assert!(
        spec.rules.validate().is_err(),
        "rules with 2^53 must be refused"
    );

    let mut spec = Spec::commit_reveal();
    spec.rules.min_followers = Some((1 << 53) - 1);
    for entries in spec.collections.values_mut() {
        for e in entries.iter_mut() {
            e.followers = Some((1 << 53) - 1);
        }
    }
    let honest = spec.build();
    assert!(verify(&honest).verified());
    let tampered = edit(&honest, |v| {
        v["lock"]["payload"]["rules"]["min_followers"] = json!((1u64 << 53) + 1)
    });
    let report = verify(&tampered);
    assert_eq!(
        report.first_failure().map(|f| f.step),
        Some(Step::Bundle),
        "{report:#?}"
    );
}

/// A JSON object with a duplicated key parses last-one-wins into the
/// payload's map, and the signature is checked over the re-serialised map.
/// So an outsider can add a bogus `"comments"` commitment before the real
/// one inside the *signed* lock payload and the bundle still verifies: what
/// the file shows is not what was signed, and a first-wins reader (some
/// streaming parsers, a human) sees the bogus numbers. Fix: refuse
/// duplicate keys in `collections` maps (receipt and bundle).
#[test]
fn weakness_duplicate_key_in_signed_collections_map() {
    let honest = String::from_utf8(drand_bundle()).unwrap();
    let needle = "\"collections\": {";
    let at = honest.find(needle).unwrap() + needle.len();
    let bogus = format!(
        "\n        \"comments\": {{\"entries\": 999, \"sha256\": \"{}\"}},",
        "00".repeat(32)
    );
    let tampered = format!("{}{bogus}{}", &honest[..at], &honest[at..]);
    assert!(
        !verify(tampered.as_bytes()).verified(),
        "a duplicate key inside the signed lock payload verifies"
    );
}

/// The same for the bundle's raw collections: a first `"comments": []`
/// before the real one is ignored by the verifier; a viewer that takes the
/// first shows no entrants at all for a bundle that verifies.
#[test]
fn weakness_duplicate_collection_in_bundle() {
    let honest = String::from_utf8(drand_bundle()).unwrap();
    let needle = "\"collections\": {";
    let at = honest.rfind(needle).unwrap() + needle.len();
    let tampered = format!("{}\n    \"comments\": [],{}", &honest[..at], &honest[at..]);
    assert!(
        !verify(tampered.as_bytes()).verified(),
        "a duplicate collection verifies"
    );
}

/// `draw::lock` refuses a draw id outside 1–64 characters of `[A-Za-z0-9_-]`
/// and a title over 200 characters, but `verify_bundle` does not check
/// them: an operator signs an empty draw id and a 5,000-character title of
/// right-to-left overrides (display spoofing in the widget), and the bundle
/// verifies. Fix: run the same checks in the bundle step.
#[test]
fn weakness_verify_accepts_what_lock_refuses() {
    let tampered = edit(&commit_reveal_bundle(), |v| {
        resign_lock(v, &operator(), |p| {
            p.draw_id = String::new();
            p.title = "\u{202e}x".repeat(5000);
        });
        resign_execution(v, &operator(), |p| p.draw_id = String::new());
        redraw(v, &operator());
    });
    let report = verify(&tampered);
    assert_eq!(report.first_failure().map(|f| f.step), Some(Step::Bundle));
}

// ------------------------------------------------- protocol 2: what verify says

/// A protocol 1 rewrite of a protocol 2 draw verifies (protocol 1 bundles
/// keep verifying), but the report says it lacks the protocol 2 checks and
/// a verifier asking for protocol 2 refuses it.
#[test]
fn downgrade_needs_min_protocol() {
    let (s, bytes) = attacked()
        .iter()
        .find(|(s, _)| s.name == "op_downgrade_to_protocol_1")
        .unwrap();
    let loose = verify(bytes);
    assert!(loose.verified(), "{:?}", loose.first_failure());
    assert_eq!(loose.protocol, Some(1));
    assert!(
        loose
            .warnings
            .iter()
            .any(|w| w.contains("lacks the checks of protocol 2")),
        "{:?}",
        loose.warnings
    );
    let strict = s.verify(bytes);
    assert_eq!(strict.first_failure().map(|f| f.step), Some(Step::Bundle));
    assert!(strict.first_failure().unwrap().detail.contains("minimum"));
}

/// An organiser who re-draws a commit-reveal draw until a friend wins
/// produces a bundle that verifies; the report cannot catch it, so it
/// states the trust the draw needed, in words and in JSON.
#[test]
fn rigged_commit_reveal_states_the_trust_it_needed() {
    use fairdraw_engine::randomness::Trust;
    for (bytes, trust) in [
        (commit_reveal_bundle(), Trust::OrganiserTrusted),
        (rfc3797_bundle(), Trust::OrganiserTrusted),
        (drand_bundle(), Trust::NoOrganiserTrust),
        (secret_drand_bundle(), Trust::NoOrganiserTrust),
    ] {
        let report = verify(&bytes);
        assert!(report.verified());
        assert_eq!(report.randomness_trust, Some(trust));
        let json = serde_json::to_value(&report).unwrap();
        let expected = serde_json::to_value(trust).unwrap();
        assert_eq!(json["randomness_trust"], expected);
        let warned = report
            .warnings
            .iter()
            .any(|w| w.contains("organiser-trusted"));
        assert_eq!(
            warned,
            trust == Trust::OrganiserTrusted,
            "{:?}",
            report.warnings
        );
    }
}

/// Without the published lock hash the report says it cannot tell when
/// the draw was locked; without the key, that anyone could have signed.
#[test]
fn verify_warns_without_pins() {
    let bytes = drand_bundle();
    let bare = verify_bundle(&bytes, &Expectations::default());
    assert!(bare.verified());
    assert!(
        bare.warnings
            .iter()
            .any(|w| w.contains("cannot tell when the draw was locked"))
    );
    assert!(bare.warnings.iter().any(|w| w.contains("public key")));
    let pinned = verify_bundle(&bytes, &pinned_key_and_lock(lock_hash(&to_value(&bytes))));
    assert!(pinned.warnings.is_empty(), "{:?}", pinned.warnings);
}

/// A bundle signed by another key than the pinned one is refused before any
/// rule runs: every later step is skipped.
#[test]
fn wrong_key_is_refused_before_the_rules() {
    let report = verify_bundle(
        &drand_bundle(),
        &Expectations {
            public_key: Some(outsider().public_key()),
            lock_hash: None,
            policy: None,
        },
    );
    assert_eq!(report.first_failure().map(|f| f.step), Some(Step::Signer));
    for step in [Step::Collections, Step::Rules, Step::Winners] {
        assert_eq!(
            report.step(step).map(|r| r.status),
            Some(fairdraw_engine::verify::Status::Skipped)
        );
    }
}

/// The draw sequence number (protocol 2): numbered from 1, and absent from
/// protocol 1 receipts; a numbered lock verifies.
#[test]
fn draw_sequence_numbers_are_checked_at_bundle() {
    let numbered = edit(&drand_bundle(), |v| {
        resign_lock(v, &operator(), |p| p.sequence = Some(7));
        redraw(v, &operator());
    });
    let r = verify(&numbered);
    assert!(r.verified(), "{:?}", r.first_failure());
    let zero = op_lock_relinked(&drand_bundle(), |p| p.sequence = Some(0));
    let f = verify(&zero).first_failure().cloned().unwrap();
    assert_eq!(f.step, Step::Bundle);
    assert!(f.detail.contains("numbered from 1"), "{}", f.detail);
    let v1 = edit(&op_as_protocol_1(&drand_bundle()), |v| {
        resign_lock(v, &operator(), |p| p.sequence = Some(1));
        relink(v, &operator());
    });
    let f = verify(&v1).first_failure().cloned().unwrap();
    assert_eq!(f.step, Step::Bundle);
    assert!(f.detail.contains("needs protocol 2"), "{}", f.detail);
}
