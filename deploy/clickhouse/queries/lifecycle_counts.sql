-- Lifecycle: people per lifecycle stage (prospect, new member, first
-- purchase, repeat, loyal, dormant, churned) and their share, from the
-- exclusive tag group `lifecycle` of `cdp build`.
-- Needs: tags — PROVISIONAL until `cdp build` lands (issue 6): the group
-- name `lifecycle` is a guess; the figures are not yet checked by a test.

SELECT
    tag AS lifecycle_stage,
    count() AS one_ids,
    round(one_ids / (SELECT count() FROM tags WHERE tag_group = 'lifecycle'), 6) AS share
FROM tags
WHERE tag_group = 'lifecycle'
GROUP BY tag
ORDER BY one_ids DESC, lifecycle_stage
