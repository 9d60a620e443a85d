use std::collections::HashMap;

use super::learn::Learned;
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

#[tokio::test]
async fn overrides_win_over_the_table() {
    let all: UpstreamUrl = "http://127.0.0.1:1".parse().unwrap();
    let rest: UpstreamUrl = "http://127.0.0.1:2".parse().unwrap();
    let upstream = Upstream::new(&Upstreams {
        all: Some(all.clone()),
        rest: Some(rest.clone()),
        ..Upstreams::default()
    })
    .unwrap();
    assert_eq!(
        upstream
            .route(Transport::Grpc, "/anything.Service/M")
            .await
            .unwrap(),
        all
    );
    assert_eq!(
        upstream
            .route(Transport::Rest, "/compute/v1/images")
            .await
            .unwrap(),
        rest
    );
}

#[tokio::test]
async fn discovery_itself_goes_to_the_discovery_host_without_learning() {
    let discovery: UpstreamUrl = "http://127.0.0.1:1".parse().unwrap();
    let upstream = Upstream::new(&Upstreams {
        discovery: Some(discovery.clone()),
        ..Upstreams::default()
    })
    .unwrap();
    for (transport, path) in [
        (
            Transport::Grpc,
            "/yandex.cloud.endpoint.ApiEndpointService/List",
        ),
        (Transport::Rest, "/endpoints/compute"),
    ] {
        assert_eq!(upstream.route(transport, path).await.unwrap(), discovery);
    }
    assert!(upstream.learned.get().is_none(), "nothing was asked");
}

#[test]
fn learned_endpoints_then_the_table_then_an_error_naming_the_id() {
    let yandex = Upstream::new(&Upstreams::yandex()).unwrap();
    let vpc: UpstreamUrl = "http://127.0.0.1:7".parse().unwrap();
    let learned: Learned = Ok([("vpc".to_owned(), vpc.clone())].into());
    let failed: Learned = Err("connection refused".to_owned());
    let nothing: Learned = Ok(HashMap::new());
    let networks = "/yandex.cloud.vpc.v1.NetworkService/List";
    let images = "/yandex.cloud.compute.v1.ImageService/Get";
    let choose = |transport, path, id, learned| {
        yandex
            .choose(transport, path, Some((id, learned)))
            .map(|url| url.to_string())
            .map_err(|error| error.to_string())
    };

    assert_eq!(
        choose(Transport::Grpc, networks, "vpc", &learned),
        Ok(vpc.to_string())
    );
    assert_eq!(
        choose(Transport::Rest, "/vpc/v1/networks", "vpc", &learned),
        Ok(vpc.to_string())
    );
    // What discovery does not list, or everything when it failed: the built-in table.
    for learned in [&learned, &failed] {
        assert_eq!(
            choose(Transport::Grpc, images, "compute", learned),
            Ok("https://compute.api.cloud.yandex.net".to_owned())
        );
    }
    assert_eq!(
        choose(Transport::Grpc, networks, "vpc", &nothing),
        Err(format!(
            "upstream `none` failed: no Yandex Cloud endpoint is known for `{networks}`: discovery at \
             `https://api.cloud.yandex.net` lists no service id `vpc`; pass --upstream to choose one"
        ))
    );
    assert_eq!(
        choose(Transport::Grpc, networks, "vpc", &failed),
        Err(format!(
            "upstream `none` failed: no Yandex Cloud endpoint is known for `{networks}`: discovery at \
             `https://api.cloud.yandex.net` failed (connection refused), and the built-in table has no service id \
             `vpc`; pass --upstream to choose one"
        ))
    );
    assert_eq!(
        yandex
            .choose(Transport::Rest, "/nothing/v1/x", None)
            .unwrap_err()
            .to_string(),
        "upstream `none` failed: no Yandex Cloud endpoint is known for `/nothing/v1/x`: it is in no package the \
         SDKs map to a service id; pass --upstream to choose one"
    );
}

#[test]
fn discovered_addresses_become_urls_in_the_discovery_scheme() {
    let url = |tls, address| learn::endpoint_url(tls, address).map(|url| url.to_string());
    assert_eq!(
        url(true, "vpc.api.cloud.yandex.net:443").as_deref(),
        Some("https://vpc.api.cloud.yandex.net")
    );
    assert_eq!(
        url(true, "localhost:8443").as_deref(),
        Some("https://localhost:8443")
    );
    assert_eq!(
        url(false, "127.0.0.1:443").as_deref(),
        Some("http://127.0.0.1:443")
    );
    for bad in ["no-port.example", "", "a b:1", "user@host:1"] {
        assert_eq!(url(true, bad), None, "{bad:?}");
    }
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
