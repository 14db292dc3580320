-- The most frequent dead-letter reasons. A reason quotes the bad value
-- ("`ts` \"yesterday\" is not an epoch number"), which would make every value
-- its own reason: such reasons are counted per source and field, with one
-- example; a broken JSON line is "not JSON" whatever the parser said.
SELECT source, reason_kind, count(*) AS dead_letters, min(reason) AS example
FROM (
  SELECT
    source,
    reason,
    CASE
      WHEN reason LIKE 'not JSON%' THEN 'not JSON'
      WHEN reason LIKE '%"%' AND field IS NOT NULL THEN '`' || field || '` has an unusable value'
      ELSE reason
    END AS reason_kind
  FROM dlq
) AS classified
GROUP BY source, reason_kind
ORDER BY dead_letters DESC, source, reason_kind
LIMIT 10
