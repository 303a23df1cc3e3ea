//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    admin, draws, entries, events, jobs, lifecycle, log, ops, public, stats, webhooks,
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key from `fairdraw admin create-org` or `POST /v1/keys`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API's OpenAPI description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "fairdraw API",
        description = "Verifiable giveaway draws: organisations create draws, upload entries, lock and execute them; \
                       anyone reads the public proofs. Every error is RFC 9457 application/problem+json.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        draws::create, draws::list, draws::get, draws::cancel,
        entries::upload, entries::list,
        lifecycle::lock_draw, lifecycle::execute_draw,
        jobs::list, jobs::retry,
        stats::get,
        webhooks::create, webhooks::list, webhooks::remove, webhooks::deliveries,
        admin::list, admin::create, admin::revoke, admin::rotate,
        public::summary, public::lock_receipt, public::bundle, public::entrant, public::keys,
        log::log_proofs,
        events::stream,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "draws", description = "Create, read, list and cancel draws"),
        (name = "entries", description = "Upload and list entries"),
        (name = "lifecycle", description = "Lock and execute"),
        (name = "stats", description = "Usage against quotas and figures of the organisation's draws"),
        (name = "jobs", description = "Background jobs: the beacon poll and execution of drand draws, webhook deliveries"),
        (name = "webhooks", description = "Signed webhook deliveries (Standard Webhooks) of draw events, with their attempts"),
        (name = "admin", description = "API keys and the signing key (admin scope)"),
        (name = "public", description = "Unauthenticated proofs and keys"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

/// The document as pretty JSON, with a trailing newline (the committed
/// `host/server/openapi.json`).
pub fn json() -> String {
    let mut s = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}
