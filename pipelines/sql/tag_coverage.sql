-- tag_coverage: how many one_ids carry each tag, and each group in all.
--
-- One row per (tag_group, tag), and one per group with tag NULL counting
-- the distinct one_ids that have any tag of the group. For an exclusive
-- group that row must show one_ids = tag_rows = all_one_ids (every one_id
-- exactly one tag): `cdp build` checks it and fails otherwise.
--
-- Reads profiles, tags, and tag_groups (tag_group, kind, position: the
-- groups of the build in config order), all registered by cdp.

WITH everyone AS (
    SELECT count(*) AS all_one_ids FROM profiles
),
per_tag AS (
    SELECT tag_group, tag, count(*) AS one_ids, count(*) AS tag_rows
    FROM tags
    GROUP BY tag_group, tag
),
per_group AS (
    SELECT tag_group, CAST(NULL AS VARCHAR) AS tag,
           count(DISTINCT one_key) AS one_ids, count(*) AS tag_rows
    FROM tags
    GROUP BY tag_group
),
counted AS (
    SELECT * FROM per_group
    UNION ALL
    SELECT * FROM per_tag
)
SELECT
    g.tag_group,
    g.kind,
    c.tag,
    COALESCE(c.one_ids, 0) AS one_ids,
    COALESCE(c.tag_rows, 0) AS tag_rows,
    e.all_one_ids,
    CASE WHEN e.all_one_ids > 0
         THEN CAST(COALESCE(c.one_ids, 0) AS DOUBLE) / e.all_one_ids
         ELSE 1.0
    END AS share
FROM tag_groups AS g
CROSS JOIN everyone AS e
LEFT JOIN counted AS c ON c.tag_group = g.tag_group
ORDER BY g.position, c.tag NULLS FIRST
