UNWIND $rows AS row
CREATE (s:Service)
SET s = row
