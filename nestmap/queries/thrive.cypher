// Every active service's offers, to group by THRIVE (the level decides the grouping).
MATCH (s:Service)-[o:OFFERS]->(l:Level)
WHERE s.status = 'active'
  AND ($area = '' OR EXISTS { MATCH (s)-[:COVERS]->(:Area {code: $area}) })
RETURN l.name AS level, s.id AS service_id, s.name AS name, o.focus AS focus
