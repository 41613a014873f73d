//! A PostgreSQL database of a test's own, for tests that run real processes on it.

use sqlx::Connection;

/// The server `WEEKBELL_TEST_PG_URL` names, or `None` (with a line saying the test is skipped)
/// when it is not set.
pub fn admin_url() -> Option<String> {
    let url = std::env::var("WEEKBELL_TEST_PG_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    if url.is_none() {
        eprintln!(
            "skipped: WEEKBELL_TEST_PG_URL is not set; this test needs PostgreSQL (CI sets it \
             to postgres://postgres@127.0.0.1:5432/test)"
        );
    }
    url
}

/// A database created on the server `WEEKBELL_TEST_PG_URL` names, dropped when this is.
pub struct FreshDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl FreshDatabase {
    pub async fn create(admin_url: &str, purpose: &str) -> FreshDatabase {
        let name = format!(
            "weekbell_{purpose}_{}_{:08x}",
            std::process::id(),
            fastrand::u32(..)
        );
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("WEEKBELL_TEST_PG_URL is set but PostgreSQL is not reachable: {e}")
            });
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        conn.close().await.ok();
        FreshDatabase {
            url: with_database(admin_url, &name),
            admin_url: admin_url.to_string(),
            name,
        }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        // Best effort, on a thread of its own: drop cannot await, and may run while a panic
        // unwinds inside the test's runtime. FORCE ends connections left behind (PG 13+).
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await
                    {
                        eprintln!("could not drop the test database {name}: {e}");
                    }
                    conn.close().await.ok();
                }
            });
        })
        .join();
    }
}

/// `url` with its database (the path) replaced by `name`, the query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}
