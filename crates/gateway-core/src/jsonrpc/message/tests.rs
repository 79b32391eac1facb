use super::*;

fn parse(s: &str) -> Result<Message, ParseError> {
    Message::parse(s.as_bytes())
}

#[test]
fn classifies_messages() {
    assert!(matches!(
        parse(r#"{"jsonrpc":"2.0","id":"a","method":"m"}"#),
        Ok(Message::Request(_))
    ));
    assert!(matches!(
        parse(r#"{"jsonrpc":"2.0","method":"m"}"#),
        Ok(Message::Notification(_))
    ));
    assert!(matches!(
        parse(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
        Ok(Message::Response(_))
    ));
    let err = parse(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"x"}}"#).unwrap();
    assert!(matches!(
        err,
        Message::Response(Response {
            id: None,
            outcome: Outcome::Error(_)
        })
    ));
}

#[test]
fn rejects_malformed() {
    assert!(matches!(parse("{"), Err(ParseError::InvalidJson(_))));
    assert!(matches!(parse("[]"), Err(ParseError::Batch)));
    for bad in [
        r#"{"id":1,"method":"m"}"#,
        r#"{"jsonrpc":"1.0","id":1,"method":"m"}"#,
        r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#,
        r#"{"jsonrpc":"2.0","id":null,"method":"m"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":""}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"m","params":3}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#,
        r#"{"jsonrpc":"2.0","result":{}}"#,
        r#"{"jsonrpc":"2.0","id":1}"#,
        r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"m"}"#,
        r#"7"#,
    ] {
        let err = parse(bad).unwrap_err();
        assert_eq!(err.code(), -32600, "{bad}: {err}");
    }
    let err = parse(r#"{"jsonrpc":"1.0","id":9,"method":"m"}"#).unwrap_err();
    assert_eq!(
        err,
        ParseError::InvalidMessage {
            id: Some(RequestId::Number(9)),
            reason: "\"jsonrpc\" must be \"2.0\""
        }
    );
}

#[test]
fn reencoding_keeps_payload_bytes() {
    let params = r#"{"name":"x","arguments":{"b":1,"a":[1.50,"é\u00e9"]},"zzz":null}"#;
    let input =
        format!(r#"{{ "params": {params}, "method":"tools/call", "id": 3, "jsonrpc":"2.0" }}"#);
    let msg = parse(&input).unwrap();
    let out = String::from_utf8(msg.to_vec()).unwrap();
    assert_eq!(
        out,
        format!(r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{params}}}"#)
    );
    let result = r#"{"tools":[{"name":"t","execution":{"taskSupport":"optional"},"x-vendor":1}]}"#;
    let msg = parse(&format!(
        r#"{{"jsonrpc":"2.0","id":"s","result":{result}}}"#
    ))
    .unwrap();
    assert_eq!(
        String::from_utf8(msg.to_vec()).unwrap(),
        format!(r#"{{"jsonrpc":"2.0","id":"s","result":{result}}}"#)
    );
}

#[test]
fn id_rewrite_round_trip() {
    let Message::Request(mut req) =
        parse(r#"{"jsonrpc":"2.0","id":"client-1","method":"ping"}"#).unwrap()
    else {
        panic!("not a request")
    };
    let original = std::mem::replace(&mut req.id, RequestId::Number(77));
    assert_eq!(
        Message::from(req).to_vec(),
        br#"{"jsonrpc":"2.0","id":77,"method":"ping"}"#
    );
    let Message::Response(mut resp) = parse(r#"{"jsonrpc":"2.0","id":77,"result":{}}"#).unwrap()
    else {
        panic!("not a response")
    };
    resp.id = Some(original);
    assert_eq!(
        Message::from(resp).to_vec(),
        br#"{"jsonrpc":"2.0","id":"client-1","result":{}}"#
    );
}

#[test]
fn error_response_helpers() {
    let e = ErrorObject::new(-32601, "Method not found");
    let resp = Response::error(Some(RequestId::Number(1)), &e);
    assert_eq!(resp.error_object(), Some(e));
    assert_eq!(
        Message::from(resp).to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}"#
    );
}
