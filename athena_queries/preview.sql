-- name: preview
-- answers: What do the interactions look like? The first 50 rows, as in the workshop, in a stable order.
SELECT user_id, item_id, event_type, "timestamp"
FROM "${database}"."${table}"
ORDER BY "timestamp", user_id, item_id, event_type
LIMIT 50
