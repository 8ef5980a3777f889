// Entry points (active services with a universal or statutory offer) and whether each one's
// assessment directly asks about the parent-infant relationship.
MATCH (s:Service)-[:OFFERS]->(l:Level)
WHERE s.status = 'active' AND l.name IN ['universal', 'statutory']
  AND ($area = '' OR EXISTS { MATCH (s)-[:COVERS]->(:Area {code: $area}) })
RETURN s.id AS service_id, s.name AS name, s.sector AS sector, collect(l.name) AS levels,
       s.stages AS stages, s.assesses_relationship AS assesses_relationship
