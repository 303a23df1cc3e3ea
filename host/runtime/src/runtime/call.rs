//! One call: its store (fuel, epoch deadline, memory limiter, HTTP budget,
//! captured stdio) and the mapping of what went wrong to a [`Fault`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::http::{CallBudget, HttpClient, HttpPolicy};
use crate::limits::{
    Limits, MAX_LOG_LINE_BYTES, MAX_STDIO_BYTES, MAX_TRANSFER_BYTES, MemoryLimitExceeded,
    StoreLimiter,
};
use crate::types::{Fault, FaultKind, LogLevel, LogRecord, LogSource};

use super::linker::Pre;
use super::{LoadedPlugin, LogSink, TICK, chain};

/// What every call of one plugin shares.
pub(super) struct Shared {
    pub(super) id: String,
    pub(super) config: BTreeMap<String, String>,
    pub(super) limits: Limits,
    pub(super) policy: HttpPolicy,
    pub(super) http: Arc<HttpClient>,
    pub(super) log: LogSink,
}

impl Shared {
    pub(super) fn log(&self, level: LogLevel, source: LogSource, message: &str) {
        (self.log)(&LogRecord {
            plugin: &self.id,
            level,
            source,
            message,
        });
    }
}

impl LoadedPlugin {
    /// Runs `f` in a fresh store and instance: the instance never outlives
    /// the call, so a trapped instance is never reused.
    pub(super) fn call<R>(
        &self,
        f: impl FnOnce(&mut Store<CallState>, &Pre) -> wasmtime::Result<R>,
    ) -> Result<R, Fault> {
        let mut call = self.new_call_store();
        let result = call
            .store
            .set_fuel(self.shared.limits.fuel)
            .and_then(|()| f(&mut call.store, &self.pre));
        self.end_call(call, result)
    }

    /// The store of one call, with the plugin's limits: WASI with captured
    /// stdout and stderr and no sockets, the memory limiter, the HTTP
    /// budget, the cap on data copied out of the instance and the epoch
    /// deadline. The caller sets the fuel (which can fail) and passes the
    /// outcome to [`LoadedPlugin::end_call`].
    pub(super) fn new_call_store(&self) -> CallStore {
        let limits = self.shared.limits;
        let capture = StdioCapture::default();
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(capture.clone())
            .stderr(capture.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let state = CallState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: StoreLimiter::new(limits.memory_mb),
            budget: CallBudget {
                requests: 0,
                max_requests: limits.max_requests_per_call,
                deadline: Instant::now() + Duration::from_millis(limits.timeout_ms),
                max_response_bytes: limits.max_response_bytes,
            },
            log_lines: 0,
            shared: self.shared.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(MAX_TRANSFER_BYTES);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(limits.timeout_ms.div_ceil(TICK.as_millis() as u64) + 1);
        CallStore { store, capture }
    }

    /// Ends a call: logs what it wrote to stdout and stderr, drops the store
    /// (which returns its pool slot) and maps an error to a [`Fault`].
    pub(super) fn end_call<R>(
        &self,
        call: CallStore,
        result: wasmtime::Result<R>,
    ) -> Result<R, Fault> {
        let stdio = self.log_stdio(&call);
        let memory_hit = call.store.data().limiter.memory_limit_hit;
        drop(call);
        result.map_err(|e| self.fault(&e, memory_hit, &stdio))
    }

    /// The fault for an error of a call whose store lives on (see
    /// [`LoadedPlugin::end_call`] for one that ends).
    pub(super) fn fault_in(&self, call: &CallStore, e: &wasmtime::Error) -> Fault {
        let stdio = self.log_stdio(call);
        self.fault(e, call.store.data().limiter.memory_limit_hit, &stdio)
    }

    /// Logs, line by line, what the call wrote to stdout and stderr since
    /// the last time, and returns it (for the panic message of a fault).
    pub(super) fn log_stdio(&self, call: &CallStore) -> String {
        let stdio = call.capture.take();
        for line in stdio.lines().filter(|l| !l.trim().is_empty()) {
            self.shared.log(
                LogLevel::Info,
                LogSource::Stderr,
                &clean(line, MAX_LOG_LINE_BYTES),
            );
        }
        stdio
    }

    fn fault(&self, e: &wasmtime::Error, memory_hit: bool, stdio: &str) -> Fault {
        let limits = self.shared.limits;
        let kind = if memory_hit || e.downcast_ref::<MemoryLimitExceeded>().is_some() {
            FaultKind::MemoryLimit {
                memory_mb: limits.memory_mb,
            }
        } else if let Some(trap) = e.downcast_ref::<Trap>() {
            match *trap {
                Trap::OutOfFuel => FaultKind::FuelExhausted { fuel: limits.fuel },
                Trap::Interrupt => FaultKind::Timeout {
                    timeout_ms: limits.timeout_ms,
                },
                Trap::StackOverflow => FaultKind::StackOverflow,
                Trap::UnreachableCodeReached => match panic_message(stdio) {
                    Some(message) => FaultKind::Panic { message },
                    None => FaultKind::Trap {
                        message: trap.to_string(),
                    },
                },
                other => FaultKind::Trap {
                    message: other.to_string(),
                },
            }
        } else {
            let message = chain(e);
            if message.contains("too much data is being copied between the host and the guest") {
                FaultKind::TooMuchData {
                    what: format!(
                        "it passed more than {} MiB of data in one call",
                        MAX_TRANSFER_BYTES >> 20
                    ),
                }
            } else if let Some(m) = panic_message(stdio) {
                FaultKind::Panic { message: m }
            } else {
                FaultKind::Host { message }
            }
        };
        Fault {
            plugin: self.manifest.id.clone(),
            kind,
        }
    }

    pub(super) fn bad_result(&self, message: String) -> Fault {
        Fault {
            plugin: self.manifest.id.clone(),
            kind: FaultKind::BadResult { message },
        }
    }
}

/// The panic message in a Rust guest's stderr (`panicked at file:line:col:\nmessage`).
fn panic_message(stdio: &str) -> Option<String> {
    let start = stdio.find("panicked at ")? + "panicked at ".len();
    let rest = &stdio[start..];
    let (location, after) = match rest.split_once(":\n") {
        Some((loc, after)) => (loc.trim(), after),
        None => ("", rest),
    };
    let message: Vec<&str> = after
        .lines()
        .take_while(|l| !l.starts_with("note:"))
        .collect();
    let message = clean(message.join(" ").trim(), 1_000);
    Some(if location.is_empty() {
        message
    } else {
        format!("{message} (at {location})")
    })
}

/// Cuts `s` to `max` bytes and replaces control characters, so plugin text
/// cannot forge terminal escapes or extra log lines.
pub(crate) fn clean(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for c in s.chars() {
        if out.len() + c.len_utf8() > max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() && c != '\t' {
            '\u{fffd}'
        } else {
            c
        });
    }
    out
}

