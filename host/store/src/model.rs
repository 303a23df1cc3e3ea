//! The records the repositories return.

use serde::Serialize;

use crate::StoreError;

/// An organisation: the owner of keys and draws.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Organization {
    /// Opaque id, `org_…`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
}

/// What an API key may do. Each scope includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read draws and entries.
    Read,
    /// Also create, upload, lock, execute and cancel draws.
    Write,
    /// Also manage API keys.
    Admin,
}

impl Scope {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// An API key as stored (without its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    /// Opaque id, `key_…`; what `revoke-key` takes.
    pub id: String,
    /// The organisation it acts for.
    pub org_id: String,
    /// What it may do.
    pub scope: Scope,
    /// A free-form label.
    pub label: String,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
}

/// A newly created API key with its secret, which is shown this once.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    /// The stored record.
    pub key: ApiKey,
    /// The bearer token: `fdk_` and 64 hex characters.
    pub secret: String,
}

/// A signing key's public half and validity period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SigningKeyInfo {
    /// SHA-256 of the public key, hex (the receipts' `key_id`).
    pub key_id: String,
    /// The organisation that signs with it.
    pub org_id: String,
    /// The Ed25519 public key, hex.
    pub public_key: String,
    /// Start of validity, Unix milliseconds.
    pub valid_from: i64,
    /// End of validity (rotation), if retired.
    pub valid_until: Option<i64>,
}

/// A draw's life-cycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawState {
    /// Accepting entries.
    Draft,
    /// Entries committed, randomness declared.
    Locked,
    /// Winners drawn; the bundle is final.
    Executed,
    /// Cancelled before lock.
    Cancelled,
    /// Could not be executed.
    Failed,
}

impl DrawState {
    /// Every state, in life-cycle order.
    pub const ALL: [DrawState; 5] = [
        DrawState::Draft,
        DrawState::Locked,
        DrawState::Executed,
        DrawState::Cancelled,
        DrawState::Failed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DrawState::Draft => "draft",
            DrawState::Locked => "locked",
            DrawState::Executed => "executed",
            DrawState::Cancelled => "cancelled",
            DrawState::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<DrawState, StoreError> {
        DrawState::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown draw state {s:?}")))
    }
}

impl std::fmt::Display for DrawState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A draw as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draw {
    /// Opaque id, `drw_…`; also the engine's draw id.
    pub id: String,
    /// The owning organisation.
    pub org_id: String,
    /// Human title.
    pub title: String,
    /// The rules JSON as accepted.
    pub rules: String,
    /// The randomness spec (`drand:quicknet`, `commit-reveal`, `rfc3797:…`).
    pub randomness: String,
    /// Life-cycle state.
    pub state: DrawState,
    /// Entries uploaded, all collections.
    pub entry_count: i64,
    /// Eligible entrants, once locked.
    pub eligible: Option<i64>,
    /// Total tickets, once locked.
    pub total_tickets: Option<i64>,
    /// The lock receipt's hash, once locked.
    pub lock_hash: Option<String>,
    /// The key that signed the lock.
    pub signing_key_id: Option<String>,
    /// The declared randomness JSON, once locked.
    pub declared: Option<String>,
    /// When the randomness is available, Unix milliseconds, once locked.
    pub earliest_execution: Option<i64>,
    /// Why the draw failed.
    pub failure: Option<String>,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
    /// Last change, Unix milliseconds.
    pub updated_at: i64,
    /// Lock time, Unix milliseconds.
    pub locked_at: Option<i64>,
    /// Execution time, Unix milliseconds.
    pub executed_at: Option<i64>,
}

/// What `create_draw` needs.
#[derive(Clone, Debug)]
pub struct NewDraw {
    /// The owning organisation.
    pub org_id: String,
    /// Human title.
    pub title: String,
    /// The rules JSON (validated by the caller).
    pub rules: String,
    /// The randomness spec (validated by the caller).
    pub randomness: String,
}

/// Filters and cursor for listing draws.
#[derive(Clone, Debug, Default)]
pub struct DrawFilter {
    /// Only draws in this state.
    pub state: Option<DrawState>,
    /// Keyset cursor: the `(created_at, id)` of the last draw already seen.
    pub after: Option<(i64, String)>,
    /// Page size.
    pub limit: i64,
}

/// One stored entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// Upload order within the draw, from 0; the pagination key.
    pub seq: i64,
    /// The collection.
    pub collection: String,
    /// The entry JSON (without `collection`).
    pub entry: String,
    /// The rule that excluded it and why, once the rules ran.
    pub exclusion: Option<(String, String)>,
}

/// One accepted upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadOutcome {
    /// The collection.
    pub collection: String,
    /// SHA-256 of the body, hex.
    pub body_sha256: String,
    /// Sequence number of its first entry.
    pub first_seq: i64,
    /// How many entries it added.
    pub entries: i64,
    /// `true` when the same body had already been uploaded to this
    /// collection: nothing was added.
    pub duplicate: bool,
}

/// A stored lock file (and, once executed, bundle).
#[derive(Clone, Debug)]
pub struct StoredLock {
    /// The lock receipt's hash.
    pub lock_hash: String,
    /// The lock file bytes.
    pub lock_file: Vec<u8>,
}

/// A stored proof bundle.
#[derive(Clone, Debug)]
pub struct StoredBundle {
    /// The bundle bytes, exactly as `fairdraw verify` reads them.
    pub bundle: Vec<u8>,
    /// SHA-256 of the bytes, hex (the ETag).
    pub sha256: String,
}
