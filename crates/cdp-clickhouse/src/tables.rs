//! The one place that maps each lake table to its ClickHouse DDL and to how
//! it is loaded. Adding or changing a table means: a migration file in
//! `deploy/clickhouse/`, its line in [`MIGRATIONS`], and its [`TableSpec`]
//! in [`TABLES`]. Columns are never listed in Rust: the loader reads them
//! from the ClickHouse table and matches the lake's Parquet columns by name.

/// A DDL file of `deploy/clickhouse/`, embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// File name; migrations run in this order, once each.
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($file:literal) => {
        Migration {
            name: $file,
            sql: include_str!(concat!("../../../deploy/clickhouse/", $file)),
        }
    };
}

/// Every migration, in the order they run. Append only: a migration that
/// some database applied is never edited (its checksum is recorded).
pub const MIGRATIONS: &[Migration] = &[
    migration!("001_load_log.sql"),
    migration!("002_resolved_events.sql"),
    migration!("003_identity_map.sql"),
    migration!("004_identity_merges.sql"),
    migration!("005_ltv_model.sql"),
    migration!("006_profiles.sql"),
    migration!("007_tags.sql"),
    migration!("008_ltv.sql"),
    migration!("009_bi_views.sql"),
];

/// How a table's lake files reach its ClickHouse table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// Partitioned by month (`toYYYYMM(event_time)`) from the lake's Hive
    /// `dt=` folders: files not loaded yet are staged and attached to their
    /// month; a month whose loaded files vanished (rewritten by the stage
    /// before) is rebuilt and replaced. Atomic per month.
    ByMonth,
    /// The whole table staged, then swapped in with one `RENAME`.
    Swap,
}

/// Where the files of a table's current version are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `identity/current.json` (written by `cdp resolve`), the array named
    /// after the table; without that manifest or array, every Parquet file
    /// under the table's folder.
    Identity,
    /// `builds/current.json` (written by `cdp build`), `tables.<name>`;
    /// without the manifest the table is not in the lake yet and is skipped.
    Build,
}

/// One analysts' table.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// Lake folder and ClickHouse table: the same name.
    pub name: &'static str,
    /// The migration that creates it.
    pub migration: &'static str,
    pub listing: Listing,
    pub mode: LoadMode,
    /// Columns guessed before the stage that writes it landed (issue 6):
    /// see the migration's header for what to adjust.
    pub provisional: bool,
}

/// Every table `cdp load` loads, in load order (people before facts).
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "identity_map",
        migration: "003_identity_map.sql",
        listing: Listing::Identity,
        mode: LoadMode::Swap,
        provisional: false,
    },
    TableSpec {
        name: "identity_merges",
        migration: "004_identity_merges.sql",
        listing: Listing::Identity,
        mode: LoadMode::Swap,
        provisional: false,
    },
    TableSpec {
        name: "resolved_events",
        migration: "002_resolved_events.sql",
        listing: Listing::Identity,
        mode: LoadMode::ByMonth,
        provisional: false,
    },
    TableSpec {
        name: "ltv_model",
        migration: "005_ltv_model.sql",
        listing: Listing::Build,
        mode: LoadMode::Swap,
        provisional: false,
    },
    TableSpec {
        name: "profiles",
        migration: "006_profiles.sql",
        listing: Listing::Build,
        mode: LoadMode::Swap,
        provisional: true,
    },
    TableSpec {
        name: "tags",
        migration: "007_tags.sql",
        listing: Listing::Build,
        mode: LoadMode::Swap,
        provisional: true,
    },
    TableSpec {
        name: "ltv",
        migration: "008_ltv.sql",
        listing: Listing::Build,
        mode: LoadMode::Swap,
        provisional: true,
    },
];

/// The table a name refers to.
pub fn table(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}

/// Where `cdp load` records the migrations it applied (created by the loader
/// itself, before the first migration).
pub const MIGRATIONS_TABLE: &str = "_cdp_migrations";
/// The load log: what each load changed, month by month (001_load_log.sql).
pub const LOAD_LOG_TABLE: &str = "_cdp_load_log";
/// The column every analysts' table carries: the load that wrote the row.
pub const LOAD_VERSION_COLUMN: &str = "_load_version";

/// The staging twin of `table`, where a load writes before publishing.
pub fn staging_table(table: &str) -> String {
    format!("_cdp_stage_{table}")
}

/// Where the replaced table briefly lives during a swap.
pub fn retired_table(table: &str) -> String {
    format!("_cdp_old_{table}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_listed_once_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/clickhouse");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(
            files, listed,
            "deploy/clickhouse/*.sql and MIGRATIONS differ"
        );
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert!(
                m.name.starts_with(&format!("{:03}_", i + 1)),
                "{} is not numbered {:03}",
                m.name,
                i + 1
            );
        }
    }

    #[test]
    fn every_table_has_its_migration_creating_it_with_a_load_version() {
        for t in TABLES {
            let m = MIGRATIONS
                .iter()
                .find(|m| m.name == t.migration)
                .unwrap_or_else(|| panic!("{}: no migration {}", t.name, t.migration));
            assert!(
                m.sql
                    .contains(&format!("CREATE TABLE IF NOT EXISTS {}\n", t.name)),
                "{} does not create {}",
                m.name,
                t.name
            );
            assert!(m.sql.contains(LOAD_VERSION_COLUMN), "{}", m.name);
            assert_eq!(
                t.provisional,
                m.sql.contains("PROVISIONAL"),
                "{}: provisional flag and migration header disagree",
                t.name
            );
        }
    }

    #[test]
    fn every_column_has_a_comment() {
        for m in MIGRATIONS {
            for statement in crate::sql_text::split_statements(m.sql) {
                if !statement.starts_with("CREATE TABLE") {
                    continue;
                }
                // The column list: from the line `(` to the line `)` before ENGINE.
                let start = statement
                    .find("\n(\n")
                    .expect("column list opens on its own line")
                    + 3;
                let end = statement
                    .find("\n)\nENGINE")
                    .expect("column list closes before ENGINE");
                for line in statement[start..end]
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                {
                    assert!(
                        line.contains(" COMMENT '"),
                        "{}: column without a comment: {line}",
                        m.name
                    );
                }
            }
        }
    }
}
