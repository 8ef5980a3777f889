// Where parent-infant relationship referrals go (targets of any status).
MATCH (src:Service)-[r:REFERS_TO]->(t:Service)
WHERE src.status = 'active' AND r.reason = 'parent_infant_relationship'
  AND ($area = '' OR EXISTS { MATCH (src)-[:COVERS]->(:Area {code: $area}) })
WITH t, sum(coalesce(r.count, 0)) AS count
OPTIONAL MATCH (t)-[o:OFFERS]->(:Level)
WHERE o.focus = 'specialised'
RETURN t.id AS to_service, count, count(o) > 0 AS specialised
