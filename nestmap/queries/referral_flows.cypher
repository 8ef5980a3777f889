// The largest parent-infant relationship referral links from active services (the report's
// flow diagram): the same links concentration sums, one row per link, blank counts as 0.
MATCH (src:Service)-[r:REFERS_TO]->(t:Service)
WHERE src.status = 'active' AND r.reason = 'parent_infant_relationship'
  AND ($area = '' OR EXISTS { MATCH (src)-[:COVERS]->(:Area {code: $area}) })
RETURN src.id AS from_service, t.id AS to_service, coalesce(r.count, 0) AS count
ORDER BY count DESC, from_service, to_service
LIMIT $limit
