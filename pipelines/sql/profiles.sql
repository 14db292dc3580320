-- profiles: one row per person (one_id) as of the end of the as-of day, UTC.
-- Events after it are ignored. Every column is described in
-- schemas/lake_tables.md (section "profiles").
--
-- Reads resolved_events (written by `cdp resolve`: every event with its
-- one_key) and the view `orders` (orders.sql). Rows sorted by one_key.
--
-- Filled in by cdp:
--   ${as_of_end}  the first instant after the as-of day, e.g. '1997-10-01T00:00:00Z'
--   ${as_of_day}  the as-of day as days since 1970-01-01
-- Functions beside standard SQL (the same in DuckDB):
--   utc_day(ts)                 the UTC calendar day of ts, as days since 1970-01-01
--   array_sort(list)            the list in ascending order
--
-- Performance notes: everything groups by the integer one_key; one_id is
-- formatted once per person at the end. Distinct counts and lists go through
-- a GROUP BY on (one_key, value) first, which engines do much faster than
-- per-person DISTINCT sets, and lists are sorted after aggregating
-- (array_sort(array_agg(x)), not array_agg(x ORDER BY x)). A first or latest
-- touch is the value at the touch's time, the smallest (first) or largest
-- (latest) on ties, so every run breaks ties the same way: two plain min/max
-- aggregations over the touch events instead of ordered first()/last(), which
-- cost DataFusion 10 s of a 22 s build on 1M persons.

WITH events AS (
    SELECT one_key, source, event_type, event_time, platform, channel_code,
           utm_source, utm_campaign, store_id, campaign_id
    FROM resolved_events
    WHERE one_key IS NOT NULL
      AND event_time < '${as_of_end}'
),

activity AS (
    SELECT
        one_key,
        min(event_time) AS first_seen,
        max(event_time) AS last_seen,
        count(*) AS events,
        count(*) FILTER (WHERE source = 'online') AS events_online,
        count(*) FILTER (WHERE source = 'offline') AS events_offline,
        count(*) FILTER (WHERE source = 'ad') AS events_ad,
        count(*) FILTER (WHERE source = 'transaction') AS events_transaction,
        count(*) FILTER (WHERE source NOT IN ('online', 'offline', 'ad', 'transaction')) AS events_other,
        min(event_time) FILTER (WHERE event_type IN ('member_signup', 'register')) AS member_since
    FROM events
    GROUP BY one_key
),

-- Acquisition: the first and the latest touch of each kind. Ad events carry
-- device ids only; identity resolved them to this person.
touch_events AS (
    SELECT one_key, source, event_time, channel_code, utm_source, utm_campaign, campaign_id
    FROM events
    WHERE channel_code IS NOT NULL OR utm_source IS NOT NULL OR utm_campaign IS NOT NULL
       OR (source = 'ad' AND campaign_id IS NOT NULL)
),

touch_times AS (
    SELECT
        one_key,
        min(event_time) FILTER (WHERE channel_code IS NOT NULL) AS first_channel_code_at,
        max(event_time) FILTER (WHERE channel_code IS NOT NULL) AS last_channel_code_at,
        min(event_time) FILTER (WHERE utm_source IS NOT NULL) AS first_utm_source_at,
        max(event_time) FILTER (WHERE utm_source IS NOT NULL) AS last_utm_source_at,
        min(event_time) FILTER (WHERE utm_campaign IS NOT NULL) AS first_utm_campaign_at,
        max(event_time) FILTER (WHERE utm_campaign IS NOT NULL) AS last_utm_campaign_at,
        min(event_time) FILTER (WHERE source = 'ad' AND campaign_id IS NOT NULL) AS first_ad_campaign_at,
        max(event_time) FILTER (WHERE source = 'ad' AND campaign_id IS NOT NULL) AS last_ad_campaign_at
    FROM touch_events
    GROUP BY one_key
),

