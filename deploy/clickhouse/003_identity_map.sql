-- 003: identity_map — every identifier the identity graph knows and its
-- person. Lake: identity_map/*.parquet, rewritten whole by each `cdp resolve`
-- (the files named by identity/current.json). Loaded whole into a staging
-- table, then swapped in with one RENAME.

CREATE TABLE IF NOT EXISTS identity_map
(
    id_type String COMMENT 'phone, phone_md5, phone_sha256, email, openid, unionid, member_id, anonymous_id, wecom_external_userid, android_id, idfa, idfa_md5, oaid, oaid_md5, imei_md5',
    id_value String COMMENT 'the identifier in its canonical form (contract §3), e.g. +8613800138000',
    one_id String COMMENT 'the person: OID + one_key zero-padded to 12 digits',
    one_key Int64 COMMENT 'the person as an integer key (>= 1); the older of two people has the smaller key',
    first_seen DateTime('UTC') COMMENT 'earliest event carrying this identifier, UTC',
    last_seen DateTime('UTC') COMMENT 'latest event carrying this identifier, UTC',
    _load_version UInt64 COMMENT 'the cdp load that wrote the row (its start, microseconds since 1970)'
)
ENGINE = ReplacingMergeTree(_load_version)
ORDER BY (id_type, id_value);
