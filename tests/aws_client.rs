//! The AWS client layer (`plink::aws`) against the project's local AWS emulator.
//!
//! Each test starts a private local stack (the shared harness, `tests/common/`); the stack is
//! part of the repository, so a missing one fails the tests.

mod common;

use std::time::Duration;

use common::cloud::{CUSTOMER as CUSTOMER_ACCOUNT, DATABRICKS_AWS as DATABRICKS_ACCOUNT, REGION};
use common::{Emu, Stack, eventually};
use plink::aws::{
    AwsClients, AwsConnect, CreateEndpointService, CreateInterfaceEndpoint, CreateListener,
    CreateLoadBalancer, CreateSecurityGroup, CreateTargetGroup, EndpointService, ErrorKind,
    LoadBalancer, PlinkTags, Subnet, SubnetSelector, TagQuery, TargetGroup, VpcEndpoint,
    VpcSelector,
};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

fn databricks_role() -> String {
    format!("arn:aws:iam::{DATABRICKS_ACCOUNT}:role/private-connectivity-role-us-east-1")
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn demo_network(aws: &AwsClients) -> (String, Vec<Subnet>) {
    let vpc = aws
        .find_vpc(&VpcSelector::Tags(pairs(&[("Name", "plink-demo-vpc")])))
        .await
        .expect("demo VPC");
    let subnets = aws
        .find_subnets(
            &vpc.id,
            &SubnetSelector::Tags(pairs(&[("plink-demo", "private")])),
        )
        .await
        .expect("demo subnets");
    (vpc.id, subnets)
}

async fn available_endpoint(aws: &AwsClients, deployment: &str) -> (VpcEndpoint, Vec<Subnet>) {
    let (vpc_id, subnets) = demo_network(aws).await;
    let created = aws
        .create_interface_endpoint(&CreateInterfaceEndpoint {
            vpc_id,
            service_name: aws.s3_service_name(),
            subnet_ids: subnets.iter().map(|s| s.id.clone()).collect(),
            security_group_ids: vec![],
            policy_document: None,
            client_token: format!("plink-{deployment}-endpoint-0"),
            tags: PlinkTags::new(deployment, "s3-endpoint").with_name(format!("{deployment}-s3")),
        })
        .await
        .expect("create endpoint");
    let endpoint = eventually("endpoint available", WAIT, || async {
        aws.describe_vpc_endpoint(&created.id)
            .await
            .expect("describe endpoint")
            .filter(VpcEndpoint::is_available)
    })
    .await;
    (endpoint, subnets)
}

async fn active_nlb(aws: &AwsClients, name: &str, subnets: &[Subnet]) -> LoadBalancer {
    let created = aws
        .create_load_balancer(&CreateLoadBalancer {
            name: name.into(),
            subnet_ids: subnets.iter().map(|s| s.id.clone()).collect(),
            security_group_ids: vec![],
            tags: PlinkTags::new("dep-nlb", "nlb").with_name(name),
        })
        .await
        .expect("create NLB");
    eventually("NLB active", WAIT, || async {
        aws.describe_load_balancer(&created.arn)
            .await
            .expect("describe NLB")
            .filter(LoadBalancer::is_active)
    })
    .await
}

async fn available_service(aws: &AwsClients, nlb_arn: &str, deployment: &str) -> EndpointService {
    let created = aws
        .create_endpoint_service(&CreateEndpointService {
            nlb_arns: vec![nlb_arn.to_owned()],
            client_token: format!("plink-{deployment}-service-0"),
            tags: PlinkTags::new(deployment, "endpoint-service"),
        })
        .await
        .expect("create endpoint service");
    eventually("endpoint service Available", WAIT, || async {
        aws.describe_endpoint_service(&created.id)
            .await
            .expect("describe service")
            .filter(EndpointService::is_available)
    })
    .await
}

#[tokio::test]
async fn vpc_and_subnets_resolve_by_tags_and_ids() {
    let stack = Stack::start();
    let aws = stack.clients().await;

    let by_tag = aws
        .find_vpc(&VpcSelector::Tags(pairs(&[("Name", "plink-demo-vpc")])))
        .await
        .unwrap();
    assert_eq!(by_tag.cidr_blocks, ["10.20.0.0/16"]);
    assert_eq!(by_tag.owner_id.as_deref(), Some(CUSTOMER_ACCOUNT));
    let by_id = aws
        .find_vpc(&VpcSelector::Id(by_tag.id.clone()))
        .await
        .unwrap();
    assert_eq!(by_id, by_tag);

    let subnets = aws
        .find_subnets(
            &by_tag.id,
            &SubnetSelector::Tags(pairs(&[("plink-demo", "private")])),
        )
        .await
        .unwrap();
    let zones: Vec<&str> = subnets
        .iter()
        .map(|s| s.availability_zone.as_str())
        .collect();
    assert_eq!(zones, ["us-east-1a", "us-east-1b"]);
    for s in &subnets {
        assert!(ipv4_in_cidr(
            s.cidr_block.split('/').next().unwrap(),
            "10.20.0.0/16"
        ));
    }
    let ids: Vec<String> = subnets.iter().map(|s| s.id.clone()).collect();
    let by_ids = aws
        .find_subnets(&by_tag.id, &SubnetSelector::Ids(ids.clone()))
        .await
        .unwrap();
    assert_eq!(by_ids, subnets);

    // Errors: nothing matches, unknown ids, ambiguous tags, subnet of another VPC.
    let err = aws
        .find_vpc(&VpcSelector::Tags(pairs(&[("Name", "no-such-vpc")])))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("Name=no-such-vpc"), "{err}");

    let err = aws
        .find_vpc(&VpcSelector::Id("vpc-0123456789abcdef0".into()))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert_eq!(err.code.as_deref(), Some("InvalidVpcID.NotFound"), "{err}");

    let err = aws
        .find_subnets(
            &by_tag.id,
            &SubnetSelector::Tags(pairs(&[("plink-demo", "nothing")])),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");

    let err = aws
        .find_subnets(
            &by_tag.id,
            &SubnetSelector::Ids(vec!["subnet-0123456789abcdef0".into()]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");

    // Two VPCs with the same Name tag: ambiguous, and the message lists both.
    let twin = aws
        .ec2
        .create_vpc()
        .cidr_block("10.99.0.0/16")
        .tag_specifications(
            PlinkTags::new("x", "y")
                .with_name("plink-demo-vpc")
                .ec2_spec(aws_sdk_ec2::types::ResourceType::Vpc),
        )
        .send()
        .await
        .unwrap();
    let twin_id = twin.vpc().unwrap().vpc_id().unwrap().to_owned();
    let err = aws
        .find_vpc(&VpcSelector::Tags(pairs(&[("Name", "plink-demo-vpc")])))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
    assert!(
        err.to_string().contains(&twin_id) && err.to_string().contains(&by_tag.id),
        "{err}"
    );
    let err = aws
        .find_subnets(&twin_id, &SubnetSelector::Ids(ids))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
    assert!(err.to_string().contains("not in the selected VPC"), "{err}");
}

#[tokio::test]
async fn security_group_is_created_found_and_deleted() {
    let stack = Stack::start();
    let aws = stack.clients().await;
    let (vpc_id, subnets) = demo_network(&aws).await;
    let cidrs: Vec<String> = subnets.iter().map(|s| s.cidr_block.clone()).collect();

    assert_eq!(
        aws.find_security_group(&vpc_id, "plink-sg").await.unwrap(),
        None
    );
    let input = CreateSecurityGroup {
        vpc_id: vpc_id.clone(),
        name: "plink-sg".into(),
        description: "plink: HTTPS to the S3 interface endpoint".into(),
        ingress_cidrs: cidrs.clone(),
        tags: PlinkTags::new("dep-sg", "security-group").with_name("plink-sg"),
    };
    let created = aws.create_security_group(&input).await.unwrap();
    let found = aws
        .find_security_group(&vpc_id, "plink-sg")
        .await
        .unwrap()
        .expect("found by name");
    assert_eq!(found.id, created.id);
    let mut ingress = found.https_ingress_cidrs.clone();
    ingress.sort();
    assert_eq!(ingress, cidrs);
    assert_eq!(found.tags["plink:deployment"], "dep-sg");

    // Completing the rules again (a resumed step) is fine; creating the name again is a conflict.
    aws.allow_https_from(&created.id, &cidrs).await.unwrap();
    let err = aws.create_security_group(&input).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");

    aws.delete_security_group(&created.id).await.unwrap();
    assert_eq!(
        aws.describe_security_group(&created.id).await.unwrap(),
        None
    );
    aws.delete_security_group(&created.id)
        .await
        .expect("deleting a deleted group is fine");
}

#[tokio::test]
async fn interface_endpoint_is_idempotent_by_token_and_its_ips_are_in_the_subnets() {
    let stack = Stack::start();
    let aws = stack.clients().await;
    let (vpc_id, subnets) = demo_network(&aws).await;
    let input = CreateInterfaceEndpoint {
        vpc_id: vpc_id.clone(),
        service_name: aws.s3_service_name(),
        subnet_ids: subnets.iter().map(|s| s.id.clone()).collect(),
        security_group_ids: vec![],
        policy_document: None,
        client_token: "plink-dep-ep-token-0".into(),
        tags: PlinkTags::new("dep-ep", "s3-endpoint").with_name("dep-ep-s3"),
    };
    let first = aws.create_interface_endpoint(&input).await.unwrap();
    let second = aws.create_interface_endpoint(&input).await.unwrap();
    assert_eq!(first.id, second.id, "same token, same endpoint");
    assert_eq!(first.service_name, "com.amazonaws.us-east-1.s3");
    assert_eq!(first.endpoint_type, "Interface");
    assert!(!first.private_dns_enabled);

    let tagged = aws
        .find_vpc_endpoints(&TagQuery::deployment("dep-ep"))
        .await
        .unwrap();
    assert_eq!(tagged.len(), 1, "{tagged:?}");
    assert_eq!(tagged[0].id, first.id);
    assert!(
        aws.find_vpc_endpoints(&TagQuery::deployment("other"))
            .await
            .unwrap()
            .is_empty()
    );

    let endpoint = eventually("endpoint available", WAIT, || async {
        aws.describe_vpc_endpoint(&first.id)
            .await
            .unwrap()
            .filter(VpcEndpoint::is_available)
    })
    .await;
    let enis = aws.endpoint_network_interfaces(&endpoint).await.unwrap();
    assert_eq!(enis.len(), subnets.len(), "{enis:?}");
    for eni in &enis {
        let subnet = subnets
            .iter()
            .find(|s| s.id == eni.subnet_id)
            .expect("ENI subnet");
        assert!(
            ipv4_in_cidr(&eni.private_ip, &subnet.cidr_block),
            "{} not in {}",
            eni.private_ip,
            subnet.cidr_block
        );
        assert_eq!(eni.availability_zone, subnet.availability_zone);
    }
    let ips = aws.endpoint_ips(&first.id).await.unwrap();
    assert_eq!(
        ips,
        enis.iter()
            .map(|e| e.private_ip.clone())
            .collect::<Vec<_>>()
    );

    // The same token with other parameters is a conflict, not a second endpoint.
    let mismatch = CreateInterfaceEndpoint {
        subnet_ids: vec![subnets[0].id.clone()],
        ..input.clone()
    };
    let err = aws.create_interface_endpoint(&mismatch).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");

    // Unknown ids: None; deleting twice is fine.
    assert_eq!(
        aws.describe_vpc_endpoint("vpce-0123456789abcdef0")
            .await
            .unwrap(),
        None
    );
    aws.delete_vpc_endpoints(std::slice::from_ref(&first.id))
        .await
        .unwrap();
    eventually("endpoint gone", WAIT, || async {
        match aws.describe_vpc_endpoint(&first.id).await.unwrap() {
            None => Some(()),
            Some(e) if e.is_gone() => Some(()),
            Some(_) => None,
        }
    })
    .await;
    aws.delete_vpc_endpoints(std::slice::from_ref(&first.id))
        .await
        .expect("deleting a deleted endpoint is fine");
}

#[tokio::test]
async fn nlb_target_group_and_listener_are_idempotent() {
    let stack = Stack::start();
    let aws = stack.clients().await;
    let (endpoint, subnets) = available_endpoint(&aws, "dep-nlb").await;
    let ips = aws.endpoint_ips(&endpoint.id).await.unwrap();

    // NLB: absent, created, created again by name → the same one.
    assert_eq!(aws.find_load_balancer("plink-dep-nlb").await.unwrap(), None);
    let nlb = active_nlb(&aws, "plink-dep-nlb", &subnets).await;
    let again = active_nlb(&aws, "plink-dep-nlb", &subnets).await;
    assert_eq!(nlb.arn, again.arn, "create by name is idempotent");
    assert!(
        nlb.arn.contains(":loadbalancer/net/plink-dep-nlb/"),
        "{}",
        nlb.arn
    );
    assert_eq!(
        (nlb.scheme.as_str(), nlb.type_.as_str()),
        ("internal", "network")
    );
    let mut nlb_subnets: Vec<&str> = nlb.subnets.iter().map(|s| s.subnet_id.as_str()).collect();
    nlb_subnets.sort_unstable();
    let mut want: Vec<&str> = subnets.iter().map(|s| s.id.as_str()).collect();
    want.sort_unstable();
    assert_eq!(nlb_subnets, want);
    assert_eq!(
        aws.find_load_balancer("plink-dep-nlb")
            .await
            .unwrap()
            .map(|l| l.arn),
        Some(nlb.arn.clone())
    );
    let by_tag = aws
        .find_load_balancers(&TagQuery::deployment("dep-nlb").step("nlb"))
        .await
        .unwrap();
    assert_eq!(
        by_tag.iter().map(|l| &l.arn).collect::<Vec<_>>(),
        [&nlb.arn]
    );
    aws.set_cross_zone(&nlb.arn, true).await.unwrap();
    assert!(aws.cross_zone_enabled(&nlb.arn).await.unwrap());

    // With security groups, PrivateLink traffic is exempted from their inbound rules.
    let sg = aws
        .create_security_group(&CreateSecurityGroup {
            vpc_id: endpoint.vpc_id.clone(),
            name: "plink-dep-nlb-sg".into(),
            description: "plink test".into(),
            ingress_cidrs: subnets.iter().map(|s| s.cidr_block.clone()).collect(),
            tags: PlinkTags::new("dep-nlb", "nlb-sg"),
        })
        .await
        .unwrap();
    let with_sg = aws
        .create_load_balancer(&CreateLoadBalancer {
            name: "plink-dep-nlb-sg".into(),
            subnet_ids: subnets.iter().map(|s| s.id.clone()).collect(),
            security_group_ids: vec![sg.id.clone()],
            tags: PlinkTags::new("dep-nlb", "nlb-sg"),
        })
        .await
        .unwrap();
    let with_sg = aws
        .describe_load_balancer(&with_sg.arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(with_sg.security_groups, std::slice::from_ref(&sg.id));
    assert_eq!(
        with_sg
            .enforce_security_group_inbound_rules_on_private_link_traffic
            .as_deref(),
        Some("off")
    );
    aws.delete_load_balancer(&with_sg.arn).await.unwrap();

    // Two subnets in one AZ: the request is invalid.
    let vpc_id = endpoint.vpc_id.clone();
    let single_az = aws
        .find_subnets(
            &vpc_id,
            &SubnetSelector::Tags(pairs(&[("plink-demo", "single-az")])),
        )
        .await
        .unwrap();
    let err = aws
        .create_load_balancer(&CreateLoadBalancer {
            name: "plink-dep-nlb-bad".into(),
            subnet_ids: vec![subnets[0].id.clone(), single_az[0].id.clone()],
            security_group_ids: vec![],
            tags: PlinkTags::new("dep-nlb", "nlb"),
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");

    // Target group: TCP 443, ip, TCP health check; idempotent by name.
    let tg_input = CreateTargetGroup {
        name: "plink-dep-tg".into(),
        vpc_id: endpoint.vpc_id.clone(),
        port: 443,
        tags: PlinkTags::new("dep-nlb", "target-group"),
    };
    let tg: TargetGroup = aws.create_target_group(&tg_input).await.unwrap();
    assert_eq!(
        aws.create_target_group(&tg_input).await.unwrap().arn,
        tg.arn
    );
    assert_eq!(
        (tg.protocol.as_str(), tg.port, tg.target_type.as_str()),
        ("TCP", Some(443), "ip")
    );
    assert_eq!(tg.health_check_protocol.as_deref(), Some("TCP"));
    assert_eq!(
        aws.find_target_group("plink-dep-tg")
            .await
            .unwrap()
            .map(|t| t.arn),
        Some(tg.arn.clone())
    );
    assert_eq!(aws.find_target_group("plink-none").await.unwrap(), None);
    let tagged = aws
        .find_target_groups(&TagQuery::deployment("dep-nlb"))
        .await
        .unwrap();
    assert_eq!(tagged.len(), 1);

    // The same name with other settings: conflict (adopt or report drift, do not retry).
    let err = aws
        .create_target_group(&CreateTargetGroup {
            port: 8443,
            ..tg_input.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");

    // Targets: register the ENI IPs (twice: no-op), read health.
    aws.register_ip_targets(&tg.arn, &ips, 443).await.unwrap();
    aws.register_ip_targets(&tg.arn, &ips, 443).await.unwrap();
    let health = aws.target_health(&tg.arn).await.unwrap();
    let mut registered: Vec<String> = health.iter().map(|h| h.ip.clone()).collect();
    registered.sort();
    let mut want_ips = ips.clone();
    want_ips.sort();
    assert_eq!(registered, want_ips);
    assert!(health.iter().all(|h| h.port == Some(443)), "{health:?}");

    // Listener: looked up by (NLB, port) before create; create again → the same one.
    assert_eq!(aws.find_listener(&nlb.arn, 443).await.unwrap(), None);
    let listener_input = CreateListener {
        load_balancer_arn: nlb.arn.clone(),
        port: 443,
        target_group_arn: tg.arn.clone(),
        tags: PlinkTags::new("dep-nlb", "listener"),
    };
    let listener = aws.create_tcp_listener(&listener_input).await.unwrap();
    assert_eq!(listener.protocol, "TCP");
    assert_eq!(listener.target_group_arns, std::slice::from_ref(&tg.arn));
    let found = aws.find_listener(&nlb.arn, 443).await.unwrap().unwrap();
    assert_eq!(found.arn, listener.arn);
    let again = aws.create_tcp_listener(&listener_input).await.unwrap();
    assert_eq!(again.arn, listener.arn);
    assert_eq!(aws.listeners(&nlb.arn).await.unwrap().len(), 1);

    // With the listener in place, the targets become healthy.
    eventually("targets healthy", WAIT, || async {
        let h = aws.target_health(&tg.arn).await.unwrap();
        (!h.is_empty() && h.iter().all(|t| t.is_healthy())).then_some(())
    })
    .await;

    // Deregister one, then tear down in reverse order; every delete tolerates "already gone".
    aws.deregister_ip_targets(&tg.arn, &ips[..1], 443)
        .await
        .unwrap();
    eventually("target deregistered", WAIT, || async {
        let h = aws.target_health(&tg.arn).await.unwrap();
        (!h.iter().any(|t| t.ip == ips[0] && t.state != "draining")).then_some(())
    })
    .await;
    aws.delete_listener(&listener.arn).await.unwrap();
    aws.delete_listener(&listener.arn).await.unwrap();
    assert_eq!(aws.find_listener(&nlb.arn, 443).await.unwrap(), None);
    aws.delete_target_group(&tg.arn).await.unwrap();
    aws.delete_target_group(&tg.arn).await.unwrap();
    assert_eq!(aws.describe_target_group(&tg.arn).await.unwrap(), None);
    aws.delete_load_balancer(&nlb.arn).await.unwrap();
    aws.delete_load_balancer(&nlb.arn).await.unwrap();
    eventually("NLB gone", WAIT, || async {
        aws.describe_load_balancer(&nlb.arn)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(
        aws.listeners(&nlb.arn).await.unwrap(),
        [],
        "listeners of a deleted NLB: none"
    );
}

#[tokio::test]
async fn endpoint_service_principals_and_connections() {
    let stack = Stack::start();
    let aws = stack.clients().await;
    let (_, subnets) = available_endpoint(&aws, "dep-svc").await;
    let nlb = active_nlb(&aws, "plink-dep-svc", &subnets).await;

    // Create twice with one token → one service; acceptance required.
    let service = available_service(&aws, &nlb.arn, "dep-svc").await;
    let again = available_service(&aws, &nlb.arn, "dep-svc").await;
    assert_eq!(service.id, again.id, "same token, same service");
    assert!(service.acceptance_required);
    assert_eq!(service.nlb_arns, std::slice::from_ref(&nlb.arn));
    assert!(
        service
            .name
            .starts_with("com.amazonaws.vpce.us-east-1.vpce-svc-"),
        "{}",
        service.name
    );
    let by_tag = aws
        .find_endpoint_services(&TagQuery::deployment("dep-svc"))
        .await
        .unwrap();
    assert_eq!(
        by_tag.iter().map(|s| &s.id).collect::<Vec<_>>(),
        [&service.id]
    );
    let by_nlb = aws.find_endpoint_service_by_nlb(&nlb.arn).await.unwrap();
    assert_eq!(by_nlb.map(|s| s.id), Some(service.id.clone()));
    assert_eq!(
        aws.describe_endpoint_service("vpce-svc-0123456789abcdef0")
            .await
            .unwrap(),
        None
    );

    // Allowed principals: the Databricks role; `*` refused before any call.
    aws.allow_principal(&service.id, &databricks_role())
        .await
        .unwrap();
    aws.allow_principal(&service.id, &databricks_role())
        .await
        .unwrap();
    let err = aws.allow_principal(&service.id, "*").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
    let principals = aws.allowed_principals(&service.id).await.unwrap();
    assert_eq!(
        principals
            .iter()
            .map(|p| p.principal.as_str())
            .collect::<Vec<_>>(),
        [databricks_role().as_str()]
    );

    // Accepting an id that has no connection: the 200 answer's `Unsuccessful` is an error.
    let err = aws
        .accept_endpoint_connections(&service.id, &["vpce-0123456789abcdef0".into()])
        .await
        .unwrap_err();
    assert_eq!(err.unsuccessful.len(), 1, "{err}");
    assert_eq!(err.unsuccessful[0].resource_id, "vpce-0123456789abcdef0");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert_eq!(
        err.unsuccessful[0].code.as_deref(),
        Some("InvalidVpcEndpointId.NotFound")
    );
    assert!(err.to_string().contains("vpce-0123456789abcdef0"), "{err}");
    assert!(
        aws.endpoint_connections(&service.id, None)
            .await
            .unwrap()
            .is_empty()
    );

    // Databricks (its role, in its account) opens a connection; a stranger opens another.
    let databricks = consumer(&stack, DATABRICKS_ACCOUNT, Some(&databricks_role())).await;
    let db_vpce = consumer_endpoint(&databricks, &service.name).await;
    aws.allow_principal(&service.id, "arn:aws:iam::111122223333:root")
        .await
        .unwrap();
    let stranger = consumer(&stack, "111122223333", None).await;
    let stranger_vpce = consumer_endpoint(&stranger, &service.name).await;

    let conns = aws.endpoint_connections(&service.id, None).await.unwrap();
    assert_eq!(conns.len(), 2, "{conns:?}");
    assert!(conns.iter().all(|c| c.is_pending_acceptance()), "{conns:?}");
    let only = aws
        .endpoint_connections(&service.id, Some(&db_vpce))
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].owner, DATABRICKS_ACCOUNT);

    // Accept exactly Databricks' endpoint; refuse to accept the stranger's as Databricks'.
    let err = aws
        .accept_endpoint_connection_from(&service.id, &stranger_vpce, DATABRICKS_ACCOUNT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
    assert!(err.to_string().contains("111122223333"), "{err}");
    aws.accept_endpoint_connection_from(&service.id, &db_vpce, DATABRICKS_ACCOUNT)
        .await
        .unwrap();
    eventually("connection available", WAIT, || async {
        let c = aws
            .endpoint_connections(&service.id, Some(&db_vpce))
            .await
            .unwrap();
        c.first().filter(|c| c.is_available()).cloned()
    })
    .await;
    let stranger_conn = aws
        .endpoint_connections(&service.id, Some(&stranger_vpce))
        .await
        .unwrap();
    assert!(
        stranger_conn[0].is_pending_acceptance(),
        "{stranger_conn:?}"
    );
    // Accepting an accepted connection again: nothing to do.
    let conn = aws
        .accept_endpoint_connection_from(&service.id, &db_vpce, DATABRICKS_ACCOUNT)
        .await
        .unwrap();
    assert!(conn.is_available(), "{conn:?}");

    // Teardown: the NLB cannot go while the service uses it, the service cannot go while
    // connections exist; reject them, then delete.
    let err = aws.delete_load_balancer(&nlb.arn).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    let err = aws
        .delete_endpoint_services(std::slice::from_ref(&service.id))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    assert_eq!(
        err.code.as_deref(),
        Some("ExistingVpcEndpointConnections"),
        "{err}"
    );
    aws.reject_endpoint_connections(&service.id, &[db_vpce.clone(), stranger_vpce.clone()])
        .await
        .unwrap();
    let conns = aws.endpoint_connections(&service.id, None).await.unwrap();
    assert!(conns.iter().all(|c| c.state == "rejected"), "{conns:?}");
    aws.remove_principal(&service.id, &databricks_role())
        .await
        .unwrap();
    aws.delete_endpoint_services(std::slice::from_ref(&service.id))
        .await
        .unwrap();
    eventually("service gone", WAIT, || async {
        match aws.describe_endpoint_service(&service.id).await.unwrap() {
            None => Some(()),
            Some(s) if s.is_gone() => Some(()),
            Some(_) => None,
        }
    })
    .await;
    aws.delete_endpoint_services(std::slice::from_ref(&service.id))
        .await
        .expect("deleting a deleted service is fine");
}

/// Clients of another account, optionally as an assumed role of it.
async fn consumer(stack: &Stack, account: &str, role_arn: Option<&str>) -> AwsClients {
    let base = stack.sdk_config(account, 3).await;
    let config = match role_arn {
        None => base,
        Some(role) => {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name("databricks")
                .configure(&base)
                .build()
                .await;
            base.into_builder()
                .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
                    provider,
                ))
                .build()
        }
    };
    AwsClients::from_config(&config, REGION.into(), account.into())
}

/// A consumer VPC, subnet and interface endpoint to `service_name`; returns the vpce id.
async fn consumer_endpoint(consumer: &AwsClients, service_name: &str) -> String {
    let vpc = consumer
        .ec2
        .create_vpc()
        .cidr_block("10.50.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let subnet = consumer
        .ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.50.1.0/24")
        .availability_zone("us-east-1a")
        .send()
        .await
        .unwrap();
    let subnet_id = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    consumer
        .create_interface_endpoint(&CreateInterfaceEndpoint {
            vpc_id,
            service_name: service_name.to_owned(),
            subnet_ids: vec![subnet_id],
            security_group_ids: vec![],
            policy_document: None,
            client_token: format!("consumer-{}", consumer.account_id),
            tags: PlinkTags::new("consumer", "endpoint"),
        })
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn throttling_and_service_faults_are_classified() {
    let stack = Stack::start();
    let no_retry = stack.clients_with(CUSTOMER_ACCOUNT, 1).await;

    stack.set_faults(
        Emu::Aws,
        json!({"rules": [{"kind": "aws_throttle", "rate": 1.0, "max_count": 1}]}),
    );
    let err = no_retry
        .find_vpc(&VpcSelector::Tags(pairs(&[("Name", "plink-demo-vpc")])))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    assert_eq!(err.code.as_deref(), Some("RequestLimitExceeded"), "{err}");
    assert!(err.is_retryable());
    assert_eq!(err.operation, "DescribeVpcs");
    // The fault fired once; the next call goes through.
    no_retry
        .find_vpc(&VpcSelector::Tags(pairs(&[("Name", "plink-demo-vpc")])))
        .await
        .unwrap();

    // ELBv2 throttles with `Throttling`.
    stack.set_faults(
        Emu::Aws,
        json!({"rules": [{"kind": "aws_throttle", "rate": 1.0, "max_count": 1,
            "match": {"action": "DescribeLoadBalancers"}}]}),
    );
    let err = no_retry.find_load_balancer("plink-x").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    assert_eq!(err.code.as_deref(), Some("Throttling"), "{err}");

    // 503 → Unavailable, retryable; a step error that the engine retries.
    stack.set_faults(
        Emu::Aws,
        json!({"rules": [{"kind": "http_503", "rate": 1.0, "max_count": 1}]}),
    );
    let err = no_retry
        .describe_vpc_endpoint("vpce-0123456789abcdef0")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
    let step_err = plink::resources::errors::aws("describing", err);
    assert_eq!(step_err.class(), plink::engine::ErrorClass::Retryable);

    // The request is served but the answer is lost: Transport, retryable (creates carry tokens).
    stack.set_faults(
        Emu::Aws,
        json!({"rules": [{"kind": "commit_then_timeout", "rate": 1.0, "max_count": 1,
            "delay_ms": 100, "mode": "drop"}]}),
    );
    let err = no_retry.find_load_balancer("plink-x").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transport, "{err}");
    assert!(err.code.is_none() && err.is_retryable(), "{err}");

    // With the SDK's standard retries, one throttle is absorbed.
    stack.set_faults(
        Emu::Aws,
        json!({"rules": [{"kind": "aws_throttle", "rate": 1.0, "max_count": 1}]}),
    );
    let retrying = stack.clients_with(CUSTOMER_ACCOUNT, 3).await;
    retrying
        .find_vpc(&VpcSelector::Tags(pairs(&[("Name", "plink-demo-vpc")])))
        .await
        .expect("retried by the SDK");
    let plan = stack.faults(Emu::Aws);
    assert_eq!(plan["rules"][0]["fired"], 1, "{plan}");
}

/// `AwsConnect` uses aws-config's default chain: `AWS_ENDPOINT_URL` and keys from the
/// environment, a named profile from the shared files, and an explicit role to assume. The chain
/// reads the process environment, so each case runs in a child process of this test binary.
#[tokio::test]
async fn connect_uses_the_default_chain() {
    let stack = Stack::start();
    let home = tempfile::tempdir().unwrap();
    let config_file = home.path().join("config");
    std::fs::write(
        &config_file,
        format!(
            "[profile databricks-like]\nregion = us-east-1\naws_access_key_id = {DATABRICKS_ACCOUNT}\n\
             aws_secret_access_key = plink-local-stack\nendpoint_url = {}\n",
            stack.var("AWS_ENDPOINT_URL")
        ),
    )
    .unwrap();
    let exe = std::env::current_exe().unwrap();
    for (case, expected_account) in [
        ("env", CUSTOMER_ACCOUNT),
        ("profile", DATABRICKS_ACCOUNT),
        ("role", "210987654321"),
        ("no-credentials", ""),
    ] {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["child_connect", "--exact", "--ignored", "--nocapture"])
            .env("PLINK_TEST_CONNECT_CASE", case)
            .env("HOME", home.path())
            .env("AWS_CONFIG_FILE", &config_file)
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                home.path().join("credentials"),
            )
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ACCOUNT_ID")
            .env_remove("AWS_SESSION_TOKEN");
        for (k, v) in &stack.env {
            cmd.env(k, v);
        }
        if case == "no-credentials" {
            cmd.env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY")
                .env("AWS_CONFIG_FILE", home.path().join("absent"));
        }
        if case == "profile" {
            cmd.env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY")
                .env_remove("AWS_ENDPOINT_URL");
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "case {case}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = if expected_account.is_empty() {
            "KIND=AccessDenied\n".to_owned()
        } else {
            format!("ACCOUNT={expected_account}\n")
        };
        assert!(stdout.contains(&expected), "case {case}: {stdout}");
        assert!(
            !stdout.contains("plink-local-stack"),
            "no secret in output: {stdout}"
        );
    }
}

/// Child of [`connect_uses_the_default_chain`]; does nothing when run by hand.
#[tokio::test]
#[ignore = "run by connect_uses_the_default_chain in a child process"]
async fn child_connect() {
    let Ok(case) = std::env::var("PLINK_TEST_CONNECT_CASE") else {
        return;
    };
    let connect = match case.as_str() {
        "env" => AwsConnect::new("us-east-1"),
        "profile" => AwsConnect::new("us-east-1").profile("databricks-like"),
        "role" => {
            AwsConnect::new("us-east-1").role_arn("arn:aws:iam::210987654321:role/plink-deployer")
        }
        "no-credentials" => AwsConnect::new("us-east-1"),
        other => panic!("unknown case {other}"),
    };
    let aws = match connect.connect().await {
        Ok(aws) => aws,
        Err(e) => {
            println!("KIND={:?}\n{e}", e.kind);
            return;
        }
    };
    println!("ACCOUNT={}", aws.account_id);
    // A call through the built clients works (endpoint and credentials in use).
    aws.ec2.describe_vpcs().send().await.expect("DescribeVpcs");
    println!("{aws:?}");
}

/// Whether an IPv4 address lies inside a CIDR block.
fn ipv4_in_cidr(ip: &str, cidr: &str) -> bool {
    let (net, len) = cidr.split_once('/').expect("CIDR");
    let len: u32 = len.parse().expect("prefix length");
    let ip: std::net::Ipv4Addr = ip.parse().expect("IPv4");
    let net: std::net::Ipv4Addr = net.parse().expect("IPv4 network");
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (u32::from(ip) & mask) == (u32::from(net) & mask)
}
