-- Predicted 365-day CLV of the customers (ltv table), in yuan buckets.
SELECT
  CASE
    WHEN predicted_clv_365d < 50 THEN '0-50'
    WHEN predicted_clv_365d < 100 THEN '50-100'
    WHEN predicted_clv_365d < 200 THEN '100-200'
    WHEN predicted_clv_365d < 500 THEN '200-500'
    WHEN predicted_clv_365d < 1000 THEN '500-1k'
    WHEN predicted_clv_365d < 2000 THEN '1k-2k'
    WHEN predicted_clv_365d < 5000 THEN '2k-5k'
    ELSE '5k+'
  END AS bucket,
  CASE
    WHEN predicted_clv_365d < 50 THEN 0
    WHEN predicted_clv_365d < 100 THEN 50
    WHEN predicted_clv_365d < 200 THEN 100
    WHEN predicted_clv_365d < 500 THEN 200
    WHEN predicted_clv_365d < 1000 THEN 500
    WHEN predicted_clv_365d < 2000 THEN 1000
    WHEN predicted_clv_365d < 5000 THEN 2000
    ELSE 5000
  END AS bucket_start,
  count(*) AS customers
FROM ltv
GROUP BY 1, 2
ORDER BY bucket_start
