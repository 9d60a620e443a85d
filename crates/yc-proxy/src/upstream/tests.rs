use super::*;

fn route(transport: Transport, path: &str) -> Option<&'static str> {
    yandex_route(transport, path).map(|i| YANDEX_ROUTES[i].host)
}

#[test]
fn grpc_routes_by_package() {
    let cases = [
        (
            "/yandex.cloud.compute.v1.ImageService/Get",
            Some("compute.api.cloud.yandex.net"),
        ),
        (
            "/yandex.cloud.containerregistry.v1.ImageService/List",
            Some("container-registry.api.cloud.yandex.net"),
        ),
        (
            "/yandex.cloud.operation.OperationService/Get",
            Some("operation.api.cloud.yandex.net"),
        ),
        (
            "/yandex.cloud.iam.v1.IamTokenService/Create",
            Some("iam.api.cloud.yandex.net"),
        ),
        (
            "/yandex.cloud.endpoint.ApiEndpointService/List",
            Some("api.cloud.yandex.net"),
        ),
        // A package that merely shares a prefix is not the same package.
        ("/yandex.cloud.computer.v1.X/Get", None),
        ("/grpc.health.v1.Health/Check", None),
        ("yandex.cloud.compute.v1.ImageService/Get", None),
    ];
    for (path, host) in cases {
        assert_eq!(route(Transport::Grpc, path), host, "{path}");
    }
}

#[test]
fn rest_routes_by_path_prefix() {
    let cases = [
        (
            "/compute/v1/images/fd8abc",
            Some("compute.api.cloud.yandex.net"),
        ),
        (
            "/container-registry/v1/images",
            Some("container-registry.api.cloud.yandex.net"),
        ),
        ("/operations/op1", Some("operation.api.cloud.yandex.net")),
        (
            "/operations/op1:cancel",
            Some("operation.api.cloud.yandex.net"),
        ),
        ("/operations", Some("operation.api.cloud.yandex.net")),
        ("/iam/v1/tokens", Some("iam.api.cloud.yandex.net")),
        ("/endpoints", Some("api.cloud.yandex.net")),
        ("/endpoints/compute", Some("api.cloud.yandex.net")),
        ("/operationsx", None),
        ("/compute", None),
        ("/", None),
    ];
    for (path, host) in cases {
        assert_eq!(route(Transport::Rest, path), host, "{path}");
    }
}

#[test]
fn upstream_urls() {
    let url: UpstreamUrl = "http://127.0.0.1:8080".parse().unwrap();
    assert!(!url.is_tls());
    assert_eq!(url.authority(), "127.0.0.1:8080");
    assert_eq!(url.to_string(), "http://127.0.0.1:8080");
    let url: UpstreamUrl = "https://localhost:8443/".parse().unwrap();
    assert!(url.is_tls());
    assert_eq!(
        url.uri(Some(&PathAndQuery::from_static("/a?b=c"))).unwrap(),
        "https://localhost:8443/a?b=c"
    );
    let url: UpstreamUrl = "https://example.com".parse().unwrap();
    assert_eq!(url.authority(), "example.com");

    let errors = [
        (
            "ftp://x:1",
            "invalid upstream `ftp://x:1`: the scheme must be `http` or `https`",
        ),
        (
            "127.0.0.1:80",
            "invalid upstream `127.0.0.1:80`: the scheme must be `http` or `https`",
        ),
        (
            "http://127.0.0.1",
            "invalid upstream `http://127.0.0.1`: a cleartext upstream needs a port",
        ),
        (
            "http://h:1/api",
            "invalid upstream `http://h:1/api`: a path is not supported: give only scheme, host and port",
        ),
        (
            "http://u:p@h:1",
            "invalid upstream `http://u:p@h:1`: credentials in the URL are not supported",
        ),
        ("", "invalid upstream ``: not a URL"),
    ];
    for (text, message) in errors {
        let error = text.parse::<UpstreamUrl>().unwrap_err();
        assert_eq!(error.to_string(), message);
    }
}

#[test]
fn overrides_win_over_the_table() {
    let all: UpstreamUrl = "http://127.0.0.1:1".parse().unwrap();
    let rest: UpstreamUrl = "http://127.0.0.1:2".parse().unwrap();
    let upstream = Upstream::new(&Upstreams {
        all: Some(all.clone()),
        rest: Some(rest.clone()),
        extra_ca_pem: None,
    })
    .unwrap();
    assert_eq!(
        upstream
            .route(Transport::Grpc, "/anything.Service/M")
            .unwrap(),
        &all
    );
    assert_eq!(
        upstream
            .route(Transport::Rest, "/compute/v1/images")
            .unwrap(),
        &rest
    );

    let yandex = Upstream::new(&Upstreams::yandex()).unwrap();
    assert_eq!(
        yandex
            .route(Transport::Grpc, "/yandex.cloud.compute.v1.ImageService/Get")
            .unwrap()
            .to_string(),
        "https://compute.api.cloud.yandex.net"
    );
    let error = yandex.route(Transport::Rest, "/storage/v1/x").unwrap_err();
    assert_eq!(
        error.to_string(),
        "upstream `none` failed: no Yandex Cloud endpoint is known for `/storage/v1/x`; pass --upstream to choose one"
    );
}

#[test]
fn bad_ca_pem_is_an_error() {
    let with = |pem: &[u8]| {
        Upstream::new(&Upstreams {
            extra_ca_pem: Some(pem.to_vec()),
            ..Upstreams::default()
        })
        .unwrap_err()
        .to_string()
    };
    assert_eq!(
        with(b"hello"),
        "cannot use the upstream CA: no `CERTIFICATE` block in the PEM"
    );
    assert!(
        with(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .starts_with("cannot use the upstream CA: not a usable CA certificate"),
    );
}
