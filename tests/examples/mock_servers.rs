//! Runs the three mock servers until Ctrl-C, to try the plugin commands by hand:
//!
//! ```sh
//! cargo run -p fairdraw-tests --example mock_servers
//! # then, in another shell, with the line it prints:
//! export FAIRDRAW_DEV_ORIGIN_MAP=...
//! export FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY=AIzaSyFairdrawMockKey-0123456789abcdef
//! fairdraw fetch --plugin youtube --post https://youtu.be/fDraw7Test0 --collection comments --out c.jsonl
//! ```
//!
//! `MOCK_FAULTS=ratelimit` rate-limits the first 3 requests of each mock
//! (resetting after 2 s) and fails every fifth with a 5xx; `MOCK_TAMPER=1`
//! makes the drand relay flip a signature bit.

use fairdraw_tests::mock::{Faults, drand, mastodon, youtube};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let faults = match std::env::var("MOCK_FAULTS").as_deref() {
        Ok("ratelimit") => Faults {
            rate_limit_first: 3,
            rate_limit_reset_secs: 2,
            fail_every: Some(5),
            ..Faults::default()
        },
        _ => Faults::default(),
    };
    let yt = youtube::start(youtube::Config {
        faults: faults.clone(),
        ..youtube::Config::default()
    })
    .await;
    let m = mastodon::start(mastodon::Config {
        faults: faults.clone(),
        public_origin: Some(mastodon::PRODUCTION_ORIGIN.to_owned()),
        ..mastodon::Config::default()
    })
    .await;
    let d = drand::start(drand::Config {
        faults,
        tamper: std::env::var_os("MOCK_TAMPER").is_some(),
        ..drand::Config::default()
    })
    .await;
    println!(
        "export FAIRDRAW_DEV_ORIGIN_MAP={}={},{}={},{}={}",
        youtube::PRODUCTION_ORIGIN,
        yt.origin,
        mastodon::PRODUCTION_ORIGIN,
        m.origin,
        drand::PRODUCTION_ORIGIN,
        d.origin
    );
    println!(
        "export FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY={}",
        youtube::API_KEY
    );
    println!("# YouTube video https://youtu.be/{}", youtube::VIDEO_ID);
    println!(
        "# Mastodon post {}/@{}/{}",
        mastodon::PRODUCTION_ORIGIN,
        mastodon::AUTHOR,
        mastodon::STATUS_ID
    );
    println!("# drand: quicknet round 123, default round 2634945");
    let _ = tokio::signal::ctrl_c().await;
    println!(
        "requests: youtube {}, mastodon {}, drand {}",
        yt.request_count(),
        m.request_count(),
        d.request_count()
    );
}
