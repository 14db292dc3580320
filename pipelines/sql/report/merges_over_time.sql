-- Merges and splits of existing one_ids, per resolve run (the first run of
-- a lake has none: no one_id existed before it).
SELECT
  run_id,
  min(recorded_at) AS recorded_at,
  sum(CASE WHEN kind = 'merge' THEN 1 ELSE 0 END) AS merges,
  sum(CASE WHEN kind = 'split' THEN 1 ELSE 0 END) AS splits
FROM identity_merges
GROUP BY run_id
ORDER BY recorded_at, run_id
