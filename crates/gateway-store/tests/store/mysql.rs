//! The scenarios on MariaDB/MySQL, each test in its own database.

crate::backend_tests!(crate::db::TestDb::mysql().await);
