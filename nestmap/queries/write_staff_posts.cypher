UNWIND $rows AS row
MATCH (s:Service {id: row.service_id})
CREATE (s)-[:STAFFED_BY]->(:StaffPost {id: row.id, role: row.role, fte: row.fte, aimh_level: row.aimh_level})
