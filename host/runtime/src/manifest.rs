//! `plugin.toml`: what a plugin is and what it may do.
//!
//! ```toml
//! id = "youtube"
//! version = "0.1.0"
//! kind = "source"                 # source | filter | beacon
//! wit = "0.1"
//! component = "youtube.wasm"      # relative to this file
//! description = "YouTube comments"
//!
//! [http]
//! allow = ["https://www.googleapis.com"]
//!
//! [[credentials]]
//! name = "api-key"                # from $FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY
//! origin = "https://www.googleapis.com"
//! query = "key"                   # or: header = "Authorization", format = "Bearer {}"
//!
//! [limits]                        # optional overrides, within the host's maxima
//! timeout_ms = 20000
//! max_entries_per_fetch = 1000000 # per fetch; the operator may override it
//!
//! [config]                        # strings the plugin reads with `config.get`
//! page_size = "100"
//! ```
//!
//! Unknown keys are errors, so a typo never silently drops a restriction.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::http::Origin;
use super::limits::{LimitOverrides, Limits};

/// The file name of a manifest.
pub const MANIFEST_FILE: &str = "plugin.toml";

/// The WIT versions this host implements.
pub const SUPPORTED_WIT: &[&str] = &["0.1"];

/// The kind of plugin, i.e. the WIT world it implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    /// `source-plugin`: a social platform.
    Source,
    /// `filter-plugin`: an eligibility filter (no network).
    Filter,
    /// `beacon-plugin`: a randomness beacon.
    Beacon,
}

impl PluginKind {
    /// `source`, `filter` or `beacon`.
    pub fn name(self) -> &'static str {
        match self {
            PluginKind::Source => "source",
            PluginKind::Filter => "filter",
            PluginKind::Beacon => "beacon",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the host puts a credential in requests to its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// A query parameter, e.g. `?key=…`.
    Query(String),
    /// A header; `format` has one `{}` replaced by the value, e.g. `Bearer {}`.
    Header {
        /// Header name, lowercase.
        name: String,
        /// Value template.
        format: String,
    },
}

/// A secret the host attaches to the plugin's requests to one origin; the
/// host never gives it to the plugin and redacts it from what comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialSpec {
    /// The credential's name, e.g. `api-key`.
    pub name: String,
    /// The only origin it is sent to.
    pub origin: Origin,
    /// Where it goes in the request.
    pub placement: Placement,
}

impl CredentialSpec {
    /// The environment variable holding the value:
    /// `FAIRDRAW_CREDENTIAL_<ID>_<NAME>`, uppercased, a `-` in the id as
    /// `__` and a `-` in the name as `_` (`youtube` + `api-key` →
    /// `FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY`, `youtube-api` + `key` →
    /// `FAIRDRAW_CREDENTIAL_YOUTUBE__API_KEY`).
    ///
    /// The mapping is injective over valid manifests, so no plugin can be
    /// given another plugin's credential by picking its id: an id is
    /// `[a-z0-9-]+` and a name starts with `[a-z0-9]`, so the id ends at
    /// the first run of an odd number of `_` (its dashes are the pairs, the
    /// last one is the separator); the names of one plugin that map to the
    /// same variable (`api-key`, `api_key`) are refused by
    /// [`Manifest::parse`].
    pub fn env_var(&self, plugin_id: &str) -> String {
        format!(
            "FAIRDRAW_CREDENTIAL_{}_{}",
            plugin_id.to_ascii_uppercase().replace('-', "__"),
            self.name.to_ascii_uppercase().replace('-', "_")
        )
    }
}

/// A parsed and validated `plugin.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// `[a-z0-9-]+`, unique among installed plugins.
    pub id: String,
    /// The plugin's version.
    pub version: String,
    /// The world it implements.
    pub kind: PluginKind,
    /// The WIT version, e.g. `0.1`.
    pub wit: String,
    /// The component file as written in the manifest.
    pub component: PathBuf,
    /// One line for `plugin list`.
    pub description: String,
    /// Origins the plugin may reach.
    pub allow: Vec<Origin>,
    /// Credentials the host attaches.
    pub credentials: Vec<CredentialSpec>,
    /// Limits after overrides.
    pub limits: Limits,
    /// The `[config]` table.
    pub config: BTreeMap<String, String>,
}