/// One call's store and what it captures of the plugin's stdout and stderr.
pub(super) struct CallStore {
    pub(super) store: Store<CallState>,
    capture: StdioCapture,
}

/// The data of one call's store.
pub(super) struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: StoreLimiter,
    pub(super) budget: CallBudget,
    pub(super) log_lines: usize,
    pub(super) shared: Arc<Shared>,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Captured stdout and stderr of one call, bounded; writes past the bound
/// succeed but are dropped, so a chatty plugin does not fail.
#[derive(Clone, Default)]
struct StdioCapture(Arc<Mutex<Vec<u8>>>);

impl StdioCapture {
    fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl wasmtime_wasi::cli::IsTerminal for StdioCapture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for StdioCapture {
    fn p2_stream(&self) -> Box<dyn wasmtime_wasi::p2::OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only WASIp3 uses this, and p3 is not linked.
        wasmtime_wasi::cli::StdoutStream::async_stream(&wasmtime_wasi::p2::pipe::SinkOutputStream)
    }
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for StdioCapture {
    async fn ready(&mut self) {}
}

impl wasmtime_wasi::p2::OutputStream for StdioCapture {
    fn write(&mut self, bytes: bytes::Bytes) -> wasmtime_wasi::p2::StreamResult<()> {
        let mut buf = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let room = MAX_STDIO_BYTES.saturating_sub(buf.len());
        buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        Ok(())
    }

    fn flush(&mut self) -> wasmtime_wasi::p2::StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> wasmtime_wasi::p2::StreamResult<usize> {
        Ok(64 << 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_extracted() {
        let s = "thread '<unnamed>' panicked at src/lib.rs:12:5:\nboom \u{1b}[31m\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            panic_message(s).as_deref(),
            Some("boom \u{fffd}[31m (at src/lib.rs:12:5)")
        );
        assert_eq!(panic_message("nothing"), None);
    }

    #[test]
    fn clean_cuts_and_neutralises() {
        assert_eq!(clean("a\nb\x1bc", 100), "a\u{fffd}b\u{fffd}c");
        assert_eq!(clean("abcdef", 3), "abc…");
    }
}
