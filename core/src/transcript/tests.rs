//! Round trips of the recorded shapes.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use super::*;
use crate::app::{Input, TransportError, TransportErrorKind};
use crate::redirect::RedirectParams;
use std::sync::Arc;
use std::time::Duration;

fn round_trip(input: Input) -> Given {
    let given = Given::of(&input).unwrap();
    let text = serde_json::to_string(&given).unwrap();
    let back: Given = serde_json::from_str(&text).unwrap();
    assert_eq!(back, given);
    let again = Given::of(&back.to_input().unwrap()).unwrap();
    assert_eq!(again, given, "{text}");
    given
}

#[test]
fn every_input_round_trips() {
    let response = http::Response::builder()
        .status(429)
        .header("retry-after", "3")
        .body(br#"{"errors": [{"code": "x"}]}"#.to_vec())
        .unwrap();
    round_trip(Input::Response(response));
    let html = http::Response::builder()
        .status(502)
        .body(b"<html>bad gateway</html>".to_vec())
        .unwrap();
    let given = round_trip(Input::Response(html));
    assert!(matches!(
        given,
        Given::Response {
            body: Some(Payload::Text(_)),
            ..
        }
    ));
    let binary = http::Response::builder()
        .status(200)
        .body(vec![0xff, 0x00, 0xfe])
        .unwrap();
    let given = round_trip(Input::Response(binary));
    assert!(matches!(
        given,
        Given::Response {
            body: Some(Payload::Base64(_)),
            ..
        }
    ));
    for kind in [
        TransportErrorKind::Timeout,
        TransportErrorKind::Connect,
        TransportErrorKind::ConnectionLost,
        TransportErrorKind::Tls,
        TransportErrorKind::Other,
    ] {
        round_trip(Input::TransportFailed(TransportError::new(kind, "boom")));
    }
    round_trip(Input::Loaded(Default::default()));
    round_trip(Input::LoadedPartly {
        tokens: Default::default(),
        unreadable: vec!["rs".into()],
    });
    for input in [
        Input::Stored,
        Input::Fenced,
        Input::LeaseAcquired { fence: 7 },
        Input::LeaseBusy {
            remaining: Duration::from_millis(250),
        },
        Input::Released,
        Input::Removed,
        Input::Woke,
        Input::Continue,
    ] {
        round_trip(input);
    }
    let failure: crate::app::SharedError = Arc::new(std::io::Error::other("disk full"));
    round_trip(Input::StorageFailed(failure.clone()));
    round_trip(Input::LoginFailed(failure));
    let mut random = [0u8; 48];
    random[3] = 0xab;
    let given = round_trip(Input::LoginPrepared {
        redirect_uri: "http://localhost:1234".into(),
        random,
    });
    assert!(
        matches!(&given, Given::LoginPrepared { random, .. } if random.starts_with("000000ab"))
    );
    round_trip(Input::Redirect(RedirectParams::from_query(
        "code=c&state=s",
    )));
    round_trip(Input::Redirect(
        RedirectParams::from_pasted("bare-code").unwrap(),
    ));
    round_trip(Input::Redirect(RedirectParams::from_query(
        "error=access_denied&error_description=no+thanks&state=s",
    )));
    assert!(Given::of(&Input::Start).is_none());
}

#[test]
fn malformed_recorded_inputs_are_errors() {
    let bad = [
        r#"{"given": "transport_failed", "kind": "gremlins", "message": ""}"#,
        r#"{"given": "login_prepared", "redirect_uri": "x", "random": "abc"}"#,
        r#"{"given": "login_prepared", "redirect_uri": "x", "random": "zz00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"}"#,
        r#"{"given": "loaded", "tokens": [{"scope": 1}]}"#,
        r#"{"given": "response", "status": 99}"#,
    ];
    for text in bad {
        let given: Given = serde_json::from_str(text).unwrap();
        assert!(given.to_input().is_err(), "{text}");
    }
}

#[test]
fn other_formats_are_refused() {
    let err = Transcript::from_json(r#"{"format": 2, "operations": []}"#).unwrap_err();
    assert!(err.to_string().contains("format 2"), "{err}");
    assert!(Transcript::from_json("[]").is_err());
    let empty = Transcript::default();
    assert_eq!(Transcript::from_json(&empty.to_json()).unwrap(), empty);
}
