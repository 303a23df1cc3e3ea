//! Organisations, API keys and signing keys.

use ed25519_dalek::{Signer as _, SigningKey};
use fairdraw_engine::receipt::{ReceiptError, Sign, key_id};
use zeroize::Zeroizing;

use crate::crypto::{MasterKey, key_hash, new_id, random_bytes};
use crate::db::{RowExt, Tx, on_db, on_tx};
use crate::{ApiKey, NewApiKey, Organization, Scope, SigningKeyInfo, Store, StoreError};

/// An organisation's signing key, kept encrypted: it is decrypted only for
/// the moment of each signature, then wiped.
#[derive(Clone)]
pub struct OrgSigner {
    info: SigningKeyInfo,
    public_key: [u8; 32],
    sealed: Vec<u8>,
    master: MasterKey,
}

impl std::fmt::Debug for OrgSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgSigner")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl OrgSigner {
    /// The key's public half and validity.
    pub fn info(&self) -> &SigningKeyInfo {
        &self.info
    }

    fn secret(&self) -> Result<Zeroizing<[u8; 32]>, StoreError> {
        let plain = self
            .master
            .open(&seal_context(&self.info.key_id), &self.sealed)?;
        let mut out = Zeroizing::new([0u8; 32]);
        if plain.len() != 32 {
            return Err(StoreError::Corrupt(
                "signing key secret is not 32 bytes".into(),
            ));
        }
        out.copy_from_slice(&plain);
        Ok(out)
    }
}

impl Sign for OrgSigner {
    fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], ReceiptError> {
        let secret = self
            .secret()
            .map_err(|e| ReceiptError::Signer(e.to_string()))?;
        let key = SigningKey::from_bytes(&secret);
        Ok(key.sign(message).to_bytes())
    }
}

fn seal_context(key_id: &str) -> String {
    format!("fairdraw/signing-key/{key_id}")
}

fn org_from<R: RowExt>(r: &R) -> Result<Organization, StoreError> {
    Ok(Organization {
        id: r.text("id")?,
        name: r.text("name")?,
        created_at: r.int("created_at")?,
    })
}

fn key_from<R: RowExt>(r: &R) -> Result<ApiKey, StoreError> {
    let scope = r.text("scope")?;
    Ok(ApiKey {
        id: r.text("id")?,
        org_id: r.text("org_id")?,
        scope: Scope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown scope {scope:?}")))?,
        label: r.text("label")?,
        created_at: r.int("created_at")?,
        revoked_at: r.opt_int("revoked_at")?,
    })
}

fn signing_from<R: RowExt>(r: &R) -> Result<(SigningKeyInfo, [u8; 32], Vec<u8>), StoreError> {
    let public = r.bytes("public_key")?;
    let public: [u8; 32] = public
        .try_into()
        .map_err(|_| StoreError::Corrupt("public key is not 32 bytes".into()))?;
    Ok((
        SigningKeyInfo {
            key_id: r.text("key_id")?,
            org_id: r.text("org_id")?,
            public_key: hex::encode(public),
            valid_from: r.int("valid_from")?,
            valid_until: r.opt_int("valid_until")?,
        },
        public,
        r.bytes("encrypted_secret")?,
    ))
}

const KEY_COLUMNS: &str = "id, org_id, scope, label, created_at, revoked_at";
const SIGNING_COLUMNS: &str =
    "key_id, org_id, public_key, encrypted_secret, valid_from, valid_until";

