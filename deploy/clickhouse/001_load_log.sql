-- 001: the loader's own bookkeeping (not for analysts).
--
-- Migrations run in file-name order, once each; `cdp load` records them in
-- `_cdp_migrations` (which it creates itself, before this file). Every
-- statement must be safe to run twice (IF NOT EXISTS / IF EXISTS): a load
-- killed in the middle of a migration runs it again from the top.
--
-- Syntax that runs on ClickHouse 18.16 and on current releases alike:
-- column COMMENTs inside CREATE TABLE (18.16 has no table-level COMMENT),
-- `ENGINE = … PARTITION BY … ORDER BY …`, no LowCardinality, no DateTime64,
-- no Nullable columns in sorting keys.

CREATE TABLE IF NOT EXISTS _cdp_load_log
(
    load_version UInt64 COMMENT 'the load that did this: its start time in microseconds since 1970 (UTC); also the _load_version of the rows it wrote',
    table_name String COMMENT 'analysts'' table the operation changed',
    month UInt32 COMMENT 'partition (YYYYMM) of a month-partitioned table; 0 for a whole-table swap',
    action String COMMENT 'append (new files attached to the month), replace (the month rebuilt), drop (the month emptied), swap (the whole table replaced)',
    state String COMMENT 'pending (written just before the operation), done, or aborted (found not done after a crash)',
    files Array(String) COMMENT 'lake files: for append the files added, otherwise every file the month or table now holds',
    rows_before UInt64 COMMENT 'rows of the month or table before the operation',
    rows_after UInt64 COMMENT 'rows of the month or table after it',
    recorded_at DateTime COMMENT 'when this line was written (server time)'
)
ENGINE = MergeTree
ORDER BY (table_name, month, load_version);
