-- Prospect → member → first purchase → repeat → loyal, as nested stages of
-- the profiles (orders are net orders, as in the lifecycle tags): a stage
-- counts the one_ids that reached it, so each is part of the one before.
-- A customer who bought without signing up has passed the member stage.
SELECT stage, step, one_ids
FROM (
  SELECT 'prospect' AS stage, 1 AS step, count(*) AS one_ids FROM profiles
  UNION ALL
  SELECT 'member', 2, count(*) FROM profiles WHERE member_since IS NOT NULL OR orders >= 1
  UNION ALL
  SELECT 'first_purchase', 3, count(*) FROM profiles WHERE orders >= 1
  UNION ALL
  SELECT 'repeat', 4, count(*) FROM profiles WHERE orders >= 2
  UNION ALL
  SELECT 'loyal', 5, count(*) FROM profiles WHERE orders >= 3
) AS stages
ORDER BY step
