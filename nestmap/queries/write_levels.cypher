UNWIND $rows AS row
CREATE (l:Level {name: row.name, rank: row.rank})
