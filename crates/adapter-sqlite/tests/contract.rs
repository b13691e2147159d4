//! The SQLite store against the shared store-port contract, each test on a
//! fresh database file.

use gatehouse_adapter_sqlite::test_support::TestDatabase;

gatehouse_application::store_contract_tests!(TestDatabase::create().await, |db| db.store());
