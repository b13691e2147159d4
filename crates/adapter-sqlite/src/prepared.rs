//! Raw SQL that may stay prepared on its connection. diesel marks every
//! `sql_query` unsafe to cache, so SQLite would parse and plan it on every
//! call; ours have fixed text per shape (only bind values vary), so
//! keeping them by text is safe. Used on the hot paths: the lookups of
//! every authenticated request, login and rotation.

use diesel::QueryResult;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Untyped;
use diesel::sqlite::Sqlite;

#[derive(Debug)]
pub(crate) struct Prepared<Q>(pub Q);

impl<Q: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Sqlite) -> QueryResult<bool> {
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

impl<Q, Conn> diesel::RunQueryDsl<Conn> for Prepared<Q> {}
