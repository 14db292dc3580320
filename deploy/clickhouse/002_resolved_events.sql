-- 002: resolved_events — every event of the lake with the person (one_id) it
-- belongs to. Lake: resolved_events/source=…/dt=…/*.parquet, written by
-- `cdp resolve` (docs/architecture.md, "Interfaces between stages").
--
-- Loaded incrementally by month: lake files not loaded yet are staged and
-- attached to their month (ALTER TABLE … ATTACH PARTITION … FROM); a month
-- whose lake files were rewritten (identity merged people, so one_keys
-- changed) is rebuilt and swapped in whole (REPLACE PARTITION … FROM). Both
-- are atomic per month. The sorting key is the event's identity, so that
-- ReplacingMergeTree keeps only the latest load of an event should one ever
-- arrive twice; `SELECT count() FROM resolved_events FINAL` = `count()`.

CREATE TABLE IF NOT EXISTS resolved_events
(
    one_key Nullable(Int64) COMMENT 'the person: integer key for joins and grouping; NULL when the event carried no usable identifier',
    one_id Nullable(String) COMMENT 'the person as people and marketing tools see it: OID + one_key zero-padded to 12 digits',
    event_id String COMMENT 'unique per source: SDK event_id (or derived-…), record_id, click_id, or order_id:status',
    source String COMMENT 'online, offline, ad, transaction, or a mapped source''s name',
    event_type String COMMENT 'page_view, register, member_signup, wecom_add, click, impression, conversion, paid, refunded, cancelled, …',
    event_time DateTime('UTC') COMMENT 'when it happened, UTC, whole seconds',
    event_time_us Int64 COMMENT 'when it happened, microseconds since 1970 UTC (full precision; ClickHouse 18.16 has no DateTime64)',
    amount Nullable(Decimal(18, 2)) COMMENT 'order total in yuan (transactions: paid, refunded)',
    ad_cost Nullable(Decimal(18, 4)) COMMENT 'ad cost in yuan, four decimals (ad impressions and clicks)',
    currency Nullable(String) COMMENT 'order currency; CNY when the order did not say',
    channel Nullable(String) COMMENT 'sales channel of an order: mini_program, store, tmall, jd, douyin',
    platform Nullable(String) COMMENT 'online platform (mini_program, ios, android, h5) or ad platform (ocean_engine, tencent_ads, baidu)',
    channel_code Nullable(String) COMMENT 'live code (渠道活码) the person came through: the base of acquisition-channel attribution',
    utm_source Nullable(String) COMMENT 'utm_source of an online event',
    utm_campaign Nullable(String) COMMENT 'utm_campaign of an online event',
    store_id Nullable(String) COMMENT 'store of an offline record or a store order',
    guide_id Nullable(String) COMMENT 'store guide (导购) who served the person',
    campaign_id Nullable(String) COMMENT 'ad campaign of an ad event',
    order_id Nullable(String) COMMENT 'order of a transaction event; one order has one event per status',
    _load_version UInt64 COMMENT 'the cdp load that wrote the row (its start, microseconds since 1970): ReplacingMergeTree keeps the highest'
)
ENGINE = ReplacingMergeTree(_load_version)
PARTITION BY toYYYYMM(event_time)
ORDER BY (source, event_type, event_id);
