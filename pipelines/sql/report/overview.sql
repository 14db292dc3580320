-- Headline figures of the report.
SELECT
  (SELECT count(*) FROM events) AS events,
  (SELECT count(*) FROM dlq) AS dead_letters,
  (SELECT count(*) FROM identity_map) AS identifiers,
  (SELECT count(DISTINCT one_key) FROM identity_map) AS one_ids,
  (SELECT count(*) FROM profiles) AS profiles,
  (SELECT count(*) FROM ltv) AS customers_with_ltv
