UNWIND $rows AS row
CREATE (a:Area)
SET a = row
