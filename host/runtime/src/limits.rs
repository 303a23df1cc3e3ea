//! Per-call resource limits and the store's memory limiter.

use serde::Deserialize;

/// The resource limits of one plugin call, and of one fetch (the pages of
/// one post's collection, [`fetch_all`](crate::pagination::fetch_all)).
///
/// A manifest's `[limits]` table overrides the defaults, within the host's
/// maxima ([`Limits::MAX`]): a plugin cannot grant itself unbounded resources.
/// The operator overrides the fetch bounds in turn
/// ([`FetchOptions`](crate::pagination::FetchOptions)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// HTTP requests per call (redirect hops count).
    pub max_requests_per_call: u32,
    /// Bytes of one response body.
    pub max_response_bytes: u64,
    /// Wall-clock time of one call, HTTP included, in milliseconds.
    pub timeout_ms: u64,
    /// Linear memory of one instance, in MiB.
    pub memory_mb: u64,
    /// Fuel of one call (about one unit per WebAssembly instruction).
    pub fuel: u64,
    /// Entries one fetch takes at most; the page that would pass it stops
    /// the fetch with an error.
    pub max_entries_per_fetch: u64,
    /// Bytes of entries (as JSON Lines, the form they are stored in) one
    /// fetch takes at most; the page that would pass it stops the fetch
    /// with an error.
    pub max_bytes_per_fetch: u64,
}

impl Limits {
    /// The defaults: enough for a page of a few thousand entries.
    pub const DEFAULT: Limits = Limits {
        max_requests_per_call: 8,
        max_response_bytes: 8 << 20,
        timeout_ms: 30_000,
        memory_mb: 128,
        fuel: 2_000_000_000,
        max_entries_per_fetch: 10_000_000,
        max_bytes_per_fetch: 8 << 30,
    };

    /// The host's maxima for manifest overrides.
    pub const MAX: Limits = Limits {
        max_requests_per_call: 1_000,
        max_response_bytes: 64 << 20,
        timeout_ms: 300_000,
        memory_mb: 1_024,
        fuel: 100_000_000_000,
        max_entries_per_fetch: 100_000_000,
        max_bytes_per_fetch: 64 << 30,
    };

    /// The minima: below these a Rust component cannot even start.
    pub const MIN: Limits = Limits {
        max_requests_per_call: 0,
        max_response_bytes: 1,
        timeout_ms: 1,
        memory_mb: 2,
        fuel: 1_000,
        max_entries_per_fetch: 1,
        max_bytes_per_fetch: 1,
    };

