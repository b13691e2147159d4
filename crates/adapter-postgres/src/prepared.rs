//! Raw SQL that may be kept as a prepared statement.
//!
//! diesel marks every `sql_query` as unsafe to cache, so diesel-async
//! prepares it anew each time: two round trips (Parse, then Bind/Execute)
//! for what should be one. Our raw statements have fixed text for a given
//! shape (only their bind values vary), so caching them by text is safe;
//! this wrapper says so, making the data-modifying CTEs of register, login
//! and rotation one round trip each once warm.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Untyped;

#[derive(Debug)]
pub(crate) struct Prepared<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    // No static id: the statement cache keys these by their SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Prepared<Q> {
    type SqlType = Untyped;
}

#[cfg(test)]
mod tests {
    use diesel::QueryableByName;
    use diesel::sql_types::{BigInt, Integer};
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

    use super::Prepared;

    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    /// Reads session state only (prepared statements are per connection),
    /// so it may use the server's maintenance database.
    async fn connect() -> AsyncPgConnection {
        let url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        AsyncPgConnection::establish(&url).await.unwrap()
    }

    async fn prepared_count(conn: &mut AsyncPgConnection, marker: &str) -> i64 {
        let sql = format!(
            "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE '%{marker}%' AND statement NOT LIKE '%pg_prepared_statements%'"
        );
        diesel::sql_query(sql)
            .get_result::<N>(conn)
            .await
            .unwrap()
            .n
    }

    #[tokio::test]
    async fn wrapped_raw_sql_is_prepared_once_and_reused() {
        let mut conn = connect().await;
        for i in 0..3 {
            Prepared(
                diesel::sql_query("SELECT $1 + 0 AS n /* gatehouse-cached */")
                    .bind::<BigInt, _>(i64::from(i)),
            )
            .get_result::<N>(&mut conn)
            .await
            .unwrap();
        }
        assert_eq!(prepared_count(&mut conn, "gatehouse-cached").await, 1);

        for i in 0..3 {
            diesel::sql_query("SELECT $1::int AS n /* gatehouse-uncached */")
                .bind::<Integer, _>(i)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        assert_eq!(
            prepared_count(&mut conn, "gatehouse-uncached").await,
            0,
            "plain sql_query is never cached"
        );
    }
}
