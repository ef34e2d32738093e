"""Validates infra/template.yaml for real: SAM transform (aws-sam-translator), then cfn-lint on
the result; proves that a broken Serverless property fails the check; then deploys the
transformed template into the moto emulator's CloudFormation (AWS_ENDPOINT_URL) and checks
that the table and the queues come out as designed.

Run by scripts/test.sh with the venv that holds moto, aws-sam-translator and cfn-lint.
Exits non-zero, naming the problem, on any failure.
"""

import copy
import io
import json
import os
import sys
import uuid
import zipfile

import boto3
from cfnlint.api import ManualArgs, lint
from cfnlint.decode import decode_str
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform

HERE = os.path.dirname(os.path.abspath(__file__))
FUNCTIONS = [
    "ApiFunction", "WebhookIntakeFunction", "TrackingUpdaterFunction", "StatusFanoutFunction", "CarrierPollerFunction",
    "TrackingPageFunction", "NotifierFunction", "WebhookDispatcherFunction",
    "ExceptionDetectorFunction", "PageFormsFunction", "ReportGeneratorFunction", "HistoryImporterFunction",
    "ConsoleFunction",
]
PARAMETERS = {"Stage": "check", "SecretKey": "0" * 64}
READ_WRITE = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"}
# The DynamoDB actions each function's code calls (aws/src/dynamodb/): exactly these, no more.
DYNAMODB_ACTIONS = {
    # Webhook events and delivery logs are read back in batches.
    "ApiFunction": READ_WRITE | {"dynamodb:ConditionCheckItem", "dynamodb:BatchGetItem"},
    # A storefront connector read by id: its tenant, then its sealed signing secret.
    "WebhookIntakeFunction": {"dynamodb:GetItem"},
    "TrackingUpdaterFunction": READ_WRITE,
    # The analytics rollups: each change a transaction of a version put and counter updates.
    "StatusFanoutFunction": {"dynamodb:PutItem", "dynamodb:UpdateItem"},
    "CarrierPollerFunction": READ_WRITE,
    # Shoppers' pages only read: settings and slugs by key, lookups through GSI3.
    "TrackingPageFunction": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"},
    # Shipments, rules and pages read; the message ledger planned (conditional put) and leased
    # and ended (conditional updates); due messages from GSI2; webhook events and deliveries
    # planned (conditional puts); outcomes, bounces and complaints counted in the rollups.
    "NotifierFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
    # Endpoints and events read; deliveries leased and their attempts recorded; due ones from
    # GSI2; each attempt counted in the rollups (a transaction of a guard put and updates).
    "WebhookDispatcherFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
    # Tenants, rules, shipments (pages of list entries, then a batch) and cases read; cases
    # and tagged shipments written (conditional puts); the shopper's message planned; returns
    # due to expire moved; older tenants given list entries (a condition on each shipment).
    "ExceptionDetectorFunction": {
        "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem", "dynamodb:Query",
    },
    # The pages' forms: shipments subscribed to, returns created (a transaction of puts and
    # an update), messages and webhook deliveries planned; lookups read.
    "PageFormsFunction": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
    # Tenants, settings and rollups read; the reports' emails planned (conditional puts); the
    # personal-data retention's shipments rewritten, recipients blanked, events rewritten.
    "ReportGeneratorFunction": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
    # Import jobs read and saved; trackings inserted and updated with their lookup items.
    "HistoryImporterFunction": READ_WRITE,
    # The console: members added and removed with their email items (transactions, a
    # condition on each), sessions and audit lines put, shipments read, listed and changed.
    "ConsoleFunction": READ_WRITE | {"dynamodb:ConditionCheckItem", "dynamodb:BatchGetItem"},
}
# AWS managed policies SAM attaches for logs and event sources; nothing broader.
MANAGED = {"AWSLambdaBasicExecutionRole", "AWSLambdaSQSQueueExecutionRole", "AWSLambdaDynamoDBExecutionRole"}


class NoManagedPolicies:
    """The template uses SAM policy templates and inline statements only; nothing to look up."""

    def load(self):
        return {}


def load_template():
    with open(os.path.join(HERE, "template.yaml")) as f:
        template, problems = decode_str(f.read())
    if problems:
        fail("template.yaml does not parse: " + "; ".join(str(p) for p in problems))
    return template


def with_code_in(template, bucket, key):
    """What `sam package` does: every function's code in S3."""
    template = copy.deepcopy(template)
    for name in FUNCTIONS:
        template["Resources"][name]["Properties"]["CodeUri"] = f"s3://{bucket}/{key}"
    return template


