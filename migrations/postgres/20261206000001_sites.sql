-- Sites: the internal tenant id that per-user data is keyed by, the same whichever transport a
-- call came through. A Connect tenant (clientKey) and every Forge installation (installationId)
-- link to one site; a site's cloudId, when known, is unique, so a Forge reinstall (new
-- installationId, same cloudId) finds the same site and its users keep their data.
-- Existing data keeps its key: each clientKey becomes the id of its own site.
CREATE TABLE sites (
    site_id    TEXT PRIMARY KEY NOT NULL,
    cloud_id   TEXT UNIQUE,
    created_at BIGINT NOT NULL
);

INSERT INTO sites (site_id, cloud_id, created_at)
SELECT t.client_key,
       CASE WHEN t.cloud_id IS NOT NULL AND t.client_key =
                 (SELECT MIN(u.client_key) FROM tenants u WHERE u.cloud_id = t.cloud_id)
            THEN t.cloud_id END,
       t.installed_at
FROM tenants t;

INSERT INTO sites (site_id, cloud_id, created_at)
SELECT DISTINCT p.client_key, NULL, 0 FROM preferences p
WHERE NOT EXISTS (SELECT 1 FROM sites s WHERE s.site_id = p.client_key);

ALTER TABLE tenants ADD COLUMN site_id TEXT REFERENCES sites (site_id);
UPDATE tenants SET site_id = client_key;

-- Forge installations: one per installationId ever seen (a FIT, the install trigger, or a
-- Connect `installed` payload of an app already on Forge). `uninstalled` is final: a later
-- install arrives with a new installationId. The app system token is the newest one Forge sent
-- with an event (x-forge-oauth-system), encrypted like tenant secrets, with the expiry it is
-- ordered by.
CREATE TABLE forge_installations (
    installation_id  TEXT PRIMARY KEY NOT NULL,
    site_id          TEXT NOT NULL REFERENCES sites (site_id),
    cloud_id         TEXT,
    state            TEXT NOT NULL CHECK (state IN ('installed', 'uninstalled')),
    installed_at     BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    uninstalled_at   BIGINT,
    system_token_enc TEXT,
    system_token_exp BIGINT
);
CREATE INDEX forge_installations_site_id ON forge_installations (site_id);

INSERT INTO forge_installations (installation_id, site_id, cloud_id, state, installed_at, updated_at)
SELECT installation_id, MIN(client_key), MIN(cloud_id), 'installed', MIN(installed_at), MAX(updated_at)
FROM tenants WHERE installation_id IS NOT NULL GROUP BY installation_id;

-- Preferences keyed by site instead of clientKey (SQLite cannot change a primary key in place).
CREATE TABLE preferences_by_site (
    site_id        TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    schema_version BIGINT NOT NULL,
    data           TEXT NOT NULL,
    revision       BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (site_id, account_id)
);
INSERT INTO preferences_by_site (site_id, account_id, schema_version, data, revision, updated_at)
SELECT client_key, account_id, schema_version, data, revision, updated_at FROM preferences;
DROP TABLE preferences;
ALTER TABLE preferences_by_site RENAME TO preferences;
