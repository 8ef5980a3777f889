UNWIND $rows AS row
MATCH (child:Area {code: row.from}), (parent:Area {code: row.to})
CREATE (child)-[:PART_OF]->(parent)
