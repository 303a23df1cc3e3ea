use crate::plugin::{CacheStatus, LoadError, PluginKind, PluginRuntime};
use crate::support::{Setup, component, manifest, repo, runtime};

#[test]
fn install_list_inspect_uninstall() {
    let data = tempfile::tempdir().expect("tempdir");
    let (rt, _) = runtime(Setup {
        data_dir: Some(data.path().to_owned()),
        ..Setup::default()
    });
    component("spam-filter");
    let info = rt
        .install(repo().join("plugins/spam-filter"))
        .expect("installs");
    let dir = data.path().join("plugins/spam-filter");
    assert_eq!(info.manifest_path, dir.join("plugin.toml"));
    assert_eq!(info.component_path, dir.join("spam_filter.wasm"));
    assert_eq!(info.manifest.kind, PluginKind::Filter);
    assert!(
        info.exports
            .contains(&"fairdraw:plugin/filter@0.1.0".to_owned()),
        "{:?}",
        info.exports
    );
    assert!(
        info.imports.iter().all(|i| !i.contains("http")),
        "{:?}",
        info.imports
    );

    let listed = rt.list().expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].manifest.as_ref().expect("manifest").id,
        "spam-filter"
    );
    assert!(listed[0].precompiled);

    // A fresh runtime on the same data directory finds it and starts from the cache.
    let (rt2, _) = runtime(Setup {
        data_dir: Some(data.path().to_owned()),
        ..Setup::default()
    });
    let info = rt2.inspect("spam-filter").expect("inspect");
    assert_eq!(info.cache, CacheStatus::Hit);
    assert!(rt2.filter("spam-filter").is_ok());
    assert!(matches!(
        rt2.source("spam-filter"),
        Err(LoadError::WrongKind {
            expected: PluginKind::Source,
            actual: PluginKind::Filter,
            ..
        })
    ));

    assert!(rt2.uninstall("spam-filter").expect("uninstall"));
    assert!(rt2.list().expect("list").is_empty());
    assert!(matches!(
        rt2.filter("spam-filter"),
        Err(LoadError::NotInstalled(_))
    ));
}

#[test]
fn bad_manifests_and_components_are_refused_clearly() {
    let (rt, _) = runtime(Setup::default());
    let (_d, path) = manifest("typo", "source", "hostile-panic", "[limits]\nfule = 1");
    let e = rt.load(&path).expect_err("typo").to_string();
    assert!(e.contains("unknown field `fule`"), "{e}");

    let (_d, path) = manifest("wrong-kind", "beacon", "hostile-panic", "");
    let e = rt.load(&path).expect_err("kind").to_string();
    assert!(
        e.contains(
            "is a beacon plugin but its component does not export `fairdraw:plugin/beacon@0.1.0`"
        ),
        "{e}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("x.wasm"), b"not wasm").expect("write");
    std::fs::write(
        dir.path().join("plugin.toml"),
        "id = \"junk\"\nversion = \"1\"\nkind = \"source\"\nwit = \"0.1\"\ncomponent = \"x.wasm\"\ndescription = \"\"\n",
    )
    .expect("write");
    let e = rt.load(dir.path()).expect_err("junk").to_string();
    assert!(
        e.contains("x.wasm: not a valid WebAssembly component"),
        "{e}"
    );
}

#[test]
fn runtime_new_reads_the_data_dir_it_is_given() {
    let data = tempfile::tempdir().expect("tempdir");
    let rt = PluginRuntime::new(data.path()).expect("runtime");
    assert_eq!(rt.plugins_dir(), data.path().join("plugins"));
    assert!(rt.list().expect("list").is_empty());
}

#[test]
fn every_plugin_has_a_host_test() {
    // As wasmtime's test-programs: a plugin crate no test here names fails
    // the suite, so a new hostile plugin cannot go untested.
    let tests_dir = repo().join("host/runtime/tests/all");
    let sources: String = std::fs::read_dir(&tests_dir)
        .expect("tests")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read"))
        .collect();
    let plugins = repo().join("plugins");
    let mut crates = Vec::new();
    for (dir, prefix) in [
        (plugins.clone(), ""),
        (plugins.join("hostile"), "hostile-"),
        (plugins.join("bench"), "bench-"),
        (plugins.join("testing"), "testing-"),
    ] {
        for e in std::fs::read_dir(&dir).expect("plugins") {
            let path = e.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if name != "sdk" && path.join("Cargo.toml").is_file() {
                crates.push(format!("{prefix}{name}"));
            }
        }
    }
    assert!(crates.len() >= 15, "{crates:?}");
    let untested: Vec<&String> = crates
        .iter()
        .filter(|c| !sources.contains(&format!("\"{c}\"")))
        .collect();
    assert!(
        untested.is_empty(),
        "plugins without a host test in host/runtime/tests/all: {untested:?}"
    );
}

/// Released WIT is never edited (wit/README.md): plugins built against it
/// must keep loading. A change to the contract goes in a new version folder.
#[test]
fn released_wit_is_frozen() {
    use sha2::{Digest, Sha256};
    const RELEASED: &[(&str, &str)] = &[(
        "wit/v0.1/plugin.wit",
        "c1de924586cf674d4e2ed96084fa0aad9cb4665a0518c3c1ee014ec9fc209a44",
    )];
    for (path, sha256) in RELEASED {
        let bytes = std::fs::read(repo().join(path)).expect("read the WIT");
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            *sha256,
            "{path} was edited, but released WIT is frozen: add a new version instead"
        );
    }
}
