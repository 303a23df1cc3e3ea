//! Test a plugin natively against recorded responses (not in components).
//!
//! [`Recorded`] maps `(method, url)` to `(status, headers, body file)`.
//! Installed on the test's thread, it answers every request the SDK's
//! [`crate::http`] functions make; a request with no recording gets
//! [`HttpError::Denied`] naming it, so a wrong URL fails the test. URLs match
//! exactly, query order included: the test pins the URLs the plugin builds.
//! [`config`] sets the plugin's configuration and [`logs`] reads what it
//! logged; [`check_filter`] runs a filter as the component does.
//!
//! ```
//! use fairdraw_plugin_sdk::{http, testing::Recorded};
//!
//! let dir = std::env::temp_dir().join("fairdraw-sdk-doctest");
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(dir.join("round.json"), r#"{"round":7,"signature":"ab"}"#).unwrap();
//!
//! let http = Recorded::new(&dir)
//!     .get("https://api.drand.sh/v2/beacons/quicknet/rounds/7", "round.json")
//!     .on("GET", "https://api.drand.sh/v2/beacons/quicknet/rounds/9", 425, &[], "round.json")
//!     .install();
//!
//! #[derive(serde::Deserialize)]
//! struct Round { round: u64 }
//! let (round, _) = http::get_json::<Round>("https://api.drand.sh/v2/beacons/quicknet/rounds/7", &[]).unwrap();
//! assert_eq!(round.round, 7);
//! let early = http::get("https://api.drand.sh/v2/beacons/quicknet/rounds/9", &[]).unwrap();
//! assert_eq!(early.status, 425);
//! assert!(http::get("https://evil.example/", &[]).is_err());
//! assert_eq!(http.requests().len(), 3);
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::host::{CONFIG, LOGS, TRANSPORT};
use crate::http::{Header, HttpError, Request, Response, Transport};
use crate::log::Level;

/// Recorded responses, keyed by `(method, url)`.
///
/// Several recordings for the same key are served in order and the last one
/// repeats, so "503, then 200" is two calls to [`Recorded::on`].
#[derive(Debug)]
pub struct Recorded {
    dir: PathBuf,
    routes: Vec<Route>,
}

#[derive(Debug)]
struct Route {
    method: String,
    url: String,
    answers: Vec<Answer>,
    served: usize,
}

#[derive(Debug, Clone)]
enum Answer {
    File {
        status: u16,
        headers: Vec<Header>,
        file: PathBuf,
    },
    Body {
        status: u16,
        headers: Vec<Header>,
        body: Vec<u8>,
    },
    Error(HttpError),
}

impl Recorded {
    /// Recordings whose body files are relative to `dir`, usually
    /// `concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recorded")`.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        Recorded {
            dir: dir.as_ref().to_owned(),
            routes: Vec::new(),
        }
    }

    /// Answers `method url` with `status`, `headers` and the bytes of the
    /// file `body_file` (read when the request is made; a missing file
    /// panics, naming it).
    pub fn on(
        mut self,
        method: &str,
        url: &str,
        status: u16,
        headers: &[(&str, &str)],
        body_file: &str,
    ) -> Self {
        let file = self.dir.join(body_file);
        self.push(
            method,
            url,
            Answer::File {
                status,
                headers: to_headers(headers),
                file,
            },
        );
        self
    }

    /// Answers `GET url` with 200, `Content-Type: application/json` and the
    /// file `body_file`.
    pub fn get(self, url: &str, body_file: &str) -> Self {
        self.on(
            "GET",
            url,
            200,
            &[("Content-Type", "application/json")],
            body_file,
        )
    }

    /// Answers `method url` with `status`, `headers` and an inline `body`.
    pub fn on_body(
        mut self,
        method: &str,
        url: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Self {
        self.push(
            method,
            url,
            Answer::Body {
                status,
                headers: to_headers(headers),
                body: body.into(),
            },
        );
        self
    }

    /// Answers `method url` with no response: the host's `error`, as when it
    /// refuses a URL or times out.
    pub fn on_error(mut self, method: &str, url: &str, error: HttpError) -> Self {
        self.push(method, url, Answer::Error(error));
        self
    }

    fn push(&mut self, method: &str, url: &str, answer: Answer) {
        let method = method.to_ascii_uppercase();
        match self
            .routes
            .iter_mut()
            .find(|r| r.method == method && r.url == url)
        {
            Some(route) => route.answers.push(answer),
            None => self.routes.push(Route {
                method,
                url: url.to_owned(),
                answers: vec![answer],
                served: 0,
            }),
        }
    }

    /// Makes these recordings the transport of the current thread until
    /// the returned handle is dropped.
    pub fn install(self) -> Installed {
        let state = Rc::new(State {
            routes: RefCell::new(self.routes),
            requests: RefCell::new(Vec::new()),
        });
        let guard = install_transport_rc(state.clone());
        Installed {
            state,
            _guard: guard,
        }
    }
}

