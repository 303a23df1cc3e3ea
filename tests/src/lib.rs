//! End-to-end tests across fairdraw's parts, and the mock servers they use.
//!
//! Tests cannot reach the social platforms or the drand network, so
//! [`mock`] serves local stand-ins that answer in each real API's exact
//! shapes: field names, pagination, error bodies and rate-limit signals.
//! The host's `FAIRDRAW_DEV_ORIGIN_MAP` sends a plugin's requests for the
//! production origin to one of them:
//!
//! ```
//! use fairdraw_tests::mock::{self, youtube};
//!
//! let yt = youtube::start_blocking(youtube::Config { comments: 3, ..Default::default() });
//! let map = format!("{}={}", youtube::PRODUCTION_ORIGIN, yt.origin);
//! // ... run `fairdraw fetch` with FAIRDRAW_DEV_ORIGIN_MAP=$map ...
//! let page = mock::http::get(
//!     &format!("{}/youtube/v3/commentThreads?part=snippet&videoId={}&key={}", yt.origin, youtube::VIDEO_ID, youtube::API_KEY),
//!     &[],
//! )?;
//! assert_eq!(page.status, 200);
//! assert_eq!(yt.request_count(), 1);
//! assert!(yt.credentials_seen().contains(youtube::API_KEY));
//! # let _ = map;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`rss`] measures the peak memory of a child process, for the tests that
//! bound it. The end-to-end tests themselves are the `e2e` test binary
//! (tests/e2e/).

pub mod mock;
pub mod rss;
