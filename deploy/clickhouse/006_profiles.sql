-- 006: profiles — one row per person as of the build's as-of day.
-- Lake: profiles/*.parquet, listed by builds/current.json (`cdp build`).
-- Loaded whole and swapped in.
--
-- PROVISIONAL: `cdp build` (issue 6) has not landed; the columns below are
-- the best guess from the issue and the jobs branch's profiles.sql. When it
-- lands, make this file match schemas/lake_tables.md "profiles" (names and
-- nullability; the loader matches lake columns by name and refuses a
-- missing one by name) before any real database has applied it; after
-- that, change it with a new numbered migration.

CREATE TABLE IF NOT EXISTS profiles
(
    one_key Int64 COMMENT 'the person: integer key',
    one_id String COMMENT 'the person: OID + one_key zero-padded to 12 digits',
    first_seen DateTime('UTC') COMMENT 'first event of the person, UTC',
    last_seen DateTime('UTC') COMMENT 'latest event up to the as-of day, UTC',
    days_since_last_seen Int64 COMMENT 'as-of day minus the day of last_seen',
    events Int64 COMMENT 'events up to the as-of day, every source',
    events_online Int64 COMMENT 'events from the online source',
    events_offline Int64 COMMENT 'events from the offline source (stores, membership desk, WeCom guides)',
    events_ad Int64 COMMENT 'ad events (clicks, impressions, conversions) resolved to the person through device ids',
    events_transaction Int64 COMMENT 'order events (each status change of an order)',
    events_other Int64 COMMENT 'events of mapped sources',
    first_channel_code Nullable(String) COMMENT 'first-touch acquisition live code (渠道活码)',
    last_channel_code Nullable(String) COMMENT 'latest live code',
    first_utm_source Nullable(String) COMMENT 'first-touch utm_source',
    first_utm_campaign Nullable(String) COMMENT 'first-touch utm_campaign',
    last_utm_source Nullable(String) COMMENT 'latest utm_source',
    last_utm_campaign Nullable(String) COMMENT 'latest utm_campaign',
    first_ad_campaign Nullable(String) COMMENT 'first ad campaign the person clicked or saw (through device ids)',
    last_ad_campaign Nullable(String) COMMENT 'latest ad campaign',
    store_count Int64 COMMENT 'distinct stores visited',
    stores_visited Array(String) COMMENT 'the stores visited, sorted',
    active_platforms Array(String) COMMENT 'online platforms used (mini_program, ios, android, h5), sorted',
    member_since Nullable(DateTime('UTC')) COMMENT 'first member_signup or register event, UTC',
    orders Int64 COMMENT 'net orders: paid minus refunded (contract §6)',
    orders_paid Int64 COMMENT 'orders paid',
    orders_refunded Int64 COMMENT 'paid orders later refunded',
    net_revenue Decimal(18, 2) COMMENT 'yuan: paid orders minus refunded ones (contract §6)',
    average_order_value Nullable(Decimal(18, 2)) COMMENT 'net revenue per net order; NULL without net orders',
    purchase_days Int64 COMMENT 'distinct UTC days with a net order',
    first_order_at Nullable(DateTime('UTC')) COMMENT 'first net order paid, UTC',
    last_order_at Nullable(DateTime('UTC')) COMMENT 'latest net order paid, UTC',
    days_since_last_order Nullable(Int64) COMMENT 'as-of day minus the day of last_order_at',
    _load_version UInt64 COMMENT 'the cdp load that wrote the row (its start, microseconds since 1970)'
)
ENGINE = ReplacingMergeTree(_load_version)
ORDER BY one_key;
