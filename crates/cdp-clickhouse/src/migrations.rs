//! Applies `deploy/clickhouse/NNN_*.sql` in order, once each, recording
//! each in `_cdp_migrations` with a checksum of its statements.

use tracing::info;

use crate::error::ClickHouseError;
use crate::server::{quote_string, Idempotent, Server};
use crate::sql_text::split_statements;
use crate::tables::{Migration, MIGRATIONS, MIGRATIONS_TABLE};

/// Created by the loader before any migration: it records them.
const BOOTSTRAP: &str = "CREATE TABLE IF NOT EXISTS _cdp_migrations
(
    name String COMMENT 'migration file of deploy/clickhouse/, e.g. 002_resolved_events.sql',
    checksum String COMMENT 'FNV-1a 64 of its statements (comments excluded), hex: a file edited after it was applied is refused',
    applied_at DateTime COMMENT 'when cdp load applied it (server time)'
)
ENGINE = MergeTree
ORDER BY name";

/// FNV-1a 64 of the statements of a migration, comments and blank space
/// around them excluded: a comment may be fixed, a statement may not.
pub fn checksum(migration: &Migration) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for statement in split_statements(migration.sql) {
        for byte in statement.bytes().chain([b';']) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Applies every migration the database has not seen; returns their names.
pub async fn apply(server: &Server) -> Result<Vec<&'static str>, ClickHouseError> {
    server.execute(BOOTSTRAP, Idempotent::Yes).await?;
    let applied: Vec<(String, String)> = server
        .fetch_all(&format!("SELECT name, checksum FROM {MIGRATIONS_TABLE}"))
        .await?;
    let mut newly = Vec::new();
    for migration in MIGRATIONS {
        let sum = checksum(migration);
        if let Some((_, recorded)) = applied.iter().find(|(name, _)| name == migration.name) {
            if *recorded != sum {
                return Err(ClickHouseError::Migration {
                    name: migration.name.to_string(),
                    reason: format!(
                        "its statements changed after database `{}` applied it (checksum {recorded}, now {sum}); \
                         applied migrations are never edited: add a new numbered migration instead \
                         (or, for a scratch database, drop it and load again)",
                        server.config.database
                    ),
                });
            }
            continue;
        }
        for statement in split_statements(migration.sql) {
            server
                .execute(&statement, Idempotent::Yes)
                .await
                .map_err(|e| match e {
                    ClickHouseError::External { source, .. } if !source_is_transient(&source) => {
                        ClickHouseError::Migration {
                            name: migration.name.to_string(),
                            reason: format!("the server refused a statement: {source}"),
                        }
                    }
                    other => other,
                })?;
        }
        server
            .execute(
                &format!(
                    "INSERT INTO {MIGRATIONS_TABLE} (name, checksum, applied_at) VALUES ({}, {}, now())",
                    quote_string(migration.name),
                    quote_string(&sum)
                ),
                Idempotent::Yes,
            )
            .await?;
        info!(migration = migration.name, "applied");
        newly.push(migration.name);
    }
    Ok(newly)
}

fn source_is_transient(source: &clickhouse::error::Error) -> bool {
    crate::retry::is_transient(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_ignores_comments_but_not_statements() {
        let a = Migration {
            name: "x",
            sql: "-- one\nCREATE TABLE t (x Int8 COMMENT 'c') ENGINE = Log;\n",
        };
        let b = Migration {
            name: "x",
            sql: "-- two, reworded\n\nCREATE TABLE t (x Int8 COMMENT 'c') ENGINE = Log;",
        };
        let c = Migration {
            name: "x",
            sql: "CREATE TABLE t (x Int16 COMMENT 'c') ENGINE = Log;",
        };
        assert_eq!(checksum(&a), checksum(&b));
        assert_ne!(checksum(&a), checksum(&c));
    }
}
