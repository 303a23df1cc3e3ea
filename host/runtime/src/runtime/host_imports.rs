//! The host side of the `fairdraw:plugin` imports: `log` (bounded and
//! cleaned), `config` (the manifest's values) and `http` (through the
//! policy and client of [`crate::http`]). `types` has no functions.

use crate::bindings::v0_1;
use crate::http::HttpRequest;
use crate::limits::{MAX_LOG_LINE_BYTES, MAX_LOG_LINES};
use crate::types::{LogLevel, LogSource};

use super::call::{CallState, clean};

impl v0_1::types::Host for CallState {}

impl v0_1::log::Host for CallState {
    fn log(&mut self, level: v0_1::log::Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            return;
        }
        let level = LogLevel::from(level);
        if self.log_lines == MAX_LOG_LINES {
            self.shared.log(
                LogLevel::Warn,
                LogSource::Host,
                "log limit reached; further lines of this call are dropped",
            );
            return;
        }
        self.shared
            .log(level, LogSource::Log, &clean(&message, MAX_LOG_LINE_BYTES));
    }
}

impl v0_1::config::Host for CallState {
    fn get(&mut self, key: String) -> Option<String> {
        self.shared.config.get(&key).cloned()
    }
}

impl v0_1::http::Host for CallState {
    fn send(
        &mut self,
        request: v0_1::http::Request,
    ) -> Result<v0_1::http::Response, v0_1::http::HttpError> {
        let req = HttpRequest {
            method: request.method,
            url: request.url,
            headers: request
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: request.body,
        };
        let shared = self.shared.clone();
        match shared.http.send(&shared.policy, &mut self.budget, req) {
            Ok(r) => Ok(v0_1::http::Response {
                status: r.status,
                headers: r
                    .headers
                    .into_iter()
                    .map(|(name, value)| v0_1::http::Header { name, value })
                    .collect(),
                body: r.body,
            }),
            Err(e) => {
                shared.log(LogLevel::Debug, LogSource::Host, &format!("HTTP {e}"));
                Err(e.into())
            }
        }
    }
}
