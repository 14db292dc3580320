-- 007: tags — the long table of tags: one row per (person, tag group, tag).
-- Exclusive groups (lifecycle, rfm, value_tier, acquisition channel, …) give
-- every person exactly one tag; multi-valued groups any number.
-- Lake: tags/*.parquet, listed by builds/current.json. Loaded whole and
-- swapped in.
--
-- PROVISIONAL: `cdp build` (issue 6) has not landed. The columns (one_key,
-- one_id, tag_group, tag) are those the task names; the group names used by
-- the queries (lifecycle, rfm) are a guess from issue 6.

CREATE TABLE IF NOT EXISTS tags
(
    one_key Int64 COMMENT 'the person: integer key',
    one_id String COMMENT 'the person: OID + one_key zero-padded to 12 digits',
    tag_group String COMMENT 'tag group, e.g. lifecycle, rfm, value_tier, or a brand''s own from pipelines/*.toml',
    tag String COMMENT 'the tag within its group, e.g. repeat, loyal, dormant (lifecycle); R+F+M+ (rfm)',
    _load_version UInt64 COMMENT 'the cdp load that wrote the row (its start, microseconds since 1970)'
)
ENGINE = ReplacingMergeTree(_load_version)
ORDER BY (tag_group, tag, one_key);
