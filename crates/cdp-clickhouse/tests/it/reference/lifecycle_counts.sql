SELECT
    tag AS lifecycle_stage,
    count(*) AS one_ids,
    round(CAST(count(*) AS DOUBLE) / (SELECT count(*) FROM tags WHERE tag_group = 'lifecycle'), 6) AS share
FROM tags
WHERE tag_group = 'lifecycle'
GROUP BY tag
