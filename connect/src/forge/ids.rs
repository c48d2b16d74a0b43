//! The identifiers a Forge invocation token carries, parsed into types: the app, environment
//! and installation ARIs, the site's `cloudId` and the acting user's `accountId`.
//! Each parse accepts one exact form (lower-case UUIDs, no surrounding space), so equal ids are
//! equal strings and a map keyed by them cannot be fooled by a second spelling.

use std::fmt;

const APP_PREFIX: &str = "ari:cloud:ecosystem::app/";
const ENVIRONMENT_PREFIX: &str = "ari:cloud:ecosystem::environment/";
const INSTALLATION_PREFIX: &str = "ari:cloud:ecosystem::installation/";
/// Longest accepted `accountId` (Atlassian's are under 64 characters).
const MAX_ACCOUNT_ID_LEN: usize = 128;

/// `8-4-4-4-12` lower-case hex digits.
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        })
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The id as it appears in tokens.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// `ari:cloud:ecosystem::app/<uuid>`: the app, and the `aud` of its invocation tokens.
    AppId
);
id_type!(
    /// `ari:cloud:ecosystem::environment/<app uuid>/<environment uuid>`.
    EnvironmentId
);
id_type!(
    /// `ari:cloud:ecosystem::installation/<uuid>`: one install of the app on one site; a new one
    /// after every reinstall.
    InstallationId
);
id_type!(
    /// The site's `cloudId` (a UUID): stable across reinstalls.
    CloudId
);
id_type!(
    /// The acting user's `accountId` (the same form as a Connect token's `sub`).
    AccountId
);

impl AppId {
    /// The app ARI exactly, or a bare UUID (as `forge register` prints it) made into one.
    pub fn parse(s: &str) -> Option<Self> {
        if is_uuid(s) {
            return Some(Self(format!("{APP_PREFIX}{s}")));
        }
        s.strip_prefix(APP_PREFIX)
            .filter(|uuid| is_uuid(uuid))
            .map(|_| Self(s.to_owned()))
    }

    /// The UUID part.
    pub fn uuid(&self) -> &str {
        &self.0[APP_PREFIX.len()..]
    }
}

impl EnvironmentId {
    /// An environment ARI exactly.
    pub fn parse(s: &str) -> Option<Self> {
        let (app, env) = s.strip_prefix(ENVIRONMENT_PREFIX)?.split_once('/')?;
        (is_uuid(app) && is_uuid(env)).then(|| Self(s.to_owned()))
    }

    /// Whether this environment belongs to `app`.
    pub fn is_of(&self, app: &AppId) -> bool {
        self.0[ENVIRONMENT_PREFIX.len()..]
            .split_once('/')
            .is_some_and(|(uuid, _)| uuid == app.uuid())
    }
}

impl InstallationId {
    /// An installation ARI exactly.
    pub fn parse(s: &str) -> Option<Self> {
        s.strip_prefix(INSTALLATION_PREFIX)
            .filter(|uuid| is_uuid(uuid))
            .map(|_| Self(s.to_owned()))
    }
}

impl CloudId {
    /// A lower-case UUID.
    pub fn parse(s: &str) -> Option<Self> {
        is_uuid(s).then(|| Self(s.to_owned()))
    }
}

impl AccountId {
    /// 1 to 128 visible ASCII characters (`557058:…` and 24-hex-digit forms alike).
    pub fn parse(s: &str) -> Option<Self> {
        (!s.is_empty() && s.len() <= MAX_ACCOUNT_ID_LEN && s.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| Self(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "d9e4002b-120b-426b-834b-402a4a5adce7";
    const ENV: &str = "1e468bcd-89ab-49f0-a648-14620b9cde00";

    #[test]
    fn app_id_normalises_a_bare_uuid_and_keeps_an_ari() {
        let ari = format!("ari:cloud:ecosystem::app/{UUID}");
        assert_eq!(AppId::parse(UUID).map(|a| a.0), Some(ari.clone()));
        let parsed = AppId::parse(&ari);
        assert_eq!(parsed.as_ref().map(AppId::as_str), Some(ari.as_str()));
        assert_eq!(parsed.map(|a| a.uuid().to_owned()), Some(UUID.to_owned()));
    }

    #[test]
    fn app_id_rejects_every_other_form() {
        let upper = UUID.to_uppercase();
        let long = format!("{UUID}0");
        for bad in [
            "",
            "app",
            upper.as_str(),
            long.as_str(),
            "d9e4002b120b426b834b402a4a5adce7",
            "ari:cloud:ecosystem::app/",
            "ari:cloud:ecosystem::app/not-a-uuid",
            "ari:cloud:ecosystem::installation/d9e4002b-120b-426b-834b-402a4a5adce7",
            "ari:cloud:ecosystem::app/d9e4002b-120b-426b-834b-402a4a5adce7/",
            " ari:cloud:ecosystem::app/d9e4002b-120b-426b-834b-402a4a5adce7",
            "ari:cloud:ecosystem::app/{d9e4002b-120b-426b-834b-402a4a5adce7}",
            "g9e4002b-120b-426b-834b-402a4a5adce7",
            "d9e4002b-120b-426b-834b+402a4a5adce7",
        ] {
            assert_eq!(AppId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn environment_ids_belong_to_one_app() {
        let app = AppId::parse(UUID).unwrap();
        let env = EnvironmentId::parse(&format!("ari:cloud:ecosystem::environment/{UUID}/{ENV}"));
        assert!(env.as_ref().is_some_and(|e| e.is_of(&app)));
        let other = EnvironmentId::parse(&format!("ari:cloud:ecosystem::environment/{ENV}/{UUID}"));
        assert!(other.is_some_and(|e| !e.is_of(&app)));
        for bad in [
            format!("ari:cloud:ecosystem::environment/{ENV}"),
            format!("ari:cloud:ecosystem::environment/{UUID}/{ENV}/x"),
            format!("ari:cloud:ecosystem::environment/{UUID}/development"),
            format!("ari:cloud:ecosystem::app/{UUID}/{ENV}"),
            "DEVELOPMENT".to_owned(),
        ] {
            assert_eq!(EnvironmentId::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn installation_cloud_and_account_ids() {
        let inst = format!("ari:cloud:ecosystem::installation/{UUID}");
        assert!(InstallationId::parse(&inst).is_some());
        assert_eq!(InstallationId::parse(UUID), None);
        assert_eq!(
            InstallationId::parse(&format!("ari:cloud:ecosystem::app/{UUID}")),
            None
        );
        assert!(CloudId::parse(UUID).is_some());
        assert_eq!(CloudId::parse("site"), None);
        assert!(AccountId::parse("557058:f6b1c1e2-0000-4000-8000-000000000001").is_some());
        assert!(AccountId::parse("5b10ac8d82e05b22cc7d4ef5").is_some());
        let long = "a".repeat(129);
        for bad in ["", "a b", "a\n", "é", long.as_str()] {
            assert_eq!(AccountId::parse(bad), None, "{bad:?}");
        }
    }
}
