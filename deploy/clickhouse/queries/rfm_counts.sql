-- RFM: people per RFM class (recency, frequency, monetary each high or low:
-- 8 classes), with their net revenue and days since the last order, from the
-- exclusive tag group `rfm` of `cdp build` joined to profiles.
-- Needs: tags, profiles — PROVISIONAL until `cdp build` lands (issue 6): the
-- group name `rfm` and the profile columns are guesses; not yet checked by a
-- test.

SELECT
    rfm_class,
    count() AS one_ids,
    sum(revenue) AS net_revenue,
    round(avg(days_since), 1) AS avg_days_since_last_order
FROM
(
    SELECT one_key, tag AS rfm_class
    FROM tags
    WHERE tag_group = 'rfm'
) AS lhs
ANY LEFT JOIN
(
    SELECT one_key, net_revenue AS revenue, days_since_last_order AS days_since
    FROM profiles
) AS rhs USING one_key
GROUP BY rfm_class
ORDER BY rfm_class
