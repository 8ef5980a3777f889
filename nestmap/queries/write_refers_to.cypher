UNWIND $rows AS row
MATCH (a:Service {id: row.from})
MATCH (b:Service {id: row.to})
CREATE (a)-[:REFERS_TO {reason: row.reason, count: row.count, source: row.source}]->(b)
