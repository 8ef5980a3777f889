UNWIND $rows AS row
MATCH (s:Service {id: row.from})
MATCH (l:Level {name: row.to})
CREATE (s)-[:OFFERS {focus: row.focus, interventions: row.interventions}]->(l)
