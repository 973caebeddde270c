-- name: duplicate_interactions
-- answers: Which interactions appear more than once (same user, item, event type and second)?
SELECT user_id, item_id, event_type, "timestamp", count(*) AS copies
FROM "${database}"."${table}"
GROUP BY user_id, item_id, event_type, "timestamp"
HAVING count(*) > 1
ORDER BY copies DESC, user_id, item_id, event_type, "timestamp"
LIMIT 100
