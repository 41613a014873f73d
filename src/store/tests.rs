//! Unit tests of the parts that need no database. The store's behaviour on SQLite and
//! PostgreSQL is tested through its public API in `tests/store.rs`.

use super::no_limit_if_not_positive;
use super::open::{Target, parse_target, percent_encode_path};
use std::path::PathBuf;

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
fn non_positive_limits_mean_all() {
    assert_eq!(no_limit_if_not_positive(0), i64::MAX);
    assert_eq!(no_limit_if_not_positive(-5), i64::MAX);
    assert_eq!(no_limit_if_not_positive(20), 20);
}
