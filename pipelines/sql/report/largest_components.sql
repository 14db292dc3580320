-- The ten one_ids with the most identifiers: where an over-merge would show.
SELECT
  one_key,
  min(one_id) AS one_id,
  count(*) AS identifiers,
  count(DISTINCT id_type) AS id_types,
  min(first_seen) AS first_seen,
  max(last_seen) AS last_seen
FROM identity_map
GROUP BY one_key
ORDER BY identifiers DESC, one_key
LIMIT 10
