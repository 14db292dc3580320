-- The views of deploy/clickhouse/009_bi_views.sql, written independently in
-- DuckDB's dialect: the reference the BI query tests compare against.

CREATE VIEW orders AS
SELECT
    source,
    order_id,
    min(one_key) FILTER (WHERE event_type = 'paid') AS one_key,
    max(amount) FILTER (WHERE event_type = 'paid') AS amount,
    min(event_time) FILTER (WHERE event_type = 'paid') AS paid_at,
    epoch_us(min(event_time) FILTER (WHERE event_type = 'paid')) AS paid_at_us,
    bool_or(event_type = 'refunded') AS refunded
FROM resolved_events
WHERE order_id IS NOT NULL AND event_type IN ('paid', 'refunded')
GROUP BY source, order_id
HAVING bool_or(event_type = 'paid');

CREATE VIEW first_touch AS
SELECT
    p.one_key,
    p.first_seen,
    epoch_us(p.first_seen) AS first_seen_us,
    coalesce(c.first_channel, '(none)') AS acquisition_channel
FROM (
    SELECT one_key, min(event_time) AS first_seen
    FROM resolved_events
    WHERE one_key IS NOT NULL
    GROUP BY one_key
) AS p
LEFT JOIN (
    SELECT one_key, first(channel_code ORDER BY event_time, channel_code) AS first_channel
    FROM resolved_events
    WHERE one_key IS NOT NULL AND channel_code IS NOT NULL
    GROUP BY one_key
) AS c ON c.one_key = p.one_key;
