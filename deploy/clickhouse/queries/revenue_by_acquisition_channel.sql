-- Revenue by acquisition channel: net revenue (contract §6: paid orders not
-- refunded) of the people each channel brought, net orders, buyers, and the
-- historical LTV per person (net revenue / people of the channel) and per
-- buyer. For predicted LTV by channel see ltv_by_acquisition_channel.sql.
-- Needs: resolved_events (and the views first_touch, orders).

SELECT
    acquisition_channel,
    count() AS one_ids,
    countIf(person_orders > 0) AS buyers,
    sum(person_orders) AS net_orders,
    sum(person_revenue) AS net_revenue,
    round(toFloat64(net_revenue) / one_ids, 2) AS revenue_per_one_id,
    round(if(buyers = 0, 0, toFloat64(net_revenue) / buyers), 2) AS revenue_per_buyer
FROM
(
    SELECT one_key AS person, acquisition_channel
    FROM first_touch
) AS lhs
ANY LEFT JOIN
(
    SELECT assumeNotNull(one_key) AS person, count() AS person_orders, sum(amount) AS person_revenue
    FROM orders
    WHERE refunded = 0 AND one_key IS NOT NULL
    GROUP BY person
) AS rhs USING person
GROUP BY acquisition_channel
ORDER BY net_revenue DESC, acquisition_channel
