//! The conversation table in the SAM template: keys, indexes, stream and TTL as the
//! store adapter reads and writes them.

use asyncdesk::store::items;
use asyncdesk_tests::template::Template;

#[test]
fn table_matches_the_store_adapter() {
    let t = Template::load().unwrap().table().unwrap();
    assert_eq!(
        t.key_schema,
        [
            ("pk".to_string(), "HASH".to_string()),
            ("sk".to_string(), "RANGE".to_string())
        ]
    );
    // The queue indexes, as the store reads them, projecting what the lifecycle
    // reads (and nothing a message changes).
    use asyncdesk::lifecycle::keys::{AGENT_INDEX, DEADLINE_INDEX, STATUS_INDEX};
    use asyncdesk::store::state;
    let names: Vec<&str> = t.indexes.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            STATUS_INDEX,
            DEADLINE_INDEX,
            AGENT_INDEX,
            items::CHANGE_INDEX,
            asyncdesk::store::waits::WAIT_INDEX
        ]
    );
    // The reports' waits by month: the whole wait (a report reads nothing else).
    let waits = &t.indexes[4];
    assert_eq!(
        waits.key_schema,
        [
            (asyncdesk::store::waits::WM.to_string(), "HASH".to_string()),
            (
                asyncdesk::store::waits::WM_AT.to_string(),
                "RANGE".to_string()
            )
        ]
    );
    assert_eq!(waits.projection, "ALL");
    // The desk's change feed: every conversation's key by its last write.
    let feed = &t.indexes[3];
    assert_eq!(
        feed.key_schema,
        [
            (items::CH.to_string(), "HASH".to_string()),
            (items::CH_AT.to_string(), "RANGE".to_string())
        ]
    );
    assert_eq!(feed.projection, "KEYS_ONLY");
    assert!(
        t.attributes
            .contains(&(items::CH_AT.to_string(), "N".to_string()))
    );
    for (index, (pk, sk)) in t.indexes.iter().zip([
        (state::SQ, state::SQ_AT),
        (state::DL, state::DL_AT),
        (state::AQ, state::AQ_AT),
    ]) {
        assert_eq!(
            index.key_schema,
            [
                (pk.to_string(), "HASH".to_string()),
                (sk.to_string(), "RANGE".to_string())
            ]
        );
        assert_eq!(index.projection, "INCLUDE");
        let mut projected = index.non_key_attributes.clone();
        projected.sort();
        let mut expected: Vec<String> = state::PROJECTED.iter().map(|a| a.to_string()).collect();
        expected.sort();
        assert_eq!(projected, expected, "{}", index.name);
    }
    for attr in [
        state::SQ,
        state::SQ_AT,
        state::DL,
        state::DL_AT,
        state::AQ,
        state::AQ_AT,
    ] {
        assert!(
            t.attributes.contains(&(attr.to_string(), "S".to_string())),
            "{attr}"
        );
    }
    assert_eq!(t.ttl_attribute.as_deref(), Some(items::EXPIRES_AT));
    assert_eq!(
        t.stream_view_type, "NEW_AND_OLD_IMAGES",
        "the auto-reply reads the new image; the reports' waits both"
    );
}
