//! The schema and its migrations: SQL files embedded in the binary, applied in order at open.
//!
//! `schema_version` holds one row per applied migration (its number, from 1). At open, in one
//! `BEGIN IMMEDIATE` transaction, every migration above the highest applied number runs and is
//! recorded, so a crash leaves the schema at a migration boundary. A database with a higher number
//! than this build knows is refused rather than touched.
//!
//! Migrations are append-only: never edit a released file; add `0002_....sql` and list it below.

use crate::codec::backend;
use rusqlite::{Connection, TransactionBehavior};
use store::{Error, Result};

/// Every migration, in order: entry `i` is schema version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_documents.sql"),
    include_str!("../migrations/0003_queues.sql"),
];

/// Brings the database on `connection` to the latest schema version.
pub(crate) fn migrate(connection: &mut Connection) -> Result<()> {
    const OPERATION: &str = "migrate";
    let failed = backend(OPERATION);
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&failed)?;
    transaction
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY)",
        )
        .map_err(&failed)?;
    let current: i64 = transaction
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |row| row.get(0),
        )
        .map_err(&failed)?;
    let current = usize::try_from(current).map_err(|_| Error::Corrupt {
        what: "schema_version".to_owned(),
        detail: format!("negative version {current}"),
    })?;
    if current > MIGRATIONS.len() {
        return Err(Error::Backend {
            operation: OPERATION,
            detail: format!(
                "the database has schema version {current}, newer than this build's {}",
                MIGRATIONS.len()
            ),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = index + 1;
        transaction
            .execute_batch(sql)
            .map_err(|error| Error::Backend {
                operation: OPERATION,
                detail: format!("migration {version}: {error}"),
            })?;
        transaction
            .execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                [i64::try_from(version).unwrap_or(i64::MAX)],
            )
            .map_err(&failed)?;
    }
    transaction.commit().map_err(&failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(connection: &Connection) -> i64 {
        connection
            .query_row("SELECT MAX(version) FROM schema_version", [], |row| {
                row.get(0)
            })
            .expect("schema_version is readable")
    }

    #[test]
    fn migrates_once() {
        let mut connection = Connection::open_in_memory().expect("an in-memory database");
        migrate(&mut connection).expect("the first migration succeeds");
        migrate(&mut connection).expect("migrating again is a no-op");
        assert_eq!(version(&connection), MIGRATIONS.len() as i64);
        let rows: i64 = connection
            .query_row("SELECT COUNT(*) FROM schema_version", [], |row| row.get(0))
            .expect("schema_version is readable");
        assert_eq!(
            rows,
            MIGRATIONS.len() as i64,
            "each migration recorded once"
        );
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut connection = Connection::open_in_memory().expect("an in-memory database");
        migrate(&mut connection).expect("the first migration succeeds");
        connection
            .execute("INSERT INTO schema_version (version) VALUES (99)", [])
            .expect("insert");
        assert!(matches!(
            migrate(&mut connection),
            Err(Error::Backend { .. })
        ));
    }
}
