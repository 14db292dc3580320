-- Acquisition channel of each one_id: the live code (渠道活码) of its earliest
-- event that has one, else the utm_source of the earliest that has one.
-- Average LTV: mean predicted 365-day CLV of the channel's customers (null
-- when the build skipped LTV).
SELECT
  COALESCE(p.first_channel_code, p.first_utm_source, '(none)') AS channel,
  count(*) AS new_one_ids,
  sum(CASE WHEN p.orders >= 1 THEN 1 ELSE 0 END) AS customers,
  CAST(sum(p.net_revenue) AS DOUBLE) AS revenue,
  avg(l.predicted_clv_365d) AS average_ltv
FROM profiles AS p
LEFT JOIN ltv AS l ON l.one_key = p.one_key
GROUP BY 1
ORDER BY new_one_ids DESC, channel
