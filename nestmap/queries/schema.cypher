// Uniqueness constraints for the nestmap graph (docs/analyses.md, "The graph"); idempotent.
CREATE CONSTRAINT area_code IF NOT EXISTS FOR (a:Area) REQUIRE a.code IS UNIQUE;
CREATE CONSTRAINT service_id IF NOT EXISTS FOR (s:Service) REQUIRE s.id IS UNIQUE;
CREATE CONSTRAINT level_name IF NOT EXISTS FOR (l:Level) REQUIRE l.name IS UNIQUE;
CREATE CONSTRAINT staff_post_id IF NOT EXISTS FOR (p:StaffPost) REQUIRE p.id IS UNIQUE;
CREATE CONSTRAINT dataset_id IF NOT EXISTS FOR (d:Dataset) REQUIRE d.id IS UNIQUE;
