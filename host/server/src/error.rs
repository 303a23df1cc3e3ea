//! The one exit for every error response: [`ApiError`], written as RFC 9457
//! `application/problem+json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fairdraw_engine::draw::DrawError;
use fairdraw_store::{DrawState, QuotaKind, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, as a path into the request body (`rules.keywords.any[1]`)
    /// or a query parameter name.
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
}

/// An RFC 9457 problem document.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, `urn:fairdraw:problem:<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The invalid fields (422).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The draw's current state (409 on an illegal transition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The draw's stored result when another call locked or executed it first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub current: Option<serde_json::Value>,
    /// The quota a 402 refers to: `draws`, `entries` or `executions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<String>,
    /// How much of that quota the organisation has used (402).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<i64>,
    /// The quota's limit (402).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// What the refused request would have added (402).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<i64>,
    /// Seconds until a retry can succeed (429, 409 before the randomness
    /// exists, 503 when the relay has not published the round yet or every
    /// live event stream is taken).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not well-formed (JSON syntax, not UTF-8): 400.
    #[error("{0}")]
    BadRequest(String),
    /// One or more fields are invalid: 422 naming each.
    #[error("invalid request: {}", .0.iter().map(|f| format!("{}: {}", f.field, f.detail)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The request is well-formed and valid field by field, but the draw
    /// cannot be done with it (not enough eligible entrants, a beacon that
    /// does not verify): 422.
    #[error("{0}")]
    Unprocessable(String),
    /// No, a wrong or a revoked API key: 401.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The key's scope does not allow this: 403.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource, or another organisation's: 404.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The draw's state does not allow this: 409 with the current state.
    #[error("the draw is {state}: {detail}")]
    Conflict {
        /// The current state.
        state: DrawState,
        /// What was refused.
        detail: String,
        /// The stored result, for the losers of a race.
        current: Option<serde_json::Value>,
    },
    /// The job's state does not allow this (retrying a job that is not
    /// dead): 409.
    #[error("{0}")]
    JobConflict(String),
    /// The randomness does not exist yet: 409 with Retry-After.
    #[error("the randomness is not available until {available_at}")]
    TooEarly {
        /// RFC 3339 time it becomes available.
        available_at: String,
        /// Seconds from now.
        retry_after: u64,
    },
    /// The body is larger than the route accepts: 413.
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    /// The body's media type is not one the route reads: 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The `Idempotency-Key` was used with a different request: 422.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    /// A request with this `Idempotency-Key` is still running: 409.
    #[error("a request with this Idempotency-Key is still in progress")]
    IdempotencyInProgress,
    /// The request would take the organisation over a quota an operator
    /// set: 402, naming the quota, the usage and the limit. Nothing was
    /// done. 402 rather than 429: a quota is an allowance in total, not a
    /// rate, so waiting does not help (429 tells clients to retry later).
    #[error(
        "this would take the organisation over its {quota} quota: {usage} of {limit} used, and this request adds {requested}; nothing was done (an operator raises the quota with `fairdraw admin set-quota`)"
    )]
    QuotaExceeded {
        /// Which quota.
        quota: QuotaKind,
        /// Used so far.
        usage: i64,
        /// The limit.
        limit: i64,
        /// What the request would have added.
        requested: i64,
    },
    /// Too many requests: 429 with Retry-After.
    #[error("rate limit exceeded; retry in {0} s")]
    RateLimited(u64),
    /// The draw's beacon cannot be fetched: no beacon plugin is installed,
    /// the relay has not published the round yet, or the relay failed or
    /// lied: 503, with Retry-After when a retry can help.
    #[error("{detail}")]
    BeaconUnavailable {
        /// What is missing and what to do.
        detail: String,
        /// Seconds until a retry can succeed.
        retry_after: Option<u64>,
    },
    /// Every live event stream of this replica is taken: 503 with
    /// Retry-After.
    #[error(
        "this server already serves {0} live event streams, its limit; retry later or poll GET /v1/public/draws/{{id}}"
    )]
    StreamsFull(usize),
    /// A dependency is down (readiness): 503.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an infrastructure failure: 500. The message is logged, never
    /// sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) | ApiError::Unprocessable(_) | ApiError::IdempotencyMismatch => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. }
            | ApiError::JobConflict(_)
            | ApiError::TooEarly { .. }
            | ApiError::IdempotencyInProgress => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::QuotaExceeded { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::Unavailable(_)
            | ApiError::BeaconUnavailable { .. }
            | ApiError::StreamsFull(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "malformed-request",
            ApiError::Invalid(_) => "invalid-field",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict { .. } => "illegal-state-transition",
            ApiError::JobConflict(_) => "illegal-job-transition",
            ApiError::TooEarly { .. } => "randomness-not-available",
            ApiError::TooLarge(_) => "body-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::IdempotencyMismatch => "idempotency-key-reused",
            ApiError::IdempotencyInProgress => "idempotency-key-in-progress",
            ApiError::RateLimited(_) => "rate-limited",
            ApiError::QuotaExceeded { .. } => "quota-exceeded",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::BeaconUnavailable { .. } => "beacon-unavailable",
            ApiError::StreamsFull(_) => "too-many-event-streams",
            ApiError::Internal(_) => "internal",
        }
    }

    /// One invalid field.
    pub fn field(field: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError::Invalid(vec![FieldError {
            field: field.into(),
            detail: detail.into(),
        }])
    }

    /// The problem document sent for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let detail = match self {
            // Never leak internals: the log has the message.
            ApiError::Internal(_) => {
                "the server failed to handle this request; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("urn:fairdraw:problem:{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: match self {
                ApiError::Invalid(e) => e.clone(),
                _ => Vec::new(),
            },
            state: match self {
                ApiError::Conflict { state, .. } => Some(state.as_str().to_owned()),
                _ => None,
            },
            current: match self {
                ApiError::Conflict { current, .. } => current.clone(),
                _ => None,
            },
            quota: match self {
                ApiError::QuotaExceeded { quota, .. } => Some(quota.as_str().to_owned()),
                _ => None,
            },
            usage: match self {
                ApiError::QuotaExceeded { usage, .. } => Some(*usage),
                _ => None,
            },
            limit: match self {
                ApiError::QuotaExceeded { limit, .. } => Some(*limit),
                _ => None,
            },
            requested: match self {
                ApiError::QuotaExceeded { requested, .. } => Some(*requested),
                _ => None,
            },
            retry_after: match self {
                ApiError::RateLimited(s) => Some(*s),
                ApiError::TooEarly { retry_after, .. } => Some(*retry_after),
                ApiError::BeaconUnavailable { retry_after, .. } => *retry_after,
                ApiError::StreamsFull(_) => Some(5),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        // A 503 is expected back-pressure (a relay not serving the round yet,
        // a full stream limit), answered with Retry-After: a warning, not an
        // error. Every other 5xx is the server's fault.
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(error = %self, status = status.as_u16(), "request refused for now");
        } else if status.is_server_error() {
            tracing::error!(error = %self, status = status.as_u16(), "request failed");
        }
        let problem = self.problem();
        let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
        let mut res = (status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = problem.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::State(state) => ApiError::Conflict {
                state,
                detail: "this is not allowed in the draw's current state".into(),
                current: None,
            },
            StoreError::QuotaExceeded {
                quota,
                usage,
                limit,
                requested,
            } => ApiError::QuotaExceeded {
                quota,
                usage,
                limit,
                requested,
            },
            StoreError::JobState(state) => ApiError::JobConflict(format!(
                "only a dead job can be retried; this one is {state}"
            )),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Maps an engine error to the 4xx it deserves; the engine's precise
/// variants carry the field where there is one.
impl From<DrawError> for ApiError {
    fn from(e: DrawError) -> Self {
        use fairdraw_engine::rules::RuleError;
        match e {
            DrawError::Rules(RuleError::Invalid { field, problem }) => {
                ApiError::field(format!("rules.{field}"), problem)
            }
            DrawError::DrawId(_) => ApiError::field("id", e.to_string()),
            DrawError::TitleTooLong | DrawError::TitleControls | DrawError::TitleText(_) => {
                ApiError::field("title", e.to_string())
            }
            DrawError::TooEarly { earliest, .. } => ApiError::TooEarly {
                available_at: earliest.to_string(),
                retry_after: 1,
            },
            DrawError::Entry { .. }
            | DrawError::EntryJson { .. }
            | DrawError::Rules(_)
            | DrawError::MissingCollection(_)
            | DrawError::Select(_)
            | DrawError::Randomness(_)
            | DrawError::EntryAfterLock { .. }
            | DrawError::CollectionName(_)
            | DrawError::TimeOutOfRange { .. } => ApiError::Unprocessable(e.to_string()),
            // The server built the lock and picked the key: anything else is ours.
            other => ApiError::Internal(other.to_string()),
        }
    }
}