/// Why a manifest is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not TOML, a missing or unknown key, or a value of the wrong type.
    #[error("{0}")]
    Syntax(String),
    /// A value is present but not acceptable.
    #[error("`{field}`: {message}")]
    Invalid {
        /// The key, e.g. `http.allow[0]`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    id: String,
    version: String,
    kind: PluginKind,
    wit: String,
    component: PathBuf,
    description: String,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    credentials: Vec<RawCredential>,
    #[serde(default)]
    limits: LimitOverrides,
    #[serde(default)]
    config: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default)]
    allow: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredential {
    name: String,
    origin: String,
    query: Option<String>,
    header: Option<String>,
    format: Option<String>,
}

/// Header names a credential may not use: the host sets them itself.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
];

impl Manifest {
    /// Parses and validates a manifest's text.
    ///
    /// Fails on invalid TOML, missing or unknown keys (naming them), an id
    /// outside `[a-z0-9-]+`, an unsupported `wit`, an `http.allow` entry that
    /// is not `https://host[:port]` with a DNS name, a credential for an origin
    /// not in `http.allow`, limits beyond the host's maxima, and network
    /// access for a filter.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let raw: Raw = toml::from_str(text)
            .map_err(|e| ManifestError::Syntax(e.to_string().trim_end().to_owned()))?;

        if raw.id.is_empty()
            || raw.id.len() > 64
            || !raw
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                "id",
                format!(
                    "{:?} must be 1 to 64 characters of a-z, 0-9 and '-'",
                    raw.id
                ),
            ));
        }
        if raw.version.trim().is_empty() {
            return Err(invalid("version", "must not be empty"));
        }
        if !SUPPORTED_WIT.contains(&raw.wit.as_str()) {
            return Err(invalid(
                "wit",
                format!(
                    "unsupported WIT version {:?}; this fairdraw supports {}",
                    raw.wit,
                    SUPPORTED_WIT.join(", ")
                ),
            ));
        }
        if raw.component.as_os_str().is_empty() {
            return Err(invalid("component", "must name the component file"));
        }

        let mut allow: Vec<Origin> = Vec::new();
        for (i, a) in raw.http.allow.iter().enumerate() {
            let o = Origin::parse(a).map_err(|m| invalid(format!("http.allow[{i}]"), m))?;
            if !allow.contains(&o) {
                allow.push(o);
            }
        }
        if raw.kind == PluginKind::Filter && !allow.is_empty() {
            return Err(invalid(
                "http.allow",
                "filter plugins have no network access; remove [http]",
            ));
        }

        let mut credentials: Vec<CredentialSpec> = Vec::new();
        for (i, c) in raw.credentials.into_iter().enumerate() {
            let field = |k: &str| format!("credentials[{i}].{k}");
            if !c
                .name
                .starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                || !c
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                return Err(invalid(
                    field("name"),
                    format!(
                        "{:?} must be a-z, 0-9, '-' or '_', starting with a-z or 0-9",
                        c.name
                    ),
                ));
            }
            let folded = c.name.replace('-', "_");
            if credentials
                .iter()
                .any(|x| x.name.replace('-', "_") == folded)
            {
                return Err(invalid(
                    field("name"),
                    format!("duplicate credential {:?}", c.name),
                ));
            }
            let origin = Origin::parse(&c.origin).map_err(|m| invalid(field("origin"), m))?;
            if !allow.contains(&origin) {
                return Err(invalid(
                    field("origin"),
                    format!(
                        "{origin} is not in http.allow; a credential is only sent to an allowed origin"
                    ),
                ));
            }
            let placement = match (c.query, c.header, c.format) {
                (Some(q), None, None) => {
                    if q.is_empty() {
                        return Err(invalid(field("query"), "must name the query parameter"));
                    }
                    Placement::Query(q)
                }
                (None, Some(h), format) => {
                    let name = h.to_ascii_lowercase();
                    if name.is_empty()
                        || !name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    {
                        return Err(invalid(
                            field("header"),
                            format!("{h:?} is not a valid header name"),
                        ));
                    }
                    if RESERVED_HEADERS.contains(&name.as_str()) {
                        return Err(invalid(
                            field("header"),
                            format!("{h:?} is set by the host"),
                        ));
                    }
                    let format = format.unwrap_or_else(|| "{}".to_owned());
                    if format.matches("{}").count() != 1 {
                        return Err(invalid(field("format"), "must contain `{}` exactly once"));
                    }
                    Placement::Header { name, format }
                }
                (Some(_), Some(_), _) => {
                    return Err(invalid(
                        field("query"),
                        "give either `query` or `header`, not both",
                    ));
                }
                (Some(_), None, Some(_)) => {
                    return Err(invalid(
                        field("format"),
                        "`format` goes with `header`, not `query`",
                    ));
                }
                (None, None, _) => return Err(invalid(field("query"), "give `query` or `header`")),
            };
            credentials.push(CredentialSpec {
                name: c.name,
                origin,
                placement,
            });
        }

        let limits = Limits::DEFAULT
            .with_overrides(&raw.limits)
            .map_err(|m| invalid("limits", m))?;

        Ok(Manifest {
            id: raw.id,
            version: raw.version,
            kind: raw.kind,
            wit: raw.wit,
            component: raw.component,
            description: raw.description,
            allow,
            credentials,
            limits,
            config: raw.config,
        })
    }

    /// The component's path, resolved against the manifest's directory.
    pub fn component_path(&self, manifest_dir: &Path) -> PathBuf {
        manifest_dir.join(&self.component)
    }
}

