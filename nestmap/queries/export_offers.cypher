MATCH (s:Service)-[o:OFFERS]->(l:Level)
RETURN s.id AS service_id, l.name AS level, o.focus AS focus, o.interventions AS interventions
