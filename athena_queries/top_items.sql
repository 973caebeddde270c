-- name: top_items
-- answers: Which 20 items have the most interactions, from how many users, and how many were orders?
SELECT
  item_id,
  count(*) AS interactions,
  count(DISTINCT user_id) AS users,
  sum(CASE WHEN event_type = 'Order Completed' THEN 1 ELSE 0 END) AS orders
FROM "${database}"."${table}"
GROUP BY item_id
ORDER BY interactions DESC, item_id
LIMIT 20
