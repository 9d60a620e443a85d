use super::*;

#[test]
fn grpc_content_types() {
    let request = |content_type: &str| {
        Request::builder()
            .header(CONTENT_TYPE, content_type)
            .body(())
            .unwrap()
    };
    assert!(is_grpc(&request("application/grpc")));
    assert!(is_grpc(&request("application/grpc+proto")));
    assert!(!is_grpc(&request("application/grpc-web")));
    assert!(!is_grpc(&request("application/json")));
}
