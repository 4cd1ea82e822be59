-- 0001: the object registry.
--
-- Connection settings (applied by src/store/db.rs, not here): WAL,
-- synchronous=FULL, foreign_keys=ON, a long busy timeout; every write is a
-- BEGIN IMMEDIATE transaction.

-- Facts about the store itself. 'store_dir' is the directory string hashed
-- into every path: a store whose directory changed must not be opened.
CREATE TABLE Meta (
  key   TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per valid (registered) object. A directory in the store without a
-- row is not an object: it is a leftover of an interrupted run.
CREATE TABLE Objects (
  id            INTEGER PRIMARY KEY,
  base_name     TEXT    NOT NULL UNIQUE,        -- "<hash32>-<name>"
  hash_part     TEXT    NOT NULL UNIQUE CHECK (length(hash_part) = 32),
  -- What the object is: 'source' (imported tree), 'artifact' (downloaded
  -- file), 'dist' (installed distribution), 'part', 'generation', 'recipe'.
  -- Checked in Rust, not here, so a new kind needs no table rebuild.
  kind          TEXT    NOT NULL,
  nar_sha256    BLOB    NOT NULL CHECK (length(nar_sha256) = 32),
  nar_size      INTEGER NOT NULL CHECK (nar_size > 0),
  -- Content-address claim ("fixed:sha256:<nix32>", "source"), NULL when
  -- input-addressed.
  ca            TEXT,
  -- How to rebuild it: the base name of the 'recipe' object that produced
  -- it (may no longer be valid). NULL when nothing records it.
  deriver       TEXT,
  -- How to re-fetch it: a URL for downloaded artifacts. NULL when none.
  origin        TEXT,
  registered_at INTEGER NOT NULL,               -- unix seconds
  last_used_at  INTEGER                         -- for LRU policies on parts
);

-- The reference graph. The foreign keys keep the closure invariant inside
-- SQLite: an object that is referenced cannot be deleted (RESTRICT), and
-- deleting a referrer removes its edges (CASCADE).
CREATE TABLE Refs (
  referrer  INTEGER NOT NULL REFERENCES Objects(id) ON DELETE CASCADE,
  reference INTEGER NOT NULL REFERENCES Objects(id) ON DELETE RESTRICT,
  PRIMARY KEY (referrer, reference)
) WITHOUT ROWID;
CREATE INDEX RefsByReference ON Refs(reference, referrer);

-- A self-reference would otherwise make an object impossible to delete.
CREATE TRIGGER DeleteSelfRefs BEFORE DELETE ON Objects
BEGIN
  DELETE FROM Refs WHERE referrer = old.id AND reference = old.id;
END;

-- Reverse index: every valid recipe -> the outputs it builds (Nix's
-- DerivationOutputs). The outputs need not be valid.
CREATE TABLE RecipeOutputs (
  recipe      INTEGER NOT NULL REFERENCES Objects(id) ON DELETE CASCADE,
  output_name TEXT    NOT NULL,
  out_base    TEXT    NOT NULL,
  PRIMARY KEY (recipe, output_name)
) WITHOUT ROWID;
CREATE INDEX RecipeOutputsByOut ON RecipeOutputs(out_base);
