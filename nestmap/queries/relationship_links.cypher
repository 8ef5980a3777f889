// The parent-infant relationship referral links from active services (of the report's area, or
// all): the links concentration sums, one row per link, the count as recorded (null when
// blank), for the report's flow diagram, its "not recorded" and its provenance marks.
MATCH (src:Service)-[r:REFERS_TO]->(t:Service)
WHERE src.status = 'active' AND r.reason = 'parent_infant_relationship'
  AND ($area = '' OR EXISTS { MATCH (src)-[:COVERS]->(:Area {code: $area}) })
RETURN src.id AS from_service, t.id AS to_service, r.reason AS reason, r.count AS count,
       coalesce(r.count_basis, 'per_year') AS count_basis
ORDER BY from_service, to_service
