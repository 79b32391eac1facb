use std::path::{Path, PathBuf};

use clap::Parser;
use gateway_core::api::{CommandLine, RegisterInstance};
use serde_json::json;

use super::registration;
use crate::args::{Cli, Command, GatewayCommand, RegisterArgs};

fn args(line: &[&str]) -> RegisterArgs {
    let argv = ["mcpp", "gateway", "register"]
        .into_iter()
        .chain(line.iter().copied());
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Gateway(GatewayCommand::Register(r)) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_registration() {
    let r = registration(
        &args(&["demo", "--endpoint", "http://127.0.0.1:7071"]),
        None,
    );
    assert_eq!(
        r,
        RegisterInstance {
            template_name: Some("demo".into()),
            endpoint: Some("http://127.0.0.1:7071".into()),
            ..Default::default()
        }
    );
    // Only what was given goes on the wire; the server infers the rest.
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"template_name":"demo","endpoint":"http://127.0.0.1:7071"})
    );
}

#[test]
fn stdio_registration_with_everything() {
    let a = args(&[
        "demo",
        "--command",
        "python server.py",
        "--working-dir",
        "/app",
        "--transport",
        "stdio",
        "--id",
        "demo-a",
        "--weight",
        "5",
        "--env",
        "B=2",
        "--env",
        "A=1",
        "--env",
        "A=3",
    ]);
    let r = registration(&a, Some(Path::new("/home/me")));
    assert_eq!(
        r.command,
        Some(CommandLine::Line("python server.py".into()))
    );
    assert_eq!(r.working_dir.as_deref(), Some("/app"));
    assert_eq!(r.transport.as_deref(), Some("stdio"));
    assert_eq!(r.instance_id.as_deref(), Some("demo-a"));
    assert_eq!(r.weight, Some(5));
    // Repeated keys: the last one wins.
    assert_eq!(
        r.env,
        Some(
            [
                ("A".to_owned(), "3".to_owned()),
                ("B".to_owned(), "2".to_owned())
            ]
            .into()
        )
    );
    assert_eq!(
        (r.endpoint, r.args, r.headers, r.metadata),
        (None, None, None, None)
    );
    // The server accepts what the CLI sends.
    let valid = serde_json::from_value::<RegisterInstance>(
        serde_json::to_value(registration(&a, Some(Path::new("/home/me")))).unwrap(),
    )
    .unwrap()
    .validate(None)
    .unwrap();
    assert_eq!(valid.template.as_str(), "demo");
}

#[test]
fn relative_working_dirs_are_taken_from_the_current_directory() {
    let a = args(&["demo", "--command", "node s.js", "--working-dir", "app/srv"]);
    let expected = PathBuf::from("/home/me").join("app/srv");
    assert_eq!(
        registration(&a, Some(Path::new("/home/me"))).working_dir,
        Some(expected.display().to_string())
    );
    assert_eq!(
        registration(&a, None).working_dir.as_deref(),
        Some("app/srv")
    );
}

#[test]
fn transports_map_to_wire_names() {
    for (flag, wire) in [("http", "http"), ("sse", "sse"), ("stdio", "stdio")] {
        let r = registration(
            &args(&["t", "--endpoint", "http://h/sse", "--transport", flag]),
            None,
        );
        assert_eq!(r.transport.as_deref(), Some(wire));
    }
}
