//! Unit tests of the parts that need no database. The store's behaviour on SQLite and
//! PostgreSQL is tested through its public API in `tests/store.rs`.

use super::*;

fn message(next_try_ms: i64, lease: Option<(&str, i64)>) -> OutboxMessage {
    OutboxMessage {
        id: "s@t/c/0/0".into(),
        slot_key: "s@t".into(),
        channel: "c".into(),
        platform: "console".into(),
        ord: 0,
        payload: "{}".into(),
        status: OutboxStatus::Pending,
        attempts: 0,
        next_try_ms,
        deadline_ms: 10_000,
        last_error: None,
        late: false,
        created_ms: 0,
        updated_ms: 0,
        sent_ms: None,
        lease_owner: lease.map(|(w, _)| w.to_owned()),
        lease_until_ms: lease.map(|(_, u)| u),
    }
}

#[test]
fn sqlite_urls_name_a_file() {
    assert_eq!(
        parse_target("sqlite://data/weekbell.db").ok(),
        Some(Target::Sqlite(PathBuf::from("data/weekbell.db")))
    );
    assert_eq!(
        parse_target("sqlite:data/weekbell.db").ok(),
        Some(Target::Sqlite(PathBuf::from("data/weekbell.db")))
    );
    assert_eq!(
        parse_target("sqlite:///var/lib/weekbell/state.db").ok(),
        Some(Target::Sqlite(PathBuf::from("/var/lib/weekbell/state.db")))
    );
    assert_eq!(
        parse_target("sqlite://my%20data/a.db").ok(),
        Some(Target::Sqlite(PathBuf::from("my data/a.db")))
    );
    assert_eq!(
        parse_target(" postgres://u:p@h/db ").ok(),
        Some(Target::Postgres("postgres://u:p@h/db".into()))
    );
    assert_eq!(
        parse_target("postgresql://h/db").ok(),
        Some(Target::Postgres("postgresql://h/db".into()))
    );
}

#[test]
fn in_memory_sqlite_is_refused_with_the_reason() {
    for url in [
        "sqlite::memory:",
        "sqlite://:memory:",
        "sqlite://?mode=memory",
        "sqlite:file::memory:?cache=shared",
    ] {
        let err = parse_target(url).err().map(|e| e.to_string());
        let text = err.unwrap_or_default();
        assert!(text.contains("one connection"), "{url}: {text}");
        assert!(text.contains("sqlite://data/weekbell.db"), "{url}: {text}");
    }
}

#[test]
fn other_urls_are_refused_with_the_expected_forms() {
    for url in ["mysql://root:hunter22@db/weekbell", "data/weekbell.db", ""] {
        let text = parse_target(url)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(text.contains("expected sqlite://PATH"), "{url}: {text}");
        assert!(!text.contains("hunter22"), "{text}");
    }
    let text = parse_target("sqlite://data/w.db?mode=ro")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(text.contains("remove the `?…` part"), "{text}");
    let text = parse_target("sqlite://")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(text.contains("no file path"), "{text}");
}

#[test]
fn paths_are_escaped_for_the_sqlite_url_parser() {
    assert_eq!(
        percent_encode_path("/tmp/a b/c?d#e%f.db"),
        "/tmp/a%20b/c%3Fd%23e%25f.db"
    );
    assert_eq!(
        percent_encode_path("/srv/weekbell-1/state_2.db"),
        "/srv/weekbell-1/state_2.db"
    );
}

#[test]
fn a_free_due_head_is_not_blocked() {
    assert_eq!(blocked_until(&message(100, None), "w1", 100), None);
    // An expired lease is free; so is one's own.
    assert_eq!(
        blocked_until(&message(100, Some(("w2", 99))), "w1", 100),
        None
    );
    assert_eq!(
        blocked_until(&message(100, Some(("w1", 500))), "w1", 100),
        None
    );
}

#[test]
fn a_blocked_head_says_when_to_ask_again() {
    assert_eq!(blocked_until(&message(300, None), "w1", 100), Some(300));
    // Leased by another until 200 (inclusive): free from 201.
    assert_eq!(
        blocked_until(&message(100, Some(("w2", 200))), "w1", 100),
        Some(201)
    );
    assert_eq!(
        blocked_until(&message(100, Some(("w2", 100))), "w1", 100),
        Some(101)
    );
    // Both: the later of the two.
    assert_eq!(
        blocked_until(&message(300, Some(("w2", 200))), "w1", 100),
        Some(300)
    );
    assert_eq!(
        blocked_until(&message(150, Some(("w2", 200))), "w1", 100),
        Some(201)
    );
}

#[test]
fn non_positive_limits_mean_all() {
    assert_eq!(no_limit_if_not_positive(0), i64::MAX);
    assert_eq!(no_limit_if_not_positive(-5), i64::MAX);
    assert_eq!(no_limit_if_not_positive(20), 20);
}