touches AS (
    SELECT
        e.one_key,
        min(e.channel_code) FILTER (WHERE e.event_time = t.first_channel_code_at) AS first_channel_code,
        max(e.channel_code) FILTER (WHERE e.event_time = t.last_channel_code_at) AS last_channel_code,
        min(e.utm_source) FILTER (WHERE e.event_time = t.first_utm_source_at) AS first_utm_source,
        max(e.utm_source) FILTER (WHERE e.event_time = t.last_utm_source_at) AS last_utm_source,
        min(e.utm_campaign) FILTER (WHERE e.event_time = t.first_utm_campaign_at) AS first_utm_campaign,
        max(e.utm_campaign) FILTER (WHERE e.event_time = t.last_utm_campaign_at) AS last_utm_campaign,
        min(e.campaign_id) FILTER (WHERE e.source = 'ad' AND e.event_time = t.first_ad_campaign_at) AS first_ad_campaign,
        max(e.campaign_id) FILTER (WHERE e.source = 'ad' AND e.event_time = t.last_ad_campaign_at) AS last_ad_campaign
    FROM touch_events AS e
    JOIN touch_times AS t ON t.one_key = e.one_key
    GROUP BY e.one_key
),

stores AS (
    SELECT one_key, count(*) AS store_count, array_sort(array_agg(store_id)) AS stores_visited
    FROM (SELECT one_key, store_id FROM events WHERE store_id IS NOT NULL GROUP BY one_key, store_id) AS s
    GROUP BY one_key
),

platforms AS (
    SELECT one_key, array_sort(array_agg(platform)) AS active_platforms
    FROM (SELECT one_key, platform FROM events
          WHERE source = 'online' AND platform IS NOT NULL
          GROUP BY one_key, platform) AS p
    GROUP BY one_key
),

-- Paid orders per person and UTC day; `net_` counts only orders not refunded.
order_days AS (
    SELECT
        one_key,
        utc_day(paid_at) AS day,
        count(*) AS paid,
        count(*) FILTER (WHERE refunded) AS refunded,
        sum(amount) FILTER (WHERE NOT refunded) AS net_amount,
        min(paid_at) FILTER (WHERE NOT refunded) AS first_net_paid_at,
        max(paid_at) FILTER (WHERE NOT refunded) AS last_net_paid_at
    FROM orders
    WHERE one_key IS NOT NULL
    GROUP BY one_key, utc_day(paid_at)
),

order_stats AS (
    SELECT
        one_key,
        sum(paid) AS orders_paid,
        sum(refunded) AS orders_refunded,
        sum(net_amount) AS net_revenue,
        count(*) FILTER (WHERE paid > refunded) AS purchase_days,
        min(first_net_paid_at) AS first_order_at,
        max(last_net_paid_at) AS last_order_at
    FROM order_days
    GROUP BY one_key
)

SELECT
    a.one_key,
    'OID' || lpad(CAST(a.one_key AS VARCHAR), 12, '0') AS one_id,
    a.first_seen,
    a.last_seen,
    ${as_of_day} - utc_day(a.last_seen) AS days_since_last_seen,
    a.events,
    a.events_online,
    a.events_offline,
    a.events_ad,
    a.events_transaction,
    a.events_other,
    t.first_channel_code,
    t.last_channel_code,
    t.first_utm_source,
    t.first_utm_campaign,
    t.last_utm_source,
    t.last_utm_campaign,
    t.first_ad_campaign,
    t.last_ad_campaign,
    COALESCE(s.store_count, 0) AS store_count,
    s.stores_visited,
    p.active_platforms,
    a.member_since,
    COALESCE(o.orders_paid, 0) - COALESCE(o.orders_refunded, 0) AS orders,
    COALESCE(o.orders_paid, 0) AS orders_paid,
    COALESCE(o.orders_refunded, 0) AS orders_refunded,
    CAST(COALESCE(o.net_revenue, 0) AS DECIMAL(18, 2)) AS net_revenue,
    CASE WHEN o.orders_paid > o.orders_refunded
         THEN CAST(o.net_revenue / (o.orders_paid - o.orders_refunded) AS DECIMAL(18, 2))
    END AS average_order_value,
    COALESCE(o.purchase_days, 0) AS purchase_days,
    o.first_order_at,
    o.last_order_at,
    ${as_of_day} - utc_day(o.last_order_at) AS days_since_last_order
FROM activity AS a
LEFT JOIN touches AS t ON t.one_key = a.one_key
LEFT JOIN order_stats AS o ON o.one_key = a.one_key
LEFT JOIN stores AS s ON s.one_key = a.one_key
LEFT JOIN platforms AS p ON p.one_key = a.one_key
ORDER BY a.one_key
