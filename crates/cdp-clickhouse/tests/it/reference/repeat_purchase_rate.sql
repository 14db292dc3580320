SELECT
    first_order_month,
    count(*) AS buyers,
    count(*) FILTER (WHERE n >= 2) AS second_order_buyers,
    count(*) FILTER (WHERE n >= 3) AS third_order_buyers,
    round((count(*) FILTER (WHERE n >= 2)) / count(*), 6) AS first_to_second_rate,
    round(CASE WHEN count(*) FILTER (WHERE n >= 2) = 0 THEN 0
               ELSE (count(*) FILTER (WHERE n >= 3)) / (count(*) FILTER (WHERE n >= 2)) END, 6) AS second_to_third_rate
FROM (
    SELECT one_key, CAST(date_trunc('month', min(paid_at)) AS DATE) AS first_order_month, count(*) AS n
    FROM orders
    WHERE NOT refunded AND one_key IS NOT NULL
    GROUP BY one_key
)
GROUP BY first_order_month
