//! Reading settings from the environment once, at start, with errors that name the setting.

use crate::error::ConfigError;

/// A required setting.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        Ok(_) => Err(ConfigError {
            name,
            problem: "is empty".into(),
        }),
        Err(_) => Err(ConfigError {
            name,
            problem: "is not set".into(),
        }),
    }
}

/// An optional setting with a default.
pub fn or_default(name: &'static str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().to_string(),
        _ => default.to_string(),
    }
}

/// A numeric setting with a default, rejecting values that do not parse.
pub fn number<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| ConfigError {
            name,
            problem: format!("{:?} is not a valid number", v),
        }),
        _ => Ok(default),
    }
}

/// A positive rate (requests per second) with a default.
pub fn positive(name: &'static str, default: f64) -> Result<f64, ConfigError> {
    let v: f64 = number(name, default)?;
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(ConfigError {
            name,
            problem: "must be a positive number of requests per second".into(),
        })
    }
}

/// A comma-separated list; empty items are dropped.
pub fn list(name: &'static str) -> Result<Vec<String>, ConfigError> {
    let items: Vec<String> = required(name)?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if items.is_empty() {
        return Err(ConfigError {
            name,
            problem: "lists nothing".into(),
        });
    }
    Ok(items)
}

/// A comma-separated list that may be empty or unset (an empty CloudFormation list arrives as
/// an empty string); empty items are dropped.
pub fn optional_list(name: &'static str) -> Vec<String> {
    or_default(name, "")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// A work prefix, normalised to end with one `/`.
pub fn prefix(name: &'static str, default: &str) -> Result<String, ConfigError> {
    let p = or_default(name, default);
    let p = p.trim_matches('/');
    if p.is_empty() {
        return Err(ConfigError {
            name,
            problem: "must not be empty or the bucket root".into(),
        });
    }
    Ok(format!("{p}/"))
}
