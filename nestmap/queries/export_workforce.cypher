MATCH (s:Service)-[:STAFFED_BY]->(p:StaffPost)
RETURN p.id AS post, s.id AS service_id, p.role AS role, p.fte AS fte, p.aimh_level AS aimh_level
