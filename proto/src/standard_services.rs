//! The services every provider server offers besides `Provider`: `grpc.health.v1` and
//! server reflection (v1).

use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::HealthReporter;
use tonic_reflection::server::v1::{ServerReflection, ServerReflectionServer};

use crate::PROVIDER_SERVICE_NAME;

/// The health service, with the provider service (and the server as a whole, name "")
/// reported SERVING. Keep the reporter to change that later (for example during shutdown).
pub async fn health() -> (HealthReporter, HealthServer<impl tonic_health::pb::health_server::Health>) {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter.set_service_status(PROVIDER_SERVICE_NAME, tonic_health::ServingStatus::Serving).await;
    reporter.set_service_status("", tonic_health::ServingStatus::Serving).await;
    (reporter, service)
}

/// The reflection service describing the provider API and the health service.
pub fn reflection() -> Result<ServerReflectionServer<impl ServerReflection>, tonic_reflection::server::Error>
{
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
}
