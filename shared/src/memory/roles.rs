//! IAM roles in memory: role ARN → RoleId.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::error::ErasureError;
use crate::ports::Roles;

/// The roles an account holds, and how many GetRole calls were made.
#[derive(Debug, Default)]
pub struct MemoryRoles {
    roles: BTreeMap<String, String>,
    calls: Mutex<u32>,
}

impl MemoryRoles {
    /// An account with these (role ARN, RoleId) pairs.
    pub fn with(roles: &[(&str, &str)]) -> Self {
        MemoryRoles {
            roles: roles
                .iter()
                .map(|(a, i)| (a.to_string(), i.to_string()))
                .collect(),
            calls: Mutex::new(0),
        }
    }

    /// GetRole calls made.
    pub fn calls(&self) -> u32 {
        *self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Roles for MemoryRoles {
    async fn role_id(&self, role_arn: &str) -> Result<Option<String>, ErasureError> {
        *self.calls.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Ok(self.roles.get(role_arn).cloned())
    }
}
