use crate::support::Scratch;

/// RFC 3797 §6: 25 volunteers, 10 selected from three sources.
#[test]
fn reproduces_the_rfc_example() {
    let s = Scratch::new();
    let run = s
        .run(&[
            "rfc3797",
            "--pool",
            "25",
            "--select",
            "10",
            "--source",
            "9319",
            "--source",
            "2 5 12 8 10",
            "--source",
            "9 18 26 34 41 45",
        ])
        .success();
    let json = run.json();
    assert_eq!(json["key"], "9319./2.5.8.10.12./9.18.26.34.41.45./");
    assert_eq!(
        json["selected"],
        serde_json::json!([17, 7, 2, 16, 25, 23, 8, 24, 19, 13])
    );
}

#[test]
fn bad_selections_are_errors() {
    let s = Scratch::new();
    s.run(&["rfc3797", "--pool", "3", "--select", "5", "--source", "1"])
        .error(&["5", "3"]);
    s.run(&["rfc3797", "--pool", "0", "--select", "0", "--source", "1"])
        .error(&["empty"]);
    s.run(&["rfc3797", "--pool", "5", "--select", "2", "--source", ""])
        .error(&["source #1", "empty"]);
    s.run(&[
        "rfc3797", "--pool", "5", "--select", "2", "--source", "3.14",
    ])
    .error(&["source #1", "3.14"]);
}
