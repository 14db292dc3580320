SELECT
    f.acquisition_channel,
    count(*) AS one_ids,
    count(o.n) AS buyers,
    coalesce(sum(o.n), 0) AS net_orders,
    sum(o.revenue) AS net_revenue,
    round(CAST(sum(o.revenue) AS DOUBLE) / count(*), 2) AS revenue_per_one_id,
    CASE WHEN count(o.n) = 0 THEN 0 ELSE round(CAST(sum(o.revenue) AS DOUBLE) / count(o.n), 2) END AS revenue_per_buyer
FROM first_touch AS f
LEFT JOIN (
    SELECT one_key, count(*) AS n, sum(amount) AS revenue
    FROM orders
    WHERE NOT refunded AND one_key IS NOT NULL
    GROUP BY one_key
) AS o ON o.one_key = f.one_key
GROUP BY f.acquisition_channel
