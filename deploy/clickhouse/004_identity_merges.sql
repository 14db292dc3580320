-- 004: identity_merges — lineage of the identity graph: people joined
-- (merge) or divided (split), run by run, with the edge that caused it.
-- Lake: identity_merges/*.parquet, written by `cdp resolve`. Loaded whole and
-- swapped in. Plain MergeTree: a row has no natural unique key (one run may
-- record several edges between the same two people), and the swap alone
-- keeps reloads free of duplicates.

CREATE TABLE IF NOT EXISTS identity_merges
(
    run_id String COMMENT 'the cdp resolve run that recorded it',
    recorded_at DateTime('UTC') COMMENT 'when that run started, UTC',
    kind String COMMENT 'merge (from_one_id joined into to_one_id) or split (to_one_id divided out of from_one_id)',
    from_one_key Int64 COMMENT 'the person before: integer key',
    from_one_id String COMMENT 'the person before: OID…',
    to_one_key Int64 COMMENT 'the person after: integer key',
    to_one_id String COMMENT 'the person after: OID…',
    reason String COMMENT 'why, for a person to read',
    a_type Nullable(String) COMMENT 'one end of the edge that caused it: identifier type',
    a_value Nullable(String) COMMENT 'one end of the edge: identifier value',
    b_type Nullable(String) COMMENT 'other end of the edge: identifier type',
    b_value Nullable(String) COMMENT 'other end of the edge: identifier value',
    edge_first_seen Nullable(DateTime('UTC')) COMMENT 'when the two identifiers were first seen together, UTC',
    _load_version UInt64 COMMENT 'the cdp load that wrote the row (its start, microseconds since 1970)'
)
ENGINE = MergeTree
ORDER BY (recorded_at, run_id, kind, from_one_key, to_one_key);
