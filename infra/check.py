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
FUNCTIONS = ["ApiFunction", "WebhookIntakeFunction", "TrackingUpdaterFunction", "StatusFanoutFunction", "CarrierPollerFunction"]
PARAMETERS = {"Stage": "check", "SecretKey": "0" * 64}
READ_WRITE = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"}
# The DynamoDB actions each function's code calls (aws/src/dynamodb/): exactly these, no more.
DYNAMODB_ACTIONS = {
    "ApiFunction": READ_WRITE | {"dynamodb:ConditionCheckItem"},
    "WebhookIntakeFunction": set(),
    "TrackingUpdaterFunction": READ_WRITE,
    "StatusFanoutFunction": set(),
    "CarrierPollerFunction": READ_WRITE,
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

    deploy_and_inspect(template)


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
    expect(indexes == {"GSI1": {"GSI1PK": "HASH", "GSI1SK": "RANGE"}, "GSI2": {"GSI2PK": "HASH", "GSI2SK": "RANGE"}}, f"indexes {indexes}")
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


def expect(condition, what):
    if not condition:
        fail(f"deployed stack differs from the design: {what}")


if __name__ == "__main__":
    main()
