-- Ad campaign ROI across devices: per campaign, what it cost (ad_cost of its
-- events) against the net revenue of the people its clicks led to. A click
-- carries only device ids (OAID, IDFA, IMEI md5, hashed phone); identity
-- resolution ties them to the same one_id as the person's mini-program
-- account, store membership and orders, so a purchase made on another device
-- or in a store still counts. An order counts for a campaign when the person
-- clicked the campaign at or before paying, at most 30 days before
-- (attribution window; change 30 below). A person who clicked two campaigns
-- counts for both: campaign revenues may add up to more than the total.
-- Needs: resolved_events (and the view orders).

SELECT
    campaign AS campaign_id,
    cost,
    clickers,
    buyers,
    attributed_orders,
    attributed_revenue,
    round(if(cost = 0, 0, toFloat64(attributed_revenue) / toFloat64(cost)), 4) AS roi
FROM
(
    SELECT assumeNotNull(campaign_id) AS campaign, sum(ad_cost) AS cost
    FROM resolved_events
    WHERE source = 'ad' AND campaign_id IS NOT NULL
    GROUP BY campaign
) AS costs
ANY LEFT JOIN
(
    SELECT
        campaign,
        uniqExact(person) AS clickers,
        uniqExactIf(person, attributed) AS buyers,
        countIf(attributed) AS attributed_orders,
        sumIf(amount, attributed) AS attributed_revenue
    FROM
    (
        SELECT
            campaign,
            person,
            amount,
            paid_at_us > 0 AND paid_at_us >= first_click_us AND paid_at_us - first_click_us <= 30 * 86400000000 AS attributed
        FROM
        (
            SELECT assumeNotNull(campaign_id) AS campaign, assumeNotNull(one_key) AS person, min(event_time_us) AS first_click_us
            FROM resolved_events
            WHERE source = 'ad' AND event_type = 'click' AND campaign_id IS NOT NULL AND one_key IS NOT NULL
            GROUP BY campaign, person
        ) AS clicks
        ALL LEFT JOIN
        (
            SELECT assumeNotNull(one_key) AS person, paid_at_us, amount
            FROM orders
            WHERE refunded = 0 AND one_key IS NOT NULL
        ) AS paid USING person
    )
    GROUP BY campaign
) AS attribution USING campaign
ORDER BY cost DESC, campaign_id
