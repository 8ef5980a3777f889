UNWIND $rows AS row
MATCH (child:Area {code: row.from})
MATCH (parent:Area {code: row.to})
CREATE (child)-[:PART_OF]->(parent)
