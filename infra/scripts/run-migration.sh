#!/usr/bin/env bash
# Deployment step 19: run `openwan migrate` once as a Fargate task, BEFORE the services roll.
#
#   infra/scripts/run-migration.sh STACK [IMAGE_TAG]
#
# With IMAGE_TAG, the migration runs the new release's backend image: the script registers a
# revision of the stack's `openwan-migrate` task definition with that tag (everything else,
# role, secrets, environment, unchanged), runs it, and only then should `cdk deploy
# -c image_tag=IMAGE_TAG` roll the services. Migrations are expand/contract: the old tasks keep
# serving against the expanded schema until the roll-out ends (docs/deploy.md).
#
# * No time limit: it polls until the task stops, however long the migration takes (no
#   `aws ecs wait`, which gives up after 10 minutes; no Lambda, which stops at 15).
# * Never two at once: it refuses to start while a task of the family is still running.
# * The first administrator: the task receives OPENWAN_ADMIN_PASSWORD from the secret
#   openwan/admin/password; `openwan migrate` creates the account "admin" from it when there
#   is no administrator yet and prints nothing of it. Read it with
#     aws secretsmanager get-secret-value --secret-id openwan/admin/password \
#       --query SecretString --output text
# Exits non-zero unless the migration container exits 0.
set -euo pipefail
stack="${1:?usage: run-migration.sh STACK [IMAGE_TAG]}"
tag="${2:-}"
poll_seconds="${OPENWAN_MIGRATE_POLL_SECONDS:-15}"

output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

cluster="$(output ClusterName)"
task_definition="$(output MigrateTaskDefinitionArn)"
subnets="$(output AppSubnetIds)"
security_group="$(output BackendSecurityGroupId)"
family="openwan-migrate"

running="$(aws ecs list-tasks --cluster "$cluster" --family "$family" \
  --desired-status RUNNING --query 'length(taskArns)' --output text)"
if [ "$running" != "0" ]; then
  echo "a migration is already running in $cluster ($running task(s) of $family): not starting another" >&2
  exit 1
fi

if [ -n "$tag" ]; then
  # Same task definition, new image tag: registered as the family's next revision.
  definition="$(aws ecs describe-task-definition --task-definition "$task_definition" \
    --query taskDefinition --output json)"
  revision_input="$(printf '%s' "$definition" | TAG="$tag" python3 -c '
import json, os, sys
d = json.load(sys.stdin)
for c in d["containerDefinitions"]:
    if c["name"] == "migrate":
        c["image"] = c["image"].rsplit(":", 1)[0] + ":" + os.environ["TAG"]
keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions",
        "volumes", "requiresCompatibilities", "cpu", "memory", "runtimePlatform",
        "ephemeralStorage")
print(json.dumps({k: d[k] for k in keep if k in d}))
')"
  task_definition="$(aws ecs register-task-definition --cli-input-json "$revision_input" \
    --query taskDefinition.taskDefinitionArn --output text)"
  echo "registered $task_definition (image tag $tag)"
fi

task_arn="$(aws ecs run-task \
  --cluster "$cluster" \
  --task-definition "$task_definition" \
  --launch-type FARGATE \
  --started-by openwan-migrate \
  --network-configuration "awsvpcConfiguration={subnets=[$subnets],securityGroups=[$security_group],assignPublicIp=DISABLED}" \
  --query 'tasks[0].taskArn' --output text)"
if [ -z "$task_arn" ] || [ "$task_arn" = "None" ]; then
  echo "the migration task did not start (see the run-task failures above)" >&2
  exit 1
fi
echo "migration task: $task_arn (logs: /ecs/openwan-backend, stream prefix migrate/)"

started="$(date +%s)"
while :; do
  status="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
    --query 'tasks[0].lastStatus' --output text)"
  [ "$status" = "STOPPED" ] && break
  echo "  $(( ($(date +%s) - started) / 60 )) min: $status"
  sleep "$poll_seconds"
done

exit_code="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
  --query "tasks[0].containers[?name=='migrate'].exitCode | [0]" --output text)"
reason="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
  --query 'tasks[0].stoppedReason' --output text)"
echo "migration exit code: $exit_code ($reason)"
[ "$exit_code" = "0" ]
