//! Property test: any token data comes back from every storage exactly as stored.

use globus_app_core::{AccessToken, RefreshToken, TokenData};
use globus_app_storage::{JsonTokenStorage, MemoryTokenStorage, TokenStorage};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;

const KNOWN: [&str; 7] = [
    "resource_server",
    "identity_id",
    "scope",
    "access_token",
    "refresh_token",
    "expires_at_seconds",
    "token_type",
];

fn json_value() -> impl Strategy<Value = Value> {
    // Floats are left out: serde_json parses them to the nearest value only with
    // its `float_roundtrip` feature.
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn token_data() -> impl Strategy<Value = TokenData> {
    (
        any::<String>(),
        any::<Option<String>>(),
        any::<String>(),
        any::<String>(),
        any::<Option<String>>(),
        any::<i64>(),
        any::<Option<String>>(),
        prop::collection::btree_map(
            any::<String>().prop_filter("not a known field", |k| !KNOWN.contains(&k.as_str())),
            json_value(),
            0..4,
        ),
    )
        .prop_map(|(rs, identity, scope, at, rt, exp, tt, extra)| TokenData {
            resource_server: rs,
            identity_id: identity,
            scope,
            access_token: AccessToken::new(at),
            refresh_token: rt.map(RefreshToken::new),
            expires_at_seconds: exp,
            token_type: tt,
            extra: extra.into_iter().collect::<BTreeMap<_, _>>(),
        })
}

fn storages(dir: &std::path::Path) -> Vec<Box<dyn TokenStorage>> {
    #[cfg_attr(not(feature = "sqlite"), allow(unused_mut))]
    let mut storages: Vec<Box<dyn TokenStorage>> = vec![
        Box::new(MemoryTokenStorage::new()),
        Box::new(JsonTokenStorage::new(dir.join("tokens.json"))),
    ];
    #[cfg(feature = "sqlite")]
    storages.push(Box::new(
        globus_app_storage::SqliteTokenStorage::open(dir.join("tokens.db")).expect("open"),
    ));
    storages
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_token_data_round_trips(namespace in any::<String>(), token in token_data()) {
        let dir = tempfile::tempdir().expect("tempdir");
        for storage in storages(dir.path()) {
            storage.store_token_data(&namespace, std::slice::from_ref(&token)).expect("store");
            let one = storage.get_token_data(&namespace, &token.resource_server).expect("get");
            prop_assert_eq!(one.as_ref(), Some(&token), "{:?}", storage);
            prop_assert_eq!(
                one.map(|t| t.access_token.secret().to_owned()),
                Some(token.access_token.secret().to_owned())
            );
            let all = storage.get_token_data_by_resource_server(&namespace).expect("get all");
            prop_assert_eq!(all.len(), 1);
            prop_assert!(storage.remove_token_data(&namespace, &token.resource_server).expect("remove"));
        }
    }
}