/// Rewrites a manifest's `component` key, keeping everything else (used by
/// `install`, which copies the component next to the manifest).
pub(crate) fn with_component(text: &str, component: &str) -> Result<String, ManifestError> {
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| ManifestError::Syntax(e.to_string()))?;
    table.insert(
        "component".to_owned(),
        toml::Value::String(component.to_owned()),
    );
    toml::to_string(&table).map_err(|e| ManifestError::Syntax(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "youtube"
version = "0.1.0"
kind = "source"
wit = "0.1"
component = "youtube.wasm"
description = "YouTube comments"

[http]
allow = ["https://www.googleapis.com", "https://Example.org:8443"]

[[credentials]]
name = "api-key"
origin = "https://www.googleapis.com"
query = "key"

[[credentials]]
name = "token"
origin = "https://example.org:8443"
header = "Authorization"
format = "Bearer {}"

[limits]
timeout_ms = 5000

[config]
page_size = "100"
"#;

    #[test]
    fn parses_a_full_manifest() {
        let m = Manifest::parse(GOOD).expect("valid");
        assert_eq!(m.id, "youtube");
        assert_eq!(m.kind, PluginKind::Source);
        assert_eq!(m.allow.len(), 2);
        assert_eq!(m.allow[1].to_string(), "https://example.org:8443");
        assert_eq!(
            m.credentials[0].env_var("youtube"),
            "FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY"
        );
        assert_eq!(
            m.credentials[1].placement,
            Placement::Header {
                name: "authorization".into(),
                format: "Bearer {}".into()
            }
        );
        assert_eq!(m.limits.timeout_ms, 5000);
        assert_eq!(m.limits.fuel, Limits::DEFAULT.fuel);
        assert_eq!(m.config["page_size"], "100");
    }

    fn err(text: &str) -> String {
        Manifest::parse(text).expect_err("invalid").to_string()
    }

    fn with(extra: &str) -> String {
        format!(
            "id = \"x\"\nversion = \"1\"\nkind = \"source\"\nwit = \"0.1\"\ncomponent = \"x.wasm\"\ndescription = \"\"\n{extra}"
        )
    }

    #[test]
    fn credential_variables_do_not_collide() {
        // Issue 12: `youtube-api` + `key` read youtube's `api_key`.
        let spec = |name: &str| CredentialSpec {
            name: name.into(),
            origin: Origin::parse("https://a.example").expect("origin"),
            placement: Placement::Query("k".into()),
        };
        assert_eq!(
            spec("api_key").env_var("youtube"),
            "FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY"
        );
        assert_eq!(
            spec("key").env_var("youtube-api"),
            "FAIRDRAW_CREDENTIAL_YOUTUBE__API_KEY"
        );
        let mut vars = BTreeMap::new();
        for id in ["a", "a-b", "a-b-c", "a--b", "a-", "-a", "b"] {
            for name in ["b", "b-c", "c", "b_c", "c-d", "0"] {
                let var = spec(name).env_var(id);
                let folded = name.replace('-', "_");
                if let Some(prev) = vars.insert(var.clone(), (id, folded.clone())) {
                    assert_eq!(prev, (id, folded), "{var}");
                }
            }
        }
        // Names of one plugin that fold to the same variable are refused.
        let e = err(&with(
            "[http]\nallow = [\"https://www.googleapis.com\"]\n[[credentials]]\nname = \"api-key\"\norigin = \"https://www.googleapis.com\"\nquery = \"key\"\n\
             [[credentials]]\nname = \"api_key\"\norigin = \"https://www.googleapis.com\"\nquery = \"k\"\n",
        ));
        assert!(e.contains("duplicate credential"), "{e}");
        let e = err(&with(
            "[http]\nallow = [\"https://www.googleapis.com\"]\n[[credentials]]\nname = \"-key\"\norigin = \"https://www.googleapis.com\"\nquery = \"key\"\n",
        ));
        assert!(e.contains("starting with a-z or 0-9"), "{e}");
    }

    #[test]
    fn unknown_keys_are_named() {
        assert!(err(&with("colour = \"red\"")).contains("unknown field `colour`"));
        assert!(err(&with("[limits]\nfule = 3")).contains("unknown field `fule`"));
        assert!(err(&with("[http]\nallowed = []")).contains("unknown field `allowed`"));
        assert!(
            err(&with("[[credentials]]\nname = \"a\"\norigin = \"https://a.b\"\nquery = \"k\"\nsecret = \"s\""))
                .contains("unknown field `secret`")
        );
    }

    #[test]
    fn bad_values_are_explained() {
        assert!(err(&with("").replace("\"x\"", "\"X_1\"")).contains("`id`"));
        assert!(
            err(&with("").replace("\"0.1\"", "\"0.2\""))
                .contains("unsupported WIT version \"0.2\"")
        );
        assert!(
            err(&with("").replace("\"source\"", "\"sink\"")).contains("unknown variant `sink`")
        );
        assert!(err(&with("[http]\nallow = [\"http://a.example\"]")).contains("only https://"));
        assert!(err(&with("[http]\nallow = [\"https://10.0.0.1\"]")).contains("IP address"));
        assert!(err(&with("[http]\nallow = [\"https://a.example/path\"]")).contains("path"));
        assert!(
            err(&with(
                "[[credentials]]\nname = \"k\"\norigin = \"https://a.example\"\nquery = \"key\""
            ))
            .contains("not in http.allow")
        );
        assert!(
            err(&with("[limits]\nfuel = 1000000000000000")).contains("exceeds the host maximum")
        );
        assert!(err(&with("[config]\nn = 3")).contains("invalid type: integer"));
        let filter =
            with("[http]\nallow = [\"https://a.example\"]").replace("\"source\"", "\"filter\"");
        assert!(err(&filter).contains("filter plugins have no network access"));
    }

    #[test]
    fn with_component_rewrites_only_that_key() {
        let text = with_component(GOOD, "youtube.wasm").expect("rewritten");
        let m = Manifest::parse(&text).expect("still valid");
        assert_eq!(
            m,
            Manifest {
                component: "youtube.wasm".into(),
                ..Manifest::parse(GOOD).expect("valid")
            }
        );
    }
}
