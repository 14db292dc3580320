WITH cost AS (
    SELECT campaign_id, sum(ad_cost) AS cost
    FROM resolved_events
    WHERE source = 'ad' AND campaign_id IS NOT NULL
    GROUP BY campaign_id
),
clicks AS (
    SELECT campaign_id, one_key, min(epoch_us(event_time)) AS first_click_us
    FROM resolved_events
    WHERE source = 'ad' AND event_type = 'click' AND campaign_id IS NOT NULL AND one_key IS NOT NULL
    GROUP BY campaign_id, one_key
),
attributed AS (
    SELECT
        c.campaign_id,
        c.one_key,
        o.amount,
        coalesce(o.paid_at_us >= c.first_click_us AND o.paid_at_us - c.first_click_us <= 30 * 86400000000, false) AS hit
    FROM clicks AS c
    LEFT JOIN (SELECT one_key, paid_at_us, amount FROM orders WHERE NOT refunded AND one_key IS NOT NULL) AS o
        ON o.one_key = c.one_key
),
per_campaign AS (
    SELECT
        campaign_id,
        count(DISTINCT one_key) AS clickers,
        count(DISTINCT one_key) FILTER (WHERE hit) AS buyers,
        count(*) FILTER (WHERE hit) AS attributed_orders,
        sum(amount) FILTER (WHERE hit) AS attributed_revenue
    FROM attributed
    GROUP BY campaign_id
)
SELECT
    k.campaign_id,
    k.cost,
    coalesce(p.clickers, 0),
    coalesce(p.buyers, 0),
    coalesce(p.attributed_orders, 0),
    p.attributed_revenue,
    round(CASE WHEN k.cost = 0 THEN 0 ELSE CAST(p.attributed_revenue AS DOUBLE) / CAST(k.cost AS DOUBLE) END, 4)
FROM cost AS k
LEFT JOIN per_campaign AS p ON p.campaign_id = k.campaign_id
