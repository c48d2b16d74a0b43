//! The claim set of a Forge invocation token (docs/AUTH-RULES.md §F1.3), read strictly: every
//! claim the rules need is required and typed (a string `exp` is refused, not read). Read only
//! after the signature verified; the policy checks live in [`super::verify`].

use super::error::FitError;
use super::ids::{AccountId, CloudId, EnvironmentId, InstallationId};
use crate::claims::numeric_date;
use crate::error::VerifyError;
use serde_json::{Map, Value};

/// Longest accepted `jti`, `app.module.*` and `app.environment.type`.
const MAX_SHORT_CLAIM: usize = 256;
/// Longest accepted `app.apiBaseUrl`.
const MAX_URL_CLAIM: usize = 1024;

/// The module that made the call (`app.module`): a claim for per-endpoint authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitModule {
    /// e.g. `xen:macro`, `confluence:globalPage`, `core:endpoint`.
    pub kind: String,
    /// The module key from the manifest.
    pub key: String,
}

/// The typed claims, before the policy checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FitClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub principal: Option<AccountId>,
    pub app_id: String,
    pub installation_id: InstallationId,
    /// `app.installation.id`, which must name the same installation when present.
    pub nested_installation_id: Option<InstallationId>,
    pub api_base_url: String,
    pub environment_id: EnvironmentId,
    pub environment_type: Option<String>,
    pub module: Option<FitModule>,
    /// Every `cloudId` the token names (`app.installation.contexts[]`, `context`).
    pub cloud_ids: Vec<CloudId>,
    /// `icLabel` anywhere we know it may appear (top level or under `app`).
    pub has_ic_label: bool,
}

fn missing(name: &'static str) -> FitError {
    FitError::Token(VerifyError::MissingClaim(name))
}

fn invalid(name: &'static str) -> FitError {
    FitError::Token(VerifyError::InvalidClaim(name))
}

fn string<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    name: &'static str,
) -> Result<&'a str, FitError> {
    match obj.get(key) {
        None => Err(missing(name)),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(invalid(name)),
    }
}

fn optional_string<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    name: &'static str,
) -> Result<Option<&'a str>, FitError> {
    match obj.get(key) {
        None => Ok(None),
        Some(_) => string(obj, key, name).map(Some),
    }
}

fn short(s: &str, name: &'static str) -> Result<String, FitError> {
    if s.len() <= MAX_SHORT_CLAIM {
        Ok(s.to_owned())
    } else {
        Err(invalid(name))
    }
}

fn object<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    name: &'static str,
) -> Result<&'a Map<String, Value>, FitError> {
    match obj.get(key) {
        None => Err(missing(name)),
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(invalid(name)),
    }
}

fn optional_object<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    name: &'static str,
) -> Result<Option<&'a Map<String, Value>>, FitError> {
    match obj.get(key) {
        None => Ok(None),
        Some(_) => object(obj, key, name).map(Some),
    }
}

fn date(obj: &Map<String, Value>, name: &'static str) -> Result<i64, FitError> {
    numeric_date(obj.get(name).ok_or(missing(name))?).ok_or(invalid(name))
}

fn cloud_id(obj: &Map<String, Value>, name: &'static str) -> Result<Option<CloudId>, FitError> {
    optional_string(obj, "cloudId", name)?
        .map(|s| CloudId::parse(s).ok_or(invalid(name)))
        .transpose()
}

impl FitClaims {
    /// Reads the claims from a payload object. Unknown claims are ignored.
    pub(crate) fn from_object(obj: &Map<String, Value>) -> Result<Self, FitError> {
        let iss = string(obj, "iss", "iss")?.to_owned();
        let aud = string(obj, "aud", "aud")?.to_owned();
        let iat = date(obj, "iat")?;
        let nbf = date(obj, "nbf")?;
        let exp = date(obj, "exp")?;
        let jti = short(string(obj, "jti", "jti")?, "jti")?;
        // A call from a trigger has no user; `null` is read as "no user", never as a user.
        let principal = match obj.get("principal") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(AccountId::parse(s).ok_or(invalid("principal"))?),
            Some(_) => return Err(invalid("principal")),
        };

        let app = object(obj, "app", "app")?;
        let app_id = string(app, "id", "app.id")?.to_owned();
        let installation_id =
            InstallationId::parse(string(app, "installationId", "app.installationId")?)
                .ok_or(invalid("app.installationId"))?;
        let api_base_url = string(app, "apiBaseUrl", "app.apiBaseUrl")?;
        if api_base_url.len() > MAX_URL_CLAIM || !api_base_url.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(invalid("app.apiBaseUrl"));
        }
        let environment = object(app, "environment", "app.environment")?;
        let environment_id = EnvironmentId::parse(string(environment, "id", "app.environment.id")?)
            .ok_or(invalid("app.environment.id"))?;
        let environment_type = optional_string(environment, "type", "app.environment.type")?
            .map(|t| short(t, "app.environment.type"))
            .transpose()?;
        let module = optional_object(app, "module", "app.module")?
            .map(|m| {
                Ok::<_, FitError>(FitModule {
                    kind: short(string(m, "type", "app.module.type")?, "app.module.type")?,
                    key: short(string(m, "key", "app.module.key")?, "app.module.key")?,
                })
            })
            .transpose()?;

        let mut cloud_ids = Vec::new();
        let mut nested_installation_id = None;
        if let Some(installation) = optional_object(app, "installation", "app.installation")? {
            nested_installation_id = optional_string(installation, "id", "app.installation.id")?
                .map(|s| InstallationId::parse(s).ok_or(invalid("app.installation.id")))
                .transpose()?;
            match installation.get("contexts") {
                None => {}
                Some(Value::Array(contexts)) => {
                    for context in contexts {
                        let Value::Object(context) = context else {
                            return Err(invalid("app.installation.contexts"));
                        };
                        cloud_ids.extend(cloud_id(context, "app.installation.contexts.cloudId")?);
                    }
                }
                Some(_) => return Err(invalid("app.installation.contexts")),
            }
        }
        if let Some(context) = optional_object(obj, "context", "context")? {
            cloud_ids.extend(cloud_id(context, "context.cloudId")?);
        }

        Ok(Self {
            iss,
            aud,
            iat,
            nbf,
            exp,
            jti,
            principal,
            app_id,
            installation_id,
            nested_installation_id,
            api_base_url: api_base_url.to_owned(),
            environment_id,
            environment_type,
            module,
            cloud_ids,
            has_ic_label: obj.contains_key("icLabel") || app.contains_key("icLabel"),
        })
    }
}
