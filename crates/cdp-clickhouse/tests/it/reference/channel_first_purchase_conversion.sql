SELECT
    f.acquisition_channel,
    count(*) AS one_ids,
    count(o.first_order_us) AS purchasers,
    round(count(o.first_order_us) / count(*), 6) AS conversion_rate,
    round(avg((o.first_order_us - f.first_seen_us) / 86400e6), 3) AS avg_days_to_first_order
FROM first_touch AS f
LEFT JOIN (
    SELECT one_key, min(paid_at_us) AS first_order_us
    FROM orders
    WHERE NOT refunded AND one_key IS NOT NULL
    GROUP BY one_key
) AS o ON o.one_key = f.one_key
GROUP BY f.acquisition_channel
