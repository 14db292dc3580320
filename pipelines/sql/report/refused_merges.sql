-- Joins the identity rules refused (and values found hot), by reason, over
-- every resolve run.
SELECT reason, count(*) AS refusals, sum(sets) AS identifier_sets
FROM identity_conflicts
GROUP BY reason
ORDER BY refusals DESC, reason
