-- Repeat purchase (一转二, 二转三): people by the month of their first order
-- (paid and not refunded), how many ordered once, twice, three times or
-- more, and the rates first → second and second → third. Orders are counted
-- one by one (two orders on one day are two).
-- Needs: resolved_events (and the view orders).

SELECT
    first_order_month,
    count() AS buyers,
    countIf(net_orders >= 2) AS second_order_buyers,
    countIf(net_orders >= 3) AS third_order_buyers,
    round(second_order_buyers / buyers, 6) AS first_to_second_rate,
    round(if(second_order_buyers = 0, 0, third_order_buyers / second_order_buyers), 6) AS second_to_third_rate
FROM
(
    SELECT
        assumeNotNull(one_key) AS person,
        toStartOfMonth(min(paid_at)) AS first_order_month,
        count() AS net_orders
    FROM orders
    WHERE refunded = 0 AND one_key IS NOT NULL
    GROUP BY person
)
GROUP BY first_order_month
ORDER BY first_order_month
