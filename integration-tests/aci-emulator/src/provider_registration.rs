//! Registration state of the Microsoft.ContainerInstance resource provider, per subscription.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

#[derive(Debug)]
pub struct Registration {
    default_registered: Mutex<bool>,
    per_subscription: Mutex<HashMap<String, bool>>,
}

impl Registration {
    pub fn new(registered: bool) -> Self {
        Self { default_registered: Mutex::new(registered), per_subscription: Mutex::new(HashMap::new()) }
    }

    pub fn is_registered(&self, subscription: &str) -> bool {
        let specific = self
            .per_subscription
            .lock()
            .ok()
            .and_then(|m| m.get(&subscription.to_ascii_lowercase()).copied());
        specific.unwrap_or_else(|| self.default_registered.lock().map(|d| *d).unwrap_or(true))
    }

    /// Sets one subscription's state, or the default for all when `subscription` is None.
    pub fn set(&self, subscription: Option<&str>, registered: bool) {
        match subscription {
            Some(sub) => {
                if let Ok(mut m) = self.per_subscription.lock() {
                    m.insert(sub.to_ascii_lowercase(), registered);
                }
            }
            None => {
                if let Ok(mut d) = self.default_registered.lock() {
                    *d = registered;
                }
                if let Ok(mut m) = self.per_subscription.lock() {
                    m.clear();
                }
            }
        }
    }

    /// The provider resource ARM returns for `GET /subscriptions/{sub}/providers/Microsoft.ContainerInstance`.
    pub fn body(&self, subscription: &str, api_versions: &[String]) -> Value {
        let state = if self.is_registered(subscription) { "Registered" } else { "NotRegistered" };
        json!({
            "id": format!("/subscriptions/{subscription}/providers/Microsoft.ContainerInstance"),
            "namespace": "Microsoft.ContainerInstance",
            "registrationState": state,
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": [
                { "resourceType": "containerGroups", "locations": [], "apiVersions": api_versions },
                { "resourceType": "locations/usages", "locations": [], "apiVersions": api_versions },
                { "resourceType": "locations/capabilities", "locations": [], "apiVersions": api_versions },
                { "resourceType": "locations/operations", "locations": [], "apiVersions": api_versions },
            ],
        })
    }
}