impl Store {
    /// Creates an organisation with an admin API key and a fresh signing key,
    /// in one transaction.
    ///
    /// Returns the organisation and the key with its secret (shown once).
    pub async fn create_org(
        &self,
        name: &str,
        now: i64,
    ) -> Result<(Organization, NewApiKey), StoreError> {
        let org = Organization {
            id: new_id("org")?,
            name: name.to_owned(),
            created_at: now,
        };
        let mut tx = self.db.begin().await?;
        on_tx!(&mut tx, c => {
            sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(&org.id)
                .bind(&org.name)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        let key = insert_api_key(
            &mut tx,
            &org.id,
            Scope::Admin,
            "created with the organisation",
            now,
        )
        .await?;
        self.insert_signing_key(&mut tx, &org.id, now).await?;
        tx.commit().await?;
        Ok((org, key))
    }

    /// An organisation by id.
    pub async fn org(&self, org_id: &str) -> Result<Organization, StoreError> {
        let row = on_db!(&self.db, p => {
            sqlx::query("SELECT id, name, created_at FROM organizations WHERE id = $1")
                .bind(org_id)
                .fetch_optional(p)
                .await?
                .map(|r| org_from(&r))
        });
        row.transpose()?.ok_or(StoreError::NotFound("organisation"))
    }

    /// The organisations with exactly this name, oldest first. Names are
    /// not unique; `fairdraw serve --demo` uses this to find the demo
    /// organisation it created on an earlier start.
    pub async fn orgs_named(&self, name: &str) -> Result<Vec<Organization>, StoreError> {
        on_db!(&self.db, p => {
            sqlx::query(
                "SELECT id, name, created_at FROM organizations WHERE name = $1 ORDER BY created_at, id",
            )
            .bind(name)
            .fetch_all(p)
            .await?
            .iter()
            .map(org_from)
            .collect()
        })
    }

    /// Creates an API key for an organisation; the secret is returned once
    /// and only its SHA-256 is stored.
    pub async fn create_api_key(
        &self,
        org_id: &str,
        scope: Scope,
        label: &str,
        now: i64,
    ) -> Result<NewApiKey, StoreError> {
        let mut tx = self.db.begin().await?;
        let key = insert_api_key(&mut tx, org_id, scope, label, now).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// The live key whose secret this is, or `None` when no key matches or
    /// the key is revoked.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>, StoreError> {
        let hash = key_hash(secret);
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
        );
        let key = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(hash).fetch_optional(p).await?.map(|r| key_from(&r))
        });
        key.transpose()
    }

    /// An organisation's API keys, newest first.
    pub async fn api_keys(&self, org_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY created_at DESC, id"
        );
        on_db!(&self.db, p => {
            sqlx::query(&sql).bind(org_id).fetch_all(p).await?.iter().map(key_from).collect()
        })
    }

    /// Revokes a key. With `org_id`, only a key of that organisation (the
    /// API route); without, any key (the operator's `fairdraw admin`).
    ///
    /// Returns the key as revoked; [`StoreError::NotFound`] when there is no
    /// such key. Revoking a revoked key keeps its first revocation time.
    pub async fn revoke_api_key(
        &self,
        org_id: Option<&str>,
        key_id: &str,
        now: i64,
    ) -> Result<ApiKey, StoreError> {
        let sql = format!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND ($3 IS NULL OR org_id = $3) RETURNING {KEY_COLUMNS}"
        );
        let key = on_db!(&self.db, p => {
            sqlx::query(&sql)
                .bind(now)
                .bind(key_id)
                .bind(org_id)
                .fetch_optional(p)
                .await?
                .map(|r| key_from(&r))
        });
        key.transpose()?.ok_or(StoreError::NotFound("API key"))
    }

    async fn insert_signing_key(
        &self,
        tx: &mut Tx,
        org_id: &str,
        now: i64,
    ) -> Result<SigningKeyInfo, StoreError> {
        let secret = Zeroizing::new(random_bytes::<32>()?);
        let public = SigningKey::from_bytes(&secret).verifying_key().to_bytes();
        let id = key_id(&public).to_string();
        let sealed = self.master.seal(&seal_context(&id), secret.as_slice())?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO signing_keys (key_id, org_id, public_key, encrypted_secret, valid_from) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&id)
            .bind(org_id)
            .bind(public.to_vec())
            .bind(sealed)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(SigningKeyInfo {
            key_id: id,
            org_id: org_id.to_owned(),
            public_key: hex::encode(public),
            valid_from: now,
            valid_until: None,
        })
    }

    /// Retires the organisation's active signing key (it stays published
    /// with its validity period) and makes a new one.
    ///
    /// Returns the new key.
    pub async fn rotate_signing_key(
        &self,
        org_id: &str,
        now: i64,
    ) -> Result<SigningKeyInfo, StoreError> {
        self.org(org_id).await?;
        let mut tx = self.db.begin().await?;
        on_tx!(&mut tx, c => {
            sqlx::query("UPDATE signing_keys SET valid_until = $1 WHERE org_id = $2 AND valid_until IS NULL")
                .bind(now)
                .bind(org_id)
                .execute(c)
                .await?
                .rows_affected()
        });
        let info = self.insert_signing_key(&mut tx, org_id, now).await?;
        tx.commit().await?;
        Ok(info)
    }

    /// The organisation's active signing key.
    pub async fn active_signer(&self, org_id: &str) -> Result<OrgSigner, StoreError> {
        let sql = format!(
            "SELECT {SIGNING_COLUMNS} FROM signing_keys WHERE org_id = $1 AND valid_until IS NULL"
        );
        self.signer_where(&sql, org_id).await
    }

    /// A signing key of the organisation by key id, active or retired (an
    /// execution is signed by the key that signed its lock).
    pub async fn signer(&self, org_id: &str, key_id: &str) -> Result<OrgSigner, StoreError> {
        let sql =
            format!("SELECT {SIGNING_COLUMNS} FROM signing_keys WHERE org_id = $1 AND key_id = $2");
        let row = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(org_id).bind(key_id).fetch_optional(p).await?.map(|r| signing_from(&r))
        });
        let (info, public_key, sealed) = row
            .transpose()?
            .ok_or(StoreError::NotFound("signing key"))?;
        Ok(OrgSigner {
            info,
            public_key,
            sealed,
            master: self.master.clone(),
        })
    }

    async fn signer_where(&self, sql: &str, org_id: &str) -> Result<OrgSigner, StoreError> {
        let row = on_db!(&self.db, p => {
            sqlx::query(sql).bind(org_id).fetch_optional(p).await?.map(|r| signing_from(&r))
        });
        let (info, public_key, sealed) = row
            .transpose()?
            .ok_or(StoreError::NotFound("signing key"))?;
        Ok(OrgSigner {
            info,
            public_key,
            sealed,
            master: self.master.clone(),
        })
    }

    /// Every organisation's signing keys, active and retired, with the
    /// organisation's name (for `/.well-known/fairdraw-keys.json`).
    pub async fn published_keys(&self) -> Result<Vec<(String, SigningKeyInfo)>, StoreError> {
        let sql = "SELECT o.name AS org_name, k.key_id, k.org_id, k.public_key, k.encrypted_secret, k.valid_from, k.valid_until \
                   FROM signing_keys k JOIN organizations o ON o.id = k.org_id ORDER BY k.org_id, k.valid_from, COALESCE(k.valid_until, 9223372036854775807), k.key_id";
        on_db!(&self.db, p => {
            sqlx::query(sql)
                .fetch_all(p)
                .await?
                .iter()
                .map(|r| Ok((r.text("org_name")?, signing_from(r)?.0)))
                .collect()
        })
    }
}

async fn insert_api_key(
    tx: &mut Tx,
    org_id: &str,
    scope: Scope,
    label: &str,
    now: i64,
) -> Result<NewApiKey, StoreError> {
    let secret = format!("fdk_{}", hex::encode(random_bytes::<32>()?));
    let key = ApiKey {
        id: new_id("key")?,
        org_id: org_id.to_owned(),
        scope,
        label: label.to_owned(),
        created_at: now,
        revoked_at: None,
    };
    let inserted = on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO api_keys (id, org_id, key_hash, scope, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(org_id)
        .bind(key_hash(&secret))
        .bind(scope.as_str())
        .bind(label)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    });
    match inserted {
        Ok(_) => Ok(NewApiKey { key, secret }),
        Err(e) if matches!(&e, sqlx::Error::Database(d) if d.is_foreign_key_violation()) => {
            Err(StoreError::NotFound("organisation"))
        }
        Err(e) => Err(e.into()),
    }
}
