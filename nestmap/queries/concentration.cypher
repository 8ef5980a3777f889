// Where parent-infant relationship referrals go (targets of any status), per target and count
// basis: counts of different units (referrals a year, survey mentions) are never added.
MATCH (src:Service)-[r:REFERS_TO]->(t:Service)
WHERE src.status = 'active' AND r.reason = 'parent_infant_relationship'
  AND ($area = '' OR EXISTS { MATCH (src)-[:COVERS]->(:Area {code: $area}) })
WITH t, coalesce(r.count_basis, 'per_year') AS count_basis, sum(coalesce(r.count, 0)) AS count
OPTIONAL MATCH (t)-[o:OFFERS]->(:Level)
WHERE o.focus = 'specialised'
RETURN t.id AS to_service, count_basis, count, count(o) > 0 AS specialised
