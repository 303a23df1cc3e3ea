use crate::support::Scratch;

#[test]
fn writes_a_private_key_file() {
    let s = Scratch::new();
    let run = s.run(&["keygen", "--out", "key.json"]).success();
    let key = s.json("key.json");
    assert_eq!(key["fairdraw_key"], 1);
    assert_eq!(key["algorithm"], "ed25519");
    let public = key["public_key"].as_str().expect("public_key");
    assert_eq!(public.len(), 64);
    assert_eq!(key["secret_key"].as_str().map(str::len), Some(64));
    assert!(
        run.stdout.contains(public),
        "keygen prints the public key:\n{}",
        run.stdout
    );
    assert!(
        !run.stdout
            .contains(key["secret_key"].as_str().expect("secret_key")),
        "keygen must not print the secret key"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.path("key.json"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode");
    }
}

#[test]
fn refuses_to_overwrite() {
    let s = Scratch::new();
    s.keygen("key.json");
    let before = s.read("key.json");
    s.run(&["keygen", "--out", "key.json"])
        .error(&["key.json", "already exists"]);
    assert_eq!(s.read("key.json"), before, "the existing key is untouched");
}

#[test]
fn every_key_is_new() {
    let s = Scratch::new();
    assert_ne!(s.keygen("a.json"), s.keygen("b.json"));
}

#[test]
fn unwritable_path_is_an_error() {
    let s = Scratch::new();
    s.run(&["keygen", "--out", "no/such/dir/key.json"])
        .error(&["cannot write"]);
}
