//! What went wrong in the store, in words an operator can act on.
//!
//! No message ever contains a database password: URLs are shown through [`redact_url`], and the
//! text of every underlying database error is scrubbed of the password before it is kept (the
//! original `sqlx::Error` is not kept as a `source`, so walking the error chain cannot find it
//! either).

pub(crate) use crate::secret::percent_decode;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("unsupported store URL {url}: {reason}")]
    UnsupportedUrl { url: String, reason: String },

    #[error(
        "cannot create the directory {dir} for the SQLite database: {detail} — check the path \
         and that weekbell may write there"
    )]
    CreateDir { dir: String, detail: String },

    #[error(
        "cannot open the SQLite database at {path}: {detail} — check the directory is writable \
         and the file, if it exists, is a weekbell database"
    )]
    OpenSqlite { path: String, detail: String },

    #[error(
        "cannot connect to PostgreSQL at {url}: {detail} — check the server is running and the \
         host, port, user, password and database name in the URL"
    )]
    ConnectPostgres { url: String, detail: String },

    #[error(
        "cannot bring the database at {location} to schema version {version} ({name}): \
         {detail} — check the database user may create tables and indexes; the version was \
         not applied, and the next start tries again"
    )]
    Migrate {
        location: String,
        version: i32,
        name: &'static str,
        detail: String,
    },

    #[error(
        "the database at {location} has schema version {found}, but this weekbell knows only up \
         to version {known} — run the newer weekbell that upgraded it, or point this one at \
         another database"
    )]
    SchemaTooNew {
        location: String,
        found: i64,
        known: i64,
    },

    #[error(
        "the script of schema version {version} ({name}) in this weekbell differs from the one \
         applied to the database at {location} — an applied script is never edited: build \
         weekbell with the script as it was applied (its file in src/store/migrations/, from \
         version control) and make the change in a new version, or run the weekbell that \
         applied it"
    )]
    EditedMigration {
        location: String,
        version: i64,
        name: &'static str,
    },

    #[error("the database at {location} failed while {action}: {detail} — {hint}")]
    Query {
        location: String,
        action: String,
        detail: String,
        /// What to do, chosen by the kind of failure.
        hint: &'static str,
    },

    #[error(
        "the database at {location} holds a value this weekbell cannot read: {detail} — was it \
         written by a newer weekbell, or edited by hand?"
    )]
    Corrupt { location: String, detail: String },

    #[error(
        "no outbox message with id {id:?} — `weekbell outbox` lists the messages and their ids"
    )]
    NoSuchMessage { id: String },
}

/// What an operator should do about a failed statement.
pub(crate) fn hint_for(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            "a record with the same key is already stored (outbox and event ids must be unique, \
             also across slots); nothing was changed — this is a bug in the caller, please \
             report it"
        }
        sqlx::Error::Database(db) if db.is_check_violation() || db.is_foreign_key_violation() => {
            "the database refused the values; nothing was changed — please report this bug"
        }
        _ => {
            "check the database is reachable and its disk is not full; nothing was changed, \
             and the operation may be retried"
        }
    }
}

/// The URL with its password replaced by `***`: the `user:password@` part and any query
/// parameter whose name contains `password`. Everything between `://` and the last `@` before
/// the query counts as user info, so a password with an unescaped `/` or `@` is hidden whole.
pub fn redact_url(url: &str) -> String {
    redact_parts(url).0
}

/// The redacted URL and the secrets found in it (raw and percent-decoded), to scrub from
/// driver messages.
pub(crate) fn redact_parts(url: &str) -> (String, Vec<String>) {
    let mut secrets = Vec::new();
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    match head.split_once("://") {
        Some((scheme, rest)) => {
            out.push_str(scheme);
            out.push_str("://");
            match rest.rsplit_once('@') {
                Some((userinfo, host)) => {
                    match userinfo.split_once(':') {
                        Some((user, password)) => {
                            out.push_str(user);
                            out.push_str(":***");
                            note_secret(&mut secrets, password);
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(rest),
            }
        }
        None => out.push_str(head),
    }
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, value)) if key.to_ascii_lowercase().contains("password") => {
                    out.push_str(key);
                    out.push_str("=***");
                    note_secret(&mut secrets, value);
                }
                _ => out.push_str(pair),
            }
        }
    }
    (out, secrets)
}

fn note_secret(secrets: &mut Vec<String>, raw: &str) {
    if raw.is_empty() {
        return;
    }
    let decoded = percent_decode(raw);
    if decoded != raw {
        secrets.push(decoded.into_owned());
    }
    secrets.push(raw.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_the_password_in_user_info() {
        assert_eq!(
            redact_url("postgres://bell:s3cr3t@db.example:5432/weekbell"),
            "postgres://bell:***@db.example:5432/weekbell"
        );
    }

    #[test]
    fn hides_password_query_parameters() {
        let (url, secrets) =
            redact_parts("postgres://db/weekbell?user=bell&password=hunter22&sslmode=require");
        assert_eq!(
            url,
            "postgres://db/weekbell?user=bell&password=***&sslmode=require"
        );
        assert_eq!(secrets, vec!["hunter22".to_owned()]);
    }

    #[test]
    fn hides_a_password_with_unescaped_at_and_slash_whole() {
        let url = redact_url("postgres://bell:p@ss/w@rd@db/weekbell");
        assert!(!url.contains("ss/w"), "{url}");
        assert!(!url.contains("rd"), "{url}");
    }

    #[test]
    fn leaves_urls_without_secrets_alone() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "sqlite://data/weekbell.db",
            "postgres://db/x?options=-c%20search_path%3Dabc",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn scrubs_raw_and_decoded_passwords_from_messages() {
        let (_, secrets) = redact_parts("postgres://bell:p%40ssword@db/weekbell");
        let text =
            crate::secret::Redactor::of(&secrets).text("auth failed for p@ssword and p%40ssword");
        assert_eq!(text, "auth failed for *** and ***");
    }

    #[test]
    fn percent_decoding_survives_truncated_escapes() {
        assert_eq!(percent_decode("abc%4"), "abc%4");
        assert_eq!(percent_decode("abc%"), "abc%");
        assert_eq!(percent_decode("a%41"), "aA");
    }
}
