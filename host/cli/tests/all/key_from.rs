//! `verify URL` and `verify --key-from`: the bundle read over HTTP, the key
//! pinned from a service's published keys document with its validity.

use std::io::{Read, Write};
use std::net::TcpListener;

use serde_json::{Value, json};

use crate::support::Scratch;

/// A keys document listing `public_key` (hex) with the given validity.
fn keys_doc(public_key: &str, key_id: &str, from: &str, until: Option<&str>) -> Value {
    json!({"keys": [{
        "organization_id": "org_test",
        "organization": "Test",
        "key_id": key_id,
        "public_key": public_key,
        "valid_from": from,
        "valid_until": until,
    }]})
}

fn key_id(s: &Scratch, bundle: &str) -> String {
    s.json(bundle)["lock"]["key_id"]
        .as_str()
        .expect("key id")
        .to_owned()
}

#[test]
fn key_from_a_keys_document_pins_the_key_valid_at_lock_time() {
    let s = Scratch::new();
    let public = s.demo_bundle();
    let id = key_id(&s, "bundle.json");
    s.write_json(
        "keys.json",
        &keys_doc(&public, &id, "2020-01-01T00:00:00Z", None),
    );
    let run = s
        .run(&["verify", "bundle.json", "--key-from", "keys.json"])
        .verified();
    assert!(
        run.stdout.contains("pinned from keys.json"),
        "{}",
        run.stdout
    );

    // Retired before the lock was signed: refused, naming the validity.
    s.write_json(
        "retired.json",
        &keys_doc(
            &public,
            &id,
            "2020-01-01T00:00:00Z",
            Some("2021-01-01T00:00:00Z"),
        ),
    );
    s.run(&["verify", "bundle.json", "--key-from", "retired.json"])
        .error(&[
            "valid from 2020-01-01T00:00:00Z until 2021-01-01T00:00:00Z",
            "signed at",
        ]);
}

#[test]
fn key_from_refuses_a_document_without_the_bundles_key() {
    let s = Scratch::new();
    s.demo_bundle();
    let id = key_id(&s, "bundle.json");
    let other = s.keygen("other.json");
    // Another key listed under the bundle's key id: the id is recomputed
    // from the public key, so it does not pin.
    s.write_json(
        "keys.json",
        &keys_doc(&other, &id, "2020-01-01T00:00:00Z", None),
    );
    s.run(&["verify", "bundle.json", "--key-from", "keys.json"])
        .error(&["lists no key with id", &id]);
    s.write("bad.json", "{\"keys\": 3}");
    s.run(&["verify", "bundle.json", "--key-from", "bad.json"])
        .error(&["keys document is malformed"]);
}

/// Serves `body` with `status` to every connection, on a loopback port.
fn serve(status: &'static str, body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn verify_reads_a_bundle_and_keys_over_http() {
    let s = Scratch::new();
    let public = s.demo_bundle();
    let id = key_id(&s, "bundle.json");
    let bundle = serve("200 OK", s.read("bundle.json").into_bytes());
    let keys = serve(
        "200 OK",
        serde_json::to_vec(&keys_doc(&public, &id, "2020-01-01T00:00:00Z", None)).expect("json"),
    );
    s.run(&[
        "verify",
        &format!("{bundle}/v1/public/draws/demo/bundle"),
        "--key-from",
        &format!("{keys}/.well-known/fairdraw-keys.json"),
    ])
    .verified();

    let missing = serve("404 Not Found", b"{\"title\":\"Not Found\"}".to_vec());
    s.run(&["verify", &format!("{missing}/v1/public/draws/nope/bundle")])
        .error(&["answered 404"]);
}
