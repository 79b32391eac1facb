//! The deployment files in `deploy/`: the Kubernetes manifests validate against the
//! Kubernetes schemas (PyPI `kubernetes-validate`, strict) and pass the `checkov` scanner
//! (skips documented in `deploy/checkov.yaml`; a bad manifest fails it); the Deployment
//! has what the issue asks for; the compose file parses and its HAProxy configuration is
//! accepted by `haproxy -c`. No Kubernetes cluster or Docker engine is needed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{path::PathBuf, time::Duration};

use gateway_e2e::{deps_dir, fleet::program, repo_root, require, run};
use serde_json::Value;

fn k8s_dir() -> PathBuf {
    repo_root().join("deploy/kubernetes")
}

/// Every manifest (kustomization.yaml is kustomize's, not a Kubernetes resource).
fn manifests() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(k8s_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| !p.ends_with("kustomization.yaml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

/// Every YAML document of `files` as JSON (parsed by the venv's PyYAML).
async fn documents(files: &[String]) -> Option<Vec<Value>> {
    let python = require(deps_dir().join("venv/bin/python"), "the test venv's python")?;
    let script = "import json, sys, yaml\n\
                  docs = [d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]\n\
                  print(json.dumps(docs))";
    let mut args = vec!["-c".to_owned(), script.to_owned()];
    args.extend(files.iter().cloned());
    let out = run(python, args, &[], Duration::from_secs(30)).await;
    Some(serde_json::from_str(out.expect_success()).unwrap())
}

#[tokio::test]
async fn kubernetes_manifests_match_the_schemas() {
    let Some(validate) = require(
        deps_dir().join("venv/bin/kubernetes-validate"),
        "kubernetes-validate (PyPI)",
    ) else {
        return;
    };
    let mut args = vec!["--strict".to_owned()];
    args.extend(manifests());
    let out = run(validate, args, &[], Duration::from_secs(120)).await;
    out.expect_success();
    for file in manifests() {
        let name = file.rsplit('/').next().unwrap();
        assert!(
            out.stdout.contains(name) || out.stderr.contains(name),
            "{name} not checked"
        );
    }
}

#[tokio::test]
async fn kubernetes_manifests_pass_checkov() {
    let Some(checkov) = require(deps_dir().join("venv/bin/checkov"), "checkov (PyPI)") else {
        return;
    };
    let config = repo_root().join("deploy/checkov.yaml");
    let scan = |dir: PathBuf| {
        let checkov = checkov.clone();
        let config = config.clone();
        async move {
            run(
                checkov,
                [
                    "--config-file".to_owned(),
                    config.display().to_string(),
                    "-d".to_owned(),
                    dir.display().to_string(),
                ],
                &[],
                Duration::from_secs(300),
            )
            .await
        }
    };
    let out = scan(k8s_dir()).await;
    assert!(
        out.stdout.contains("Failed checks: 0"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    out.expect_success();

    // The scan can fail: a privileged, root, writable container is refused.
    // Not a dot-directory (checkov skips hidden paths).
    let bad = tempfile::Builder::new()
        .prefix("checkov-bad-")
        .tempdir()
        .unwrap();
    std::fs::write(
        bad.path().join("bad.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: x}\nspec:\n  containers:\n  \
         - name: c\n    image: busybox:1.36\n    securityContext: {privileged: true}\n",
    )
    .unwrap();
    let out = scan(bad.path().to_path_buf()).await;
    assert_ne!(out.code, Some(0), "{}", out.stdout);
    assert!(out.stdout.contains("CKV_K8S_16"), "{}", out.stdout);
}

#[tokio::test]
async fn the_deployment_has_what_a_fleet_needs() {
    let Some(docs) = documents(&manifests()).await else {
        return;
    };
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    for kind in [
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Secret",
        "ConfigMap",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let spec = &deployment["spec"];
    assert!(spec["replicas"].as_u64().unwrap() >= 2);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/gateway/health");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/gateway/ready");
    for what in ["requests", "limits"] {
        assert!(c["resources"][what]["cpu"].is_string(), "{what}");
        assert!(c["resources"][what]["memory"].is_string(), "{what}");
    }
    let env: Vec<&str> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for var in [
        "MCP_GATEWAY_JWT_SECRET",
        "MCP_GATEWAY_SESSION_KEY",
        "MCP_GATEWAY_DATABASE_URL",
        "MCP_GATEWAY_REDIS_URL",
        "MCP_GATEWAY_REPLICA_ID",
        // Where the other replicas forward this pod's dedicated and HTTP+SSE sessions.
        "MCP_GATEWAY_ADVERTISE_URL",
    ] {
        assert!(env.contains(&var), "{var} missing from {env:?}");
    }
    let hpa = docs
        .iter()
        .find(|d| d["kind"] == "HorizontalPodAutoscaler")
        .unwrap();
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 2);
    // The registry file the Deployment mounts is valid JSON in the gateway's format.
    let config = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    let registry: Value =
        serde_json::from_str(config["data"]["registry.json"].as_str().unwrap()).unwrap();
    assert!(registry["templates"].is_object());
    // kustomize applies every manifest but the optional migration job.
    let kustomization = std::fs::read_to_string(k8s_dir().join("kustomization.yaml")).unwrap();
    for file in manifests() {
        let name = file.rsplit('/').next().unwrap();
        assert!(
            kustomization.contains(name) || name == "db-migrate-job.yaml",
            "{name} is not in kustomization.yaml"
        );
    }
}

#[tokio::test]
async fn the_compose_example_parses_and_its_haproxy_config_is_valid() {
    let compose = repo_root().join("deploy/compose/docker-compose.yaml");
    let Some(docs) = documents(&[compose.display().to_string()]).await else {
        return;
    };
    let services = docs[0]["services"].as_object().unwrap();
    for name in ["postgres", "redis", "gateway-a", "gateway-b", "haproxy"] {
        assert!(services.contains_key(name), "no {name} service");
    }
    for (name, service) in services {
        let image = service["image"].as_str().unwrap_or_default();
        assert!(
            image.contains(':') && !image.ends_with(":latest"),
            "{name}: pin the image ({image:?})"
        );
    }
    for name in ["gateway-a", "gateway-b"] {
        let gw = &services[name];
        assert_eq!(gw["read_only"], true, "{name}");
        let env = &gw["environment"];
        assert!(env["MCP_GATEWAY_REDIS_URL"].is_string(), "{name}: {env}");
        assert!(
            env["MCP_GATEWAY_DATABASE_URL"]
                .as_str()
                .unwrap()
                .starts_with("postgres://")
        );
        assert_eq!(env["MCP_GATEWAY_REPLICA_ID"], name);
        assert_eq!(
            env["MCP_GATEWAY_ADVERTISE_URL"],
            format!("http://{name}:8080"),
            "{name}: the other replica forwards its sessions there"
        );
    }
    let Some(haproxy) = program("haproxy", "haproxy") else {
        return;
    };
    let cfg = repo_root().join("deploy/compose/haproxy.cfg");
    let out = run(
        haproxy,
        ["-c".to_owned(), "-f".to_owned(), cfg.display().to_string()],
        &[],
        Duration::from_secs(30),
    )
    .await;
    out.expect_success();
}
