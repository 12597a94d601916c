//! IAM as the workflow's [`Roles`]: the RoleId of a named uploader role, read with GetRole.

use aws_sdk_iam::Client;

use super::errors::from_sdk;
use crate::error::ErasureError;
use crate::ports::Roles;

/// An IAM client as the workflow's roles.
#[derive(Clone)]
pub struct IamRoles {
    client: Client,
}

impl IamRoles {
    /// Wraps a client (built once, in main).
    pub fn new(client: Client) -> Self {
        IamRoles { client }
    }

    /// A client from the shared configuration.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        IamRoles::new(Client::new(conf))
    }
}

/// The role name in a role ARN (`arn:aws:iam::<account>:role/<path/>name`): GetRole takes the
/// name without its path ("RoleName: The name of the IAM role to get information about",
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html).
pub fn role_name(role_arn: &str) -> Option<&str> {
    let (_, resource) = role_arn.split_once(":role/")?;
    resource.rsplit('/').next().filter(|n| !n.is_empty())
}

impl Roles for IamRoles {
    async fn role_id(&self, role_arn: &str) -> Result<Option<String>, ErasureError> {
        let Some(name) = role_name(role_arn) else {
            return Err(ErasureError::Invalid(format!(
                "{role_arn} is not an IAM role ARN"
            )));
        };
        match self.client.get_role().role_name(name).send().await {
            // GetRole's Role holds RoleId, "The stable and unique string identifying the role"
            // (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html).
            Ok(out) => Ok(out.role().map(|r| r.role_id().to_string())),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(from_sdk("GetRole", &err, true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::get_role::{GetRoleError, GetRoleOutput};
    use aws_sdk_iam::types::error::NoSuchEntityException;
    use aws_sdk_iam::types::Role;
    use aws_smithy_mocks::{mock, mock_client};

    #[test]
    fn the_role_name_is_the_arns_last_segment() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/privacy/Officer"),
            Some("Officer")
        );
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/Officer"),
            Some("Officer")
        );
        assert_eq!(role_name("arn:aws:iam::123456789012:user/Officer"), None);
        assert_eq!(role_name("arn:aws:iam::123456789012:role/"), None);
    }

    #[tokio::test]
    async fn get_role_gives_the_role_id_and_a_missing_role_is_none() {
        let found = mock!(Client::get_role)
            .match_requests(|r| r.role_name() == Some("Officer"))
            .then_output(|| {
                GetRoleOutput::builder()
                    .role(
                        Role::builder()
                            .path("/privacy/")
                            .role_name("Officer")
                            .role_id("AROAEXAMPLE1")
                            .arn("arn:aws:iam::123456789012:role/privacy/Officer")
                            .create_date(aws_smithy_types::DateTime::from_secs(0))
                            .build()
                            .unwrap(),
                    )
                    .build()
            });
        let missing = mock!(Client::get_role).then_error(|| {
            GetRoleError::NoSuchEntityException(NoSuchEntityException::builder().build())
        });
        let client = mock_client!(aws_sdk_iam, [&found, &missing]);
        let roles = IamRoles::new(client);
        assert_eq!(
            roles
                .role_id("arn:aws:iam::123456789012:role/privacy/Officer")
                .await
                .unwrap()
                .as_deref(),
            Some("AROAEXAMPLE1")
        );
        assert_eq!(
            roles
                .role_id("arn:aws:iam::123456789012:role/Gone")
                .await
                .unwrap(),
            None
        );
    }
}
