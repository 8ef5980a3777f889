UNWIND $rows AS row
MATCH (a:Service {id: row.from})
MATCH (b:Service {id: row.to})
CREATE (a)-[:REFERS_TO {reason: row.reason, count: row.count,
                   count_basis: row.count_basis, source: row.source}]->(b)
