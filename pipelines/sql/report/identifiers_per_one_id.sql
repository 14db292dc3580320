-- How many identifiers each one_id holds (identity_map), in buckets.
WITH sizes AS (
  SELECT one_key, count(*) AS identifiers FROM identity_map GROUP BY one_key
)
SELECT
  CASE
    WHEN identifiers <= 5 THEN CAST(identifiers AS VARCHAR)
    WHEN identifiers <= 10 THEN '6-10'
    WHEN identifiers <= 20 THEN '11-20'
    ELSE '21+'
  END AS bucket,
  CASE
    WHEN identifiers <= 5 THEN identifiers
    WHEN identifiers <= 10 THEN 6
    WHEN identifiers <= 20 THEN 11
    ELSE 21
  END AS bucket_start,
  count(*) AS one_ids
FROM sizes
GROUP BY 1, 2
ORDER BY bucket_start