fn to_headers(headers: &[(&str, &str)]) -> Vec<Header> {
    headers.iter().map(|(n, v)| Header::new(*n, *v)).collect()
}

#[derive(Debug)]
struct State {
    routes: RefCell<Vec<Route>>,
    requests: RefCell<Vec<Request>>,
}

impl Transport for State {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        self.requests.borrow_mut().push(request.clone());
        let mut routes = self.routes.borrow_mut();
        let method = request.method.to_ascii_uppercase();
        let Some(route) = routes
            .iter_mut()
            .find(|r| r.method == method && r.url == request.url)
        else {
            return Err(HttpError::Denied(format!(
                "no recorded response for {method} {} (fairdraw_plugin_sdk::testing::Recorded)",
                request.url
            )));
        };
        let answer = route.answers[route.served.min(route.answers.len() - 1)].clone();
        route.served += 1;
        match answer {
            Answer::Error(error) => Err(error),
            Answer::Body {
                status,
                headers,
                body,
            } => Ok(Response {
                status,
                headers,
                body,
            }),
            Answer::File {
                status,
                headers,
                file,
            } => {
                let body = std::fs::read(&file).unwrap_or_else(|e| {
                    panic!(
                        "recorded body {} for {method} {}: {e}",
                        file.display(),
                        request.url
                    )
                });
                Ok(Response {
                    status,
                    headers,
                    body,
                })
            }
        }
    }
}

/// Installed recordings; dropping it uninstalls them.
pub struct Installed {
    state: Rc<State>,
    _guard: TransportGuard,
}

impl fmt::Debug for Installed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Installed")
            .field("requests", &self.state.requests.borrow().len())
            .finish()
    }
}

impl Installed {
    /// Every request made so far, in order, answered or not.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.borrow().clone()
    }

    /// The URLs of [`Installed::requests`].
    pub fn urls(&self) -> Vec<String> {
        self.state
            .requests
            .borrow()
            .iter()
            .map(|r| r.url.clone())
            .collect()
    }

    /// `method url` of every recording never requested, to assert a test
    /// used all it set up.
    pub fn unused(&self) -> Vec<String> {
        self.state
            .routes
            .borrow()
            .iter()
            .filter(|r| r.served == 0)
            .map(|r| format!("{} {}", r.method, r.url))
            .collect()
    }
}

/// Restores the previous transport of the thread when dropped.
#[must_use = "the transport is uninstalled when the guard is dropped"]
pub struct TransportGuard {
    previous: Option<Rc<dyn Transport>>,
}

impl fmt::Debug for TransportGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportGuard").finish_non_exhaustive()
    }
}

impl Drop for TransportGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        TRANSPORT.with(|t| *t.borrow_mut() = previous);
    }
}

/// Makes `transport` answer this thread's requests until the guard drops.
pub fn install_transport(transport: impl Transport + 'static) -> TransportGuard {
    install_transport_rc(Rc::new(transport))
}

fn install_transport_rc(transport: Rc<dyn Transport>) -> TransportGuard {
    let previous = TRANSPORT.with(|t| t.borrow_mut().replace(transport));
    TransportGuard { previous }
}

/// Restores the previous configuration of the thread when dropped.
#[must_use = "the configuration is reset when the guard is dropped"]
#[derive(Debug)]
pub struct ConfigGuard {
    previous: BTreeMap<String, String>,
}

impl Drop for ConfigGuard {
    fn drop(&mut self) {
        let previous = std::mem::take(&mut self.previous);
        CONFIG.with(|c| *c.borrow_mut() = previous);
    }
}

/// Sets the plugin configuration [`crate::config::get`] sees on this
/// thread (all other keys unset) until the guard drops. Pass the
/// manifest's `[config]` defaults too if the code relies on them.
pub fn config(pairs: &[(&str, &str)]) -> ConfigGuard {
    let map = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let previous = CONFIG.with(|c| std::mem::replace(&mut *c.borrow_mut(), map));
    ConfigGuard { previous }
}

/// Runs a filter on a batch as the component does: parses `config_json`
/// with [`Filter::parse_config`](crate::Filter::parse_config), checks, and
/// fails with [`PluginError::Other`](crate::PluginError::Other) unless there
/// is one verdict per entry.
pub fn check_filter<F: crate::Filter>(
    entries: &[crate::Entry],
    config_json: &str,
) -> Result<Vec<crate::Verdict>, crate::PluginError> {
    let entries: Vec<crate::EntryRef<'_>> = entries.iter().map(Into::into).collect();
    crate::__private::run_filter::<F>(&entries, config_json)
}

/// Every line logged on this thread so far (and clears the record).
pub fn logs() -> Vec<(Level, String)> {
    LOGS.with(|l| std::mem::take(&mut *l.borrow_mut()))
}