def to_cloudformation(template):
    """The SAM transform; raises InvalidDocumentException on a bad Serverless resource."""
    return transform(json.loads(json.dumps(template)), PARAMETERS, NoManagedPolicies())


def lint_errors(cloudformation):
    matches = lint(json.dumps(cloudformation), config=ManualArgs(regions=["us-east-1"]))
    return [m for m in matches if str(m.rule.id).startswith("E")]


def check(template):
    """Errors of the transform and of cfn-lint, as text; empty when the template is valid."""
    try:
        cloudformation = to_cloudformation(template)
    except InvalidDocumentException as error:
        return [f"sam transform: {cause.message}" for cause in error.causes]
    return [f"cfn-lint {m.rule.id}: {m.message} ({'/'.join(map(str, m.path))})" for m in lint_errors(cloudformation)]


def privilege_errors(template):
    """Where a function's role grants DynamoDB actions other than those its code calls, or a
    managed policy beyond the event sources'; empty when each has exactly what it uses."""
    try:
        cloudformation = to_cloudformation(template)
    except InvalidDocumentException as error:
        return [f"sam transform: {cause.message}" for cause in error.causes]
    errors = []
    for function, expected in DYNAMODB_ACTIONS.items():
        role = cloudformation["Resources"][f"{function}Role"]["Properties"]
        granted = set()
        for policy in role.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                granted |= {a for a in ([actions] if isinstance(actions, str) else actions) if a.startswith("dynamodb:")}
        if granted != expected:
            errors.append(f"{function} grants {sorted(granted - expected)} and lacks {sorted(expected - granted)}")
        for arn in role.get("ManagedPolicyArns", []):
            name = json.dumps(arn).rsplit("/", 1)[-1].strip('"}]')
            if name not in MANAGED:
                errors.append(f"{function} has the managed policy {name}")
    return errors


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    template = with_code_in(load_template(), "porchlight-artifacts", "functions.zip")

    errors = check(template)
    if errors:
        fail("infra/template.yaml is invalid:\n  " + "\n  ".join(errors))
    print("template: transformed and linted, no errors")

    broken = copy.deepcopy(template)
    sqs = broken["Resources"]["TrackingUpdaterFunction"]["Properties"]["Events"]["CarrierUpdates"]["Properties"]
    sqs["BatchSizee"] = sqs.pop("BatchSize")
    if not check(broken):
        fail("a misspelt SQS event property (BatchSizee) passed the check")
    broken = copy.deepcopy(template)
    broken["Resources"]["ApiFunction"]["Properties"]["Architectures"] = ["arm65"]
    if not check(broken):
        fail("an invalid architecture (arm65) passed the check")
    print("template: broken Serverless properties are caught")

    errors = privilege_errors(template)
    if errors:
        fail("a function may do more than its code does:\n  " + "\n  ".join(errors))
    broad = copy.deepcopy(template)
    broad["Resources"]["TrackingUpdaterFunction"]["Properties"]["Policies"].append({"DynamoDBCrudPolicy": {"TableName": {"Ref": "Table"}}})
    if not privilege_errors(broad):
        fail("DynamoDBCrudPolicy (Scan, DeleteItem and more for every function) passed the least-privilege check")
    print("template: each function may call exactly the DynamoDB actions its code uses")

    errors = feedback_errors(template)
    if errors:
        fail("SES reports do not reach the notifier:\n  " + "\n  ".join(errors))
    print("template: SES bounces and complaints reach the notifier through the configuration set and topic")

    deploy_and_inspect(template)


def feedback_errors(template):
    """Where SES's bounce and complaint reports would not reach the notifier: the configuration
    set the notifier sends with must publish both to the topic the notifier subscribes to."""
    resources = to_cloudformation(template)["Resources"]
    errors = []
    env = resources["NotifierFunction"]["Properties"]["Environment"]["Variables"]
    if env.get("PORCHLIGHT_SES_CONFIGURATION_SET") != {"Ref": "SesConfigurationSet"}:
        errors.append("the notifier does not send with SesConfigurationSet")
    destination = resources["SesFeedbackDestination"]["Properties"]
    event = destination["EventDestination"]
    if destination["ConfigurationSetName"] != {"Ref": "SesConfigurationSet"}:
        errors.append("the event destination is not the configuration set's")
    if sorted(event["MatchingEventTypes"]) != ["bounce", "complaint"] or not event.get("Enabled"):
        errors.append(f"the event destination publishes {event['MatchingEventTypes']}")
    if event["SnsDestination"]["TopicARN"] != {"Ref": "SesFeedbackTopic"}:
        errors.append("the event destination publishes elsewhere")
    subscriptions = [
        r["Properties"] for r in resources.values()
        if r["Type"] == "AWS::SNS::Subscription" and r["Properties"]["TopicArn"] == {"Ref": "SesFeedbackTopic"}
    ]
    if not any("NotifierFunction" in json.dumps(s["Endpoint"]) for s in subscriptions):
        errors.append("the notifier does not subscribe to SesFeedbackTopic")
    return errors


