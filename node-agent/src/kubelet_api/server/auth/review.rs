//! Asking the apiserver: TokenReview for bearer tokens, SubjectAccessReview for permissions.

use futures::future::BoxFuture;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use kube::api::{Api, PostParams};
use thiserror::Error;

use super::identity::User;
use crate::kubelet_api::server::route::Attributes;

/// A review could not be made (the apiserver failed or is unreachable).
#[derive(Debug, Error)]
#[error("{review} failed: {message}")]
pub struct ReviewError {
    /// Which review.
    pub review: &'static str,
    /// What went wrong.
    pub message: String,
}

/// Checks bearer tokens.
pub trait TokenReviewer: Send + Sync + 'static {
    /// The user a token belongs to; `None` for an invalid token.
    fn review_token<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<User>, ReviewError>>;
}

/// Checks permissions.
pub trait AccessReviewer: Send + Sync + 'static {
    /// Whether `user` may do what `attributes` describe.
    fn review_access<'a>(
        &'a self,
        user: &'a User,
        attributes: &'a Attributes,
    ) -> BoxFuture<'a, Result<bool, ReviewError>>;
}

/// Both reviews through the Kubernetes API.
#[derive(Clone)]
pub struct KubeReviewer {
    client: kube::Client,
}

impl KubeReviewer {
    /// Reviews through `client` (which needs create on tokenreviews and subjectaccessreviews).
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }
}

impl TokenReviewer for KubeReviewer {
    fn review_token<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<User>, ReviewError>> {
        Box::pin(async move {
            let review = TokenReview {
                spec: TokenReviewSpec { token: Some(token.to_owned()), ..Default::default() },
                ..Default::default()
            };
            let api: Api<TokenReview> = Api::all(self.client.clone());
            let answer = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(|e| ReviewError { review: "TokenReview", message: e.to_string() })?;
            let Some(status) = answer.status.filter(|s| s.authenticated == Some(true)) else {
                return Ok(None);
            };
            Ok(status.user.and_then(|u| {
                Some(User { name: u.username?, groups: u.groups.unwrap_or_default(), uid: u.uid })
            }))
        })
    }
}

impl AccessReviewer for KubeReviewer {
    fn review_access<'a>(
        &'a self,
        user: &'a User,
        attributes: &'a Attributes,
    ) -> BoxFuture<'a, Result<bool, ReviewError>> {
        Box::pin(async move {
            let review = SubjectAccessReview {
                spec: SubjectAccessReviewSpec {
                    user: Some(user.name.clone()),
                    groups: Some(user.groups.clone()),
                    uid: user.uid.clone(),
                    resource_attributes: Some(ResourceAttributes {
                        verb: Some(attributes.verb.to_owned()),
                        version: Some("v1".to_owned()),
                        resource: Some("nodes".to_owned()),
                        subresource: Some(attributes.subresource.to_owned()),
                        name: Some(attributes.node.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
            let answer = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(|e| ReviewError { review: "SubjectAccessReview", message: e.to_string() })?;
            Ok(answer.status.is_some_and(|s| s.allowed))
        })
    }
}
