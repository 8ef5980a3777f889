CREATE (:Dataset {id: $id, name: $name, origin: $origin, loaded_at: $loaded_at,
                  file_hashes: $file_hashes, nestmap_version: $nestmap_version,
                  loaded_by: $loaded_by, about: $about})