def deploy_and_inspect(template):
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith("http://127.0.0.1:"):
        fail("AWS_ENDPOINT_URL must name the local moto server")
    s3 = boto3.client("s3")
    bucket = f"porchlight-artifacts-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    s3.put_object(Bucket=bucket, Key="functions.zip", Body=archive.getvalue())
    cloudformation = to_cloudformation(with_code_in(template, bucket, "functions.zip"))

    cfn = boto3.client("cloudformation")
    stack = f"porchlight-check-{uuid.uuid4().hex[:8]}"
    # moto's CloudFormation does not implement CloudFront (it skips the resources and then
    # fails on outputs naming them): the stack goes in without them, and the distribution is
    # made afterwards from the template's own DistributionConfig through moto's CloudFront API.
    cloudfront_resources = {
        name: cloudformation["Resources"].pop(name)
        for name, resource in list(cloudformation["Resources"].items())
        if resource["Type"].startswith("AWS::CloudFront::")
    }
    page_api_definition = cloudformation["Resources"]["PageHttpApi"]["Properties"]
    expect("HttpApi" in cloudformation["Resources"], "the merchant API has an API of its own")
    cloudformation = without_cloudfront(cloudformation, "pending-distribution.cloudfront.net")
    cfn.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(cloudformation),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    if status != "CREATE_COMPLETE":
        fail(f"stack {stack} ended in {status}")

    dynamodb = boto3.client("dynamodb")
    table = dynamodb.describe_table(TableName="porchlight-check")["Table"]
    keys = {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]}
    expect(keys == {"PK": "HASH", "SK": "RANGE"}, f"table keys {keys}")
    indexes = {i["IndexName"]: {k["AttributeName"]: k["KeyType"] for k in i["KeySchema"]} for i in table["GlobalSecondaryIndexes"]}
    expect(
        indexes == {f"GSI{n}": {f"GSI{n}PK": "HASH", f"GSI{n}SK": "RANGE"} for n in (1, 2, 3)},
        f"indexes {indexes}",
    )
    stream = table.get("StreamSpecification", {})
    expect(stream.get("StreamEnabled") and stream.get("StreamViewType") == "NEW_AND_OLD_IMAGES", f"stream {stream}")
    ttl = dynamodb.describe_time_to_live(TableName="porchlight-check")["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") == "DISABLED":
        # moto's CloudFormation creates the table but does not apply TimeToLiveSpecification
        # (seen with moto 5.2.5): check the specification the stack was created with instead.
        deployed = cfn.get_template(StackName=stack)["TemplateBody"]
        deployed = json.loads(deployed) if isinstance(deployed, str) else deployed
        ttl = deployed["Resources"]["Table"]["Properties"].get("TimeToLiveSpecification", {})
        expect(ttl == {"AttributeName": "expires_at", "Enabled": True}, f"ttl in the stack's template {ttl}")
        print("template: moto does not apply TTL from CloudFormation; the stack's template enables it")
    else:
        expect(ttl.get("AttributeName") == "expires_at", f"ttl {ttl}")

    sqs = boto3.client("sqs")
    for queue in ["carrier-updates", "status-changes"]:
        url = sqs.get_queue_url(QueueName=f"porchlight-check-{queue}")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
        redrive = json.loads(attributes.get("RedrivePolicy", "{}"))
        dlq = sqs.get_queue_url(QueueName=f"porchlight-check-{queue}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        expect(redrive.get("deadLetterTargetArn") == dlq_arn and int(redrive.get("maxReceiveCount", 0)) == 8, f"{queue} redrive {redrive}")
    print(f"template: deployed into the emulator as {stack}; table and queues as designed")

    lambdas = boto3.client("lambda")
    page_function = lambdas.get_function(FunctionName="porchlight-check-tracking-page")["Configuration"]
    page_env = page_function["Environment"]["Variables"]
    expect(str(page_env.get("PORCHLIGHT_PAGE_LOOKUPS_PER_MINUTE")) == "30", f"tracking-page env {sorted(page_env)}")
    expect(str(page_env.get("PORCHLIGHT_PAGE_VIEWS_PER_MINUTE")) == "600", f"tracking-page env {sorted(page_env)}")
    intake = lambdas.get_function(FunctionName="porchlight-check-webhook-intake")["Configuration"]
    intake_env = intake["Environment"]["Variables"]
    expect(str(intake_env.get("PORCHLIGHT_WEBHOOKS_PER_MINUTE")) == "12000", f"webhook-intake env {sorted(intake_env)}")
    expect(not page_env.get("PORCHLIGHT_SECRET_KEY"), "the public-facing tracking-page function holds no secret key")
    # Nor does it implement HTTP APIs: their routes are checked in the transformed template,
    # and the page API is made through moto's API Gateway API for the distribution to face.
    pages = page_api_definition["Body"]
    routes = {(path, method) for path, item in pages["paths"].items() for method in item}
    expected_routes = {
        ("/t/{proxy+}", "get"), ("/t/{proxy+}", "post"), ("/reports/{proxy+}", "get"),
        ("/console", "x-amazon-apigateway-any-method"), ("/console/{proxy+}", "x-amazon-apigateway-any-method"),
    }
    expect(routes == expected_routes, f"page API routes {routes}")
    integration = json.dumps(pages["paths"]["/console/{proxy+}"]["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"])
    expect("ConsoleFunction" in integration, "the console's pages go to the console function")
    integration = json.dumps(pages["paths"]["/t/{proxy+}"]["get"]["x-amazon-apigateway-integration"])
    expect("TrackingPageFunction" in integration, "the page API invokes the tracking-page function")
    integration = json.dumps(pages["paths"]["/t/{proxy+}"]["post"]["x-amazon-apigateway-integration"])
    expect("PageFormsFunction" in integration, "the pages' forms go to the page-forms function")
    integration = json.dumps(pages["paths"]["/reports/{proxy+}"]["get"]["x-amazon-apigateway-integration"])
    expect("PageFormsFunction" in integration, "reports' sealed links go to the page-forms function, which holds the key")
    forms_env = lambdas.get_function(FunctionName="porchlight-check-page-forms")["Configuration"]["Environment"]["Variables"]
    expect(forms_env.get("PORCHLIGHT_BLOB_BUCKET"), "the forms function knows the photo bucket")
    s3_bucket = forms_env["PORCHLIGHT_BLOB_BUCKET"]
    s3.head_bucket(Bucket=s3_bucket)
    try:
        blocked = s3.get_public_access_block(Bucket=s3_bucket)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError:
        # moto's CloudFormation makes the bucket without applying its public access block
        # (seen with moto 5.2.5): check the configuration the stack was created with instead.
        deployed = cfn.get_template(StackName=stack)["TemplateBody"]
        deployed = json.loads(deployed) if isinstance(deployed, str) else deployed
        blocked = deployed["Resources"]["BlobBucket"]["Properties"]["PublicAccessBlockConfiguration"]
        print("template: moto does not apply a bucket's public access block; the stack's template sets it")
    expect(len(blocked) == 4 and all(blocked.values()), f"the photo bucket blocks public access {blocked}")
    page_api = boto3.client("apigatewayv2").create_api(Name=f"{stack}-pages", ProtocolType="HTTP")["ApiId"]

    config = distribution_config(cloudfront_resources["PageDistribution"]["Properties"]["DistributionConfig"], stack, page_api)
    cloudfront = boto3.client("cloudfront")
    distribution = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]
    deployed = cloudfront.get_distribution_config(Id=distribution["Id"])["DistributionConfig"]
    origin = deployed["Origins"]["Items"][0]
    expect(origin["DomainName"] == f"{page_api}.execute-api.us-east-1.amazonaws.com", f"distribution origin {origin['DomainName']}")
    expect(origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only", "the origin is reached over https only")
    default = deployed["DefaultCacheBehavior"]
    expect(default["ViewerProtocolPolicy"] == "redirect-to-https", "viewers are sent to https")
    expect("POST" in default["AllowedMethods"]["Items"], f"methods {default['AllowedMethods']}")
    expect(sorted(default["AllowedMethods"]["CachedMethods"]["Items"]) == ["GET", "HEAD"], "only reads are cached")
    for pattern in ["/t/*/orders", "/t/*/returns*", "/reports/*"]:
        behavior = [b for b in deployed["CacheBehaviors"]["Items"] if b["PathPattern"] == pattern]
        expect(behavior and behavior[0]["CachePolicyId"] == CACHING_DISABLED, f"{pattern} (personal data) is never cached")
    policies = cloudfront_resources
    cache_key = policies["PageCachePolicy"]["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
    expect(cache_key["CookiesConfig"]["Cookies"] == ["pl_lang"] and cache_key["HeadersConfig"]["Headers"] == ["Accept-Language"], f"cache key {cache_key}")
    forwarded = policies["PageOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]["Headers"]
    expect("CloudFront-Viewer-Address" in forwarded, "the viewer's address reaches the function (lookup limits)")
    print(
        f"template: tracking-page function deployed; its API and the CloudFront distribution {distribution['DomainName']} "
        "made from the template's definitions through moto's APIs (its CloudFormation implements neither)"
    )


CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def without_cloudfront(value, domain):
    """`value` with every GetAtt of a CloudFront resource's domain replaced by `domain`, and
    every Fn::If on HasPageDomain taken as false (the check deploys without a custom domain)."""
    if isinstance(value, dict):
        if value.get("Fn::GetAtt", [None])[0] == "PageDistribution":
            return domain
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str) and "${PageDistribution.DomainName}" in value["Fn::Sub"]:
            return {"Fn::Sub": value["Fn::Sub"].replace("${PageDistribution.DomainName}", domain)}
        if "Fn::If" in value and value["Fn::If"][0] == "HasPageDomain":
            return without_cloudfront(value["Fn::If"][2], domain)
        return {k: without_cloudfront(v, domain) for k, v in value.items()}
    if isinstance(value, list):
        return [without_cloudfront(v, domain) for v in value]
    return value


def distribution_config(config, stack, page_api):
    """The template's DistributionConfig (CloudFormation's shape, intrinsics resolved for a
    deployment without a custom domain) in the CloudFront API's shape."""
    def resolve(value):
        if isinstance(value, dict):
            if "Fn::Sub" in value:
                text = value["Fn::Sub"]
                for name, replacement in {"Stage": "check", "PageHttpApi": page_api, "AWS::Region": "us-east-1", "AWS::URLSuffix": "amazonaws.com"}.items():
                    text = text.replace("${" + name + "}", replacement)
                return text
            if "Fn::If" in value:
                return resolve(value["Fn::If"][2])
            if "Ref" in value:
                return None if value["Ref"] == "AWS::NoValue" else f"{value['Ref']}-id"
            return {k: v for k, v in ((k, resolve(v)) for k, v in value.items()) if v is not None}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    def listed(items):
        return {"Quantity": len(items), "Items": items}

    def behavior(b):
        out = {
            "TargetOriginId": b["TargetOriginId"],
            "ViewerProtocolPolicy": b["ViewerProtocolPolicy"],
            "AllowedMethods": {**listed(b["AllowedMethods"]), "CachedMethods": listed(b["CachedMethods"])},
            "Compress": b["Compress"],
            "CachePolicyId": b["CachePolicyId"],
            "OriginRequestPolicyId": b["OriginRequestPolicyId"],
        }
        if "PathPattern" in b:
            out["PathPattern"] = b["PathPattern"]
        return out

    c = resolve(config)
    origins = [
        {
            "Id": o["Id"],
            "DomainName": o["DomainName"],
            "CustomOriginConfig": {
                "HTTPPort": 80,
                "HTTPSPort": 443,
                "OriginProtocolPolicy": o["CustomOriginConfig"]["OriginProtocolPolicy"],
                "OriginSslProtocols": listed(o["CustomOriginConfig"]["OriginSSLProtocols"]),
            },
        }
        for o in c["Origins"]
    ]
    return {
        "CallerReference": stack,
        "Comment": c["Comment"],
        "Enabled": c["Enabled"],
        "HttpVersion": c["HttpVersion"],
        "PriceClass": c["PriceClass"],
        "Aliases": listed(c.get("Aliases", [])),
        "ViewerCertificate": c["ViewerCertificate"],
        "Origins": listed(origins),
        "DefaultCacheBehavior": behavior(c["DefaultCacheBehavior"]),
        "CacheBehaviors": listed([behavior(b) for b in c["CacheBehaviors"]]),
    }


def expect(condition, what):
    if not condition:
        fail(f"deployed stack differs from the design: {what}")


if __name__ == "__main__":
    main()
