-- Tenants (one row per Confluence site that installed the app) and per-user preferences.
-- Times are Unix seconds. The shared secret is stored encrypted (see server/src/connect/secrets.rs).
CREATE TABLE tenants (
    client_key                 TEXT PRIMARY KEY NOT NULL,
    shared_secret_enc          TEXT NOT NULL,
    base_url                   TEXT NOT NULL,
    display_url                TEXT,
    product_type               TEXT,
    description                TEXT,
    service_entitlement_number TEXT,
    oauth_client_id            TEXT,
    installation_id            TEXT,
    cloud_id                   TEXT,
    state                      TEXT NOT NULL CHECK (state IN ('installed', 'enabled', 'disabled', 'uninstalled')),
    -- iat of the lifecycle token that last changed the state: later events win, late ones are ignored.
    state_changed_at           BIGINT NOT NULL,
    installed_at               BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL,
    uninstalled_at             BIGINT,
    -- The install callback body without its sharedSecret.
    install_payload            TEXT NOT NULL
);

CREATE TABLE preferences (
    client_key     TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    schema_version BIGINT NOT NULL,
    data           TEXT NOT NULL,
    revision       BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (client_key, account_id)
);

-- Lifecycle tokens already accepted (SHA-256 of signing input + decoded signature), until expiry.
CREATE TABLE lifecycle_replay (
    token_hash TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX lifecycle_replay_expires_at ON lifecycle_replay (expires_at);
