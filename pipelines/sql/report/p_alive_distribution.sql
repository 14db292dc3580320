-- P(alive) of the customers (ltv table) in tenths: bucket 0 is [0, 0.1),
-- bucket 9 is [0.9, 1].
SELECT
  CASE WHEN p_alive >= 0.9 THEN 9 WHEN p_alive <= 0 THEN 0 ELSE CAST(p_alive * 10 AS BIGINT) END AS tenth,
  count(*) AS customers
FROM ltv
GROUP BY 1
ORDER BY tenth