    /// Applies overrides, refusing values outside [`Limits::MIN`]..=[`Limits::MAX`].
    pub fn with_overrides(self, o: &LimitOverrides) -> Result<Limits, String> {
        fn pick<T: PartialOrd + Copy + std::fmt::Display>(
            name: &str,
            default: T,
            over: Option<T>,
            min: T,
            max: T,
        ) -> Result<T, String> {
            match over {
                None => Ok(default),
                Some(v) if v < min => {
                    Err(format!("limits.{name} = {v} is below the minimum {min}"))
                }
                Some(v) if v > max => Err(format!(
                    "limits.{name} = {v} exceeds the host maximum {max}"
                )),
                Some(v) => Ok(v),
            }
        }
        let (min, max) = (Limits::MIN, Limits::MAX);
        Ok(Limits {
            max_requests_per_call: pick(
                "max_requests_per_call",
                self.max_requests_per_call,
                o.max_requests_per_call,
                min.max_requests_per_call,
                max.max_requests_per_call,
            )?,
            max_response_bytes: pick(
                "max_response_bytes",
                self.max_response_bytes,
                o.max_response_bytes,
                min.max_response_bytes,
                max.max_response_bytes,
            )?,
            timeout_ms: pick(
                "timeout_ms",
                self.timeout_ms,
                o.timeout_ms,
                min.timeout_ms,
                max.timeout_ms,
            )?,
            memory_mb: pick(
                "memory_mb",
                self.memory_mb,
                o.memory_mb,
                min.memory_mb,
                max.memory_mb,
            )?,
            fuel: pick("fuel", self.fuel, o.fuel, min.fuel, max.fuel)?,
            max_entries_per_fetch: pick(
                "max_entries_per_fetch",
                self.max_entries_per_fetch,
                o.max_entries_per_fetch,
                min.max_entries_per_fetch,
                max.max_entries_per_fetch,
            )?,
            max_bytes_per_fetch: pick(
                "max_bytes_per_fetch",
                self.max_bytes_per_fetch,
                o.max_bytes_per_fetch,
                min.max_bytes_per_fetch,
                max.max_bytes_per_fetch,
            )?,
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// The `[limits]` table of a manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// See [`Limits::max_requests_per_call`].
    pub max_requests_per_call: Option<u32>,
    /// See [`Limits::max_response_bytes`].
    pub max_response_bytes: Option<u64>,
    /// See [`Limits::timeout_ms`].
    pub timeout_ms: Option<u64>,
    /// See [`Limits::memory_mb`].
    pub memory_mb: Option<u64>,
    /// See [`Limits::fuel`].
    pub fuel: Option<u64>,
    /// See [`Limits::max_entries_per_fetch`].
    pub max_entries_per_fetch: Option<u64>,
    /// See [`Limits::max_bytes_per_fetch`].
    pub max_bytes_per_fetch: Option<u64>,
}

/// Entries one `fetch-page` may return; a larger page is refused.
pub const MAX_PAGE_ENTRIES: usize = 100_000;

/// Bytes the host copies out of an instance in one call or host call
/// (wasmtime's "hostcall fuel"): a page of ten million entries is refused
/// before the host allocates it.
pub const MAX_TRANSFER_BYTES: usize = 64 << 20;

/// Log lines one call may write; later lines are dropped.
pub const MAX_LOG_LINES: usize = 1_000;

/// Bytes of one log line kept; the rest is cut.
pub const MAX_LOG_LINE_BYTES: usize = 4_096;

/// Bytes of stderr and stdout kept per call.
pub const MAX_STDIO_BYTES: usize = 64 << 10;

/// Same-origin redirects followed per request.
pub const MAX_REDIRECTS: u32 = 5;

/// Pages one [`fetch_all`](crate::pagination::fetch_all) fetches at most
/// (10 million entries at 100 a page); past it the fetch stops with a fault.
pub const MAX_PAGES_PER_FETCH: u64 = 100_000;

/// Empty pages in a row after which a fetch stops with a fault: a source
/// that keeps answering nothing with a new cursor never ends otherwise.
pub const MAX_EMPTY_PAGES_IN_A_ROW: u64 = 20;

/// The store's resource limiter: bounds linear memory (summed over the
/// component's memories), tables and instances, and remembers that the
/// memory limit was hit so the resulting trap is reported as such.
#[derive(Debug)]
pub(crate) struct StoreLimiter {
    memory_limit: usize,
    memory_used: usize,
    pub(crate) memory_limit_hit: bool,
}

/// The error that traps an instance that grows past its memory limit.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {0} MiB exceeded")]
pub(crate) struct MemoryLimitExceeded(pub(crate) u64);

impl StoreLimiter {
    pub(crate) fn new(memory_mb: u64) -> StoreLimiter {
        let limit = usize::try_from(memory_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        StoreLimiter {
            memory_limit: limit,
            memory_used: 0,
            memory_limit_hit: false,
        }
    }
}

impl wasmtime::ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grow = desired.saturating_sub(current);
        let total = self.memory_used.saturating_add(grow);
        if total > self.memory_limit {
            self.memory_limit_hit = true;
            return Err(wasmtime::Error::new(MemoryLimitExceeded(
                (self.memory_limit >> 20) as u64,
            )));
        }
        self.memory_used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_within_bounds() {
        let o = LimitOverrides {
            fuel: Some(5_000),
            memory_mb: Some(64),
            ..Default::default()
        };
        let l = Limits::DEFAULT.with_overrides(&o).expect("valid");
        assert_eq!(l.fuel, 5_000);
        assert_eq!(l.memory_mb, 64);
        assert_eq!(l.timeout_ms, Limits::DEFAULT.timeout_ms);
    }

    #[test]
    fn overrides_above_the_host_maximum_are_refused() {
        let o = LimitOverrides {
            memory_mb: Some(4_096),
            ..Default::default()
        };
        let e = Limits::DEFAULT.with_overrides(&o).expect_err("too big");
        assert!(
            e.contains("limits.memory_mb = 4096 exceeds the host maximum 1024"),
            "{e}"
        );
    }

    #[test]
    fn limiter_sums_memories_and_remembers_the_hit() {
        use wasmtime::ResourceLimiter;
        let mut l = StoreLimiter::new(2);
        assert!(l.memory_growing(0, 1 << 20, None).expect("fits"));
        assert!(l.memory_growing(0, 1 << 20, None).expect("fits"));
        assert!(l.memory_growing(1 << 20, 2 << 20, None).is_err());
        assert!(l.memory_limit_hit);
    }
}
