//! Unit tests of `discovery`: which service id a call belongs to.

use super::*;

#[test]
fn grpc_services_map_to_their_ids_by_the_longest_package() {
    let cases = [
        ("/yandex.cloud.compute.v1.ImageService/Get", Some("compute")),
        ("/yandex.cloud.vpc.v1.NetworkService/List", Some("vpc")),
        (
            "/yandex.cloud.mdb.postgresql.v1.ClusterService/Get",
            Some("managed-postgresql"),
        ),
        (
            "/yandex.cloud.k8s.v1.ClusterService/List",
            Some("managed-kubernetes"),
        ),
        (
            "/yandex.cloud.lockbox.v1.SecretService/Get",
            Some("lockbox"),
        ),
        (
            "/yandex.cloud.lockbox.v1.PayloadService/Get",
            Some("lockbox-payload"),
        ),
        (
            "/yandex.cloud.kms.v1.SymmetricCryptoService/Encrypt",
            Some("kms-crypto"),
        ),
        ("/yandex.cloud.kms.v1.SymmetricKeyService/Get", Some("kms")),
        (
            "/yandex.cloud.serverless.apigateway.websocket.v1.ConnectionService/Get",
            Some("apigateway-connections"),
        ),
        (
            "/yandex.cloud.serverless.apigateway.v1.ApiGatewayService/Get",
            Some("serverless-apigateway"),
        ),
        (
            "/yandex.cloud.endpoint.ApiEndpointService/List",
            Some("endpoint"),
        ),
        (
            "/yandex.cloud.operation.OperationService/Get",
            Some("operation"),
        ),
        // A package that merely shares a prefix is not the same package.
        ("/yandex.cloud.computer.v1.X/Get", None),
        (
            "/yandex.cloud.lockbox.v1.PayloadServiceX/Get",
            Some("lockbox"),
        ),
        ("/grpc.health.v1.Health/Check", None),
        ("yandex.cloud.compute.v1.ImageService/Get", None),
    ];
    for (path, id) in cases {
        assert_eq!(grpc_service_id(path), id, "{path}");
    }
}

#[test]
fn rest_paths_map_to_ids_by_their_first_segment() {
    let cases = [
        ("/compute/v1/images/fd8", Some("compute")),
        ("/vpc/v1/networks", Some("vpc")),
        ("/resource-manager/v1/clouds", Some("resource-manager")),
        ("/operations/op1:cancel", Some("operation")),
        ("/operations", Some("operation")),
        ("/endpoints", Some("endpoint")),
        ("/storage/v1/x", None),
        ("/", None),
        ("", None),
    ];
    for (path, id) in cases {
        assert_eq!(rest_service_id(path), id, "{path}");
    }
}

#[test]
fn every_mapped_id_is_one_replay_answers_for() {
    for (package, id) in PACKAGES {
        assert!(SERVICE_IDS.contains(id), "{package} → {id}");
    }
}
