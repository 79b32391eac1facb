//! The scenarios on PostgreSQL, each test in its own schema.

crate::backend_tests!(crate::db::TestDb::postgres().await);
