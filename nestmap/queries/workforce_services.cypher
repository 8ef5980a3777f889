// FTE and practitioners per active service and AiMH competency level.
MATCH (s:Service)-[:STAFFED_BY]->(p:StaffPost)
WHERE s.status = 'active'
  AND ($area = '' OR EXISTS { MATCH (s)-[:COVERS]->(:Area {code: $area}) })
RETURN s.id AS service_id, s.name AS name, p.aimh_level AS aimh_level,
       sum(p.fte) AS fte, count(p) AS practitioners
