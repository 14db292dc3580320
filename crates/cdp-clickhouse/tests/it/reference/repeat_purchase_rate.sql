SELECT
    first_order_month,
    count(*) AS buyers,
    sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END) AS second_order_buyers,
    sum(CASE WHEN n >= 3 THEN 1 ELSE 0 END) AS third_order_buyers,
    round(CAST(sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END) AS DOUBLE) / count(*), 6) AS first_to_second_rate,
    round(CASE WHEN sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END) = 0 THEN 0
               ELSE CAST(sum(CASE WHEN n >= 3 THEN 1 ELSE 0 END) AS DOUBLE)
                    / sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END) END, 6) AS second_to_third_rate
FROM (
    SELECT one_key, CAST(date_trunc('month', min(paid_at)) AS DATE) AS first_order_month, count(*) AS n
    FROM orders
    WHERE NOT refunded AND one_key IS NOT NULL
    GROUP BY one_key
) AS buyers
GROUP BY first_order_month
