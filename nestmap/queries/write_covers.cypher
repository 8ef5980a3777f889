UNWIND $rows AS row
MATCH (s:Service {id: row.from})
MATCH (a:Area {code: row.to})
CREATE (s)-[:COVERS]->(a)
