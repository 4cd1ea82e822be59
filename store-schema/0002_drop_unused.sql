-- 0002: drop what nothing writes.
--
-- RecipeOutputs (Nix's DerivationOutputs) and Objects.last_used_at were laid
-- down for recipe objects and LRU policies that never came: no code path
-- writes either, so no store holds data in them. A part is rebuilt from the
-- inputs its generation's manifest records (store verify --repair), not from
-- a recipe object. Objects.deriver stays: registration records it, and
-- `store info` shows it.

DROP INDEX RecipeOutputsByOut;
DROP TABLE RecipeOutputs;
ALTER TABLE Objects DROP COLUMN last_used_at;
