use std::path::Path;

use crate::support::{TestApp, apps};

/// A built widget directory as `web-widget/build.mjs` lays it out, with
/// stand-in contents (the real build is tested in Chromium by tests/browser).
fn fake_build(dir: &Path) {
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
    write(
        "manifest.json",
        r#"{"format": 1, "entry": "fairdraw.js", "element": "fairdraw.0123456789abcdef.js",
            "worker": "fairdraw-worker.0123456789abcdef.js", "wasm": "fairdraw.0123456789abcdef.wasm",
            "immutable": ["fairdraw.0123456789abcdef.js", "fairdraw-worker.0123456789abcdef.js", "fairdraw.0123456789abcdef.wasm"]}"#,
    );
    write("fairdraw.js", "export {};");
    write("fairdraw.0123456789abcdef.js", "export {};");
    write("fairdraw-worker.0123456789abcdef.js", "");
    write("fairdraw.0123456789abcdef.wasm", "\0asm");
    write("verify.html", "<!doctype html><title>verify</title>");
    write(
        "results.html",
        "<!doctype html><title>{{TITLE}}</title><fairdraw-draw draw=\"{{DRAW_ID}}\"></fairdraw-draw>",
    );
    write("secret.txt", "not listed");
}

fn with_dir(mut app: TestApp, dir: &Path) -> TestApp {
    app.state = app.state.with_widget_dir(dir.to_owned());
    app
}

#[tokio::test]
async fn widget_files_pages_and_their_headers() {
    let built = tempfile::tempdir().expect("tempdir");
    fake_build(built.path());
    for app in apps("pages_served").await {
        let app = with_dir(app, built.path());
        let r = app
            .get("/widget/fairdraw.0123456789abcdef.wasm", None)
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/wasm"));
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        let r = app.get("/widget/fairdraw.js", None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
        assert_eq!(
            r.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        // Only what the manifest lists.
        for path in [
            "/widget/secret.txt",
            "/widget/manifest.json",
            "/widget/..%2Fsecret.txt",
        ] {
            assert_eq!(app.get(path, None).await.status, 404, "{path}");
        }
        let r = app.get("/verify", None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));

        // The results page names the draw, escaped.
        let id = app.draft(&app.admin, "secret").await;
        let r = app.get(&format!("/d/{id}"), None).await;
        assert_eq!(r.status, 200);
        let html = String::from_utf8(r.bytes).expect("utf-8");
        assert!(html.contains(&format!("draw=\"{id}\"")), "{html}");
        assert!(html.contains("<title>ACME launch</title>"), "{html}");
        let r = app.get("/d/no-such-draw", None).await;
        assert_eq!(r.status, 404);
        assert!(String::from_utf8_lossy(&r.bytes).contains("not found"));

        // The public API is readable from other sites.
        let r = app.get(&format!("/v1/public/draws/{id}"), None).await;
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        app.cleanup().await;
    }
}

#[tokio::test]
async fn without_a_built_widget_the_pages_say_how_to_build_it() {
    let empty = tempfile::tempdir().expect("tempdir");
    for app in apps("pages_not_built").await {
        let app = with_dir(app, &empty.path().join("dist"));
        for path in ["/verify", "/widget/fairdraw.js", "/d/anything"] {
            let r = app.get(path, None).await;
            assert_eq!(r.status, 503, "{path}");
            let text = String::from_utf8_lossy(&r.bytes);
            assert!(text.contains("make widget"), "{path}: {text}");
        }
        // The API itself is unaffected.
        assert_eq!(app.get("/healthz", None).await.status, 200);
        app.cleanup().await;
    }
}
