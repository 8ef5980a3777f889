// The embedded engine needs typed tables; idempotent. Service.covers repeats, as a list, the
// codes of the LAs its COVERS links reach (written by the loader from the same rows): queries
// that compare two services' LAs read it instead of a per-row subquery (see misdirected).
CREATE NODE TABLE IF NOT EXISTS Area(code STRING PRIMARY KEY, name STRING, kind STRING, parent_code STRING, under2_population INT64, births_per_year INT64, source STRING);
CREATE NODE TABLE IF NOT EXISTS Service(id STRING PRIMARY KEY, name STRING, provider STRING, sector STRING, status STRING, areas STRING[], stages STRING[], min_age_months INT64, max_age_months INT64, threshold STRING, self_referral BOOLEAN, capacity_per_year INT64, assesses_relationship BOOLEAN, supports_fathers BOOLEAN, source STRING, covers STRING[]);
CREATE NODE TABLE IF NOT EXISTS Level(name STRING PRIMARY KEY, rank INT64);
CREATE NODE TABLE IF NOT EXISTS StaffPost(id INT64 PRIMARY KEY, role STRING, fte DOUBLE, aimh_level INT64);
CREATE NODE TABLE IF NOT EXISTS Dataset(id STRING PRIMARY KEY, name STRING, origin STRING, loaded_at STRING, file_hashes STRING, nestmap_version STRING, loaded_by STRING, about STRING);
CREATE REL TABLE IF NOT EXISTS PART_OF(FROM Area TO Area);
CREATE REL TABLE IF NOT EXISTS COVERS(FROM Service TO Area);
CREATE REL TABLE IF NOT EXISTS OFFERS(FROM Service TO Level, focus STRING, interventions STRING[]);
CREATE REL TABLE IF NOT EXISTS REFERS_TO(FROM Service TO Service, reason STRING, count INT64, count_basis STRING, source STRING);
CREATE REL TABLE IF NOT EXISTS STAFFED_BY(FROM Service TO StaffPost);
