-- 0003: signatures of objects (Nix's `Sig:` lines).
--
-- Filled from the narinfos of substituted objects and by signing at push,
-- so a host can serve again the signatures it received and
-- `store verify --check-signatures` can check them against the
-- configured `trusted-public-keys`. A signature is `name:base64` over the
-- object's fingerprint (path, NAR hash, NAR size, references); it goes
-- with its object.

CREATE TABLE Signatures (
  object INTEGER NOT NULL REFERENCES Objects(id) ON DELETE CASCADE,
  sig    TEXT    NOT NULL,
  PRIMARY KEY (object, sig)
) WITHOUT ROWID;
