-- Events stored and messages dead-lettered, per source.
SELECT source, sum(events) AS events, sum(dead_letters) AS dead_letters
FROM (
  SELECT source, count(*) AS events, 0 AS dead_letters FROM events GROUP BY source
  UNION ALL
  SELECT source, 0 AS events, count(*) AS dead_letters FROM dlq GROUP BY source
) AS counts
GROUP BY source
ORDER BY source
