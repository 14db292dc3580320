-- tag_cutoffs: the default RFM cut-offs, the median customer (one_id with at
-- least one net order) of the profiles table. `[build]` rfm_* settings
-- replace them. One row.

SELECT
    count(*) AS customers,
    median(CAST(days_since_last_order AS DOUBLE)) AS rfm_recency_days,
    median(CAST(orders AS DOUBLE)) AS rfm_frequency_orders,
    median(CAST(net_revenue AS DOUBLE)) AS rfm_monetary_yuan
FROM profiles
WHERE orders >= 1
