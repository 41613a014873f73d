//! Write transactions that survive a backend giving a transaction up by itself.

use super::{Backend, Store, sql};
use sqlx::{Any, AnyConnection};

impl Store {
    /// A transaction that will write. On SQLite it takes the write lock at once (see
    /// `sql::SQLITE_BEGIN_WRITE`); PostgreSQL's row locks need nothing special.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let begin = match self.backend {
            Backend::Sqlite => sql::SQLITE_BEGIN_WRITE,
            Backend::Postgres => "BEGIN",
        };
        let mut conn = self.pool.acquire().await?;
        if let Err(e) = sqlx::raw_sql(begin).execute(&mut *conn).await {
            conn.close_on_drop();
            return Err(e);
        }
        Ok(WriteTx {
            conn,
            finished: false,
        })
    }
}

/// A write transaction on a connection of its own, which is closed instead of returned to
/// the pool unless the transaction ended cleanly.
///
/// sqlx's own `Transaction` keeps a depth counter on the connection. When SQLite gives up a
/// transaction by itself (`SQLITE_FULL` on a full disk rolls it back), sqlx's rollback then
/// fails, the counter stays up, and every later `BEGIN` on that connection — the only one the
/// SQLite pool has — is refused with "non-zero transaction depth" until the process restarts
/// (`tests/outages.rs` found this). A fresh connection after any failure avoids it on both
/// backends, and closing a connection rolls back whatever it left open.
pub(crate) struct WriteTx {
    conn: sqlx::pool::PoolConnection<Any>,
    finished: bool,
}

impl WriteTx {
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.end("COMMIT").await
    }

    pub(crate) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.end("ROLLBACK").await
    }

    async fn end(&mut self, statement: &'static str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(statement).execute(&mut *self.conn).await?;
        self.finished = true;
        Ok(())
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}
