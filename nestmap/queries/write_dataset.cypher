CREATE (d:Dataset)
SET d = $dataset
