MATCH (d:Dataset)
RETURN d.id AS id, d.name AS name, d.origin AS origin, d.loaded_at AS loaded_at,
       d.file_hashes AS file_hashes, d.nestmap_version AS nestmap_version,
       d.loaded_by AS loaded_by,
       d.about AS about
