-- Exclusive tag groups (tag_coverage): each group's row, then its tags.
SELECT tag_group, tag, one_ids, tag_rows, all_one_ids, share
FROM tag_coverage
WHERE kind = 'exclusive'
ORDER BY tag_group, tag IS NOT NULL, one_ids DESC, tag
